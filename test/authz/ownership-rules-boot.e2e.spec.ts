import 'reflect-metadata';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Controller, Get, type INestApplication, Module, type Type } from '@nestjs/common';
import { Args, Field, GraphQLModule, ID, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { OwnedResource, OwnsResource, type OwnsResourceOptions, ZeroTrustModule } from 'nestjs-zero-trust';
import { Column, Entity, ManyToOne, PrimaryColumn } from 'typeorm';
import { PGliteDriver } from 'typeorm-pglite';
import { afterEach, describe, expect, it } from 'vitest';
import { bootstrapApp } from '../support/test-app.js';

@Entity('boot_projects')
class BootProject {
  @PrimaryColumn('uuid') id!: string;
  @Column('varchar') ownerId!: string;
}

@Entity('boot_tasks')
class BootTask {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid') projectId!: string;
  @ManyToOne(() => BootProject) project!: BootProject;
  @Column('varchar') ownerId!: string;
}

/** An entity whose owner column has another name than the default `ownerId`. */
@Entity('boot_posts')
class BootPost {
  @PrimaryColumn('uuid') id!: string;
  @Column('varchar') authorId!: string;
  @Column('varchar') title!: string;
}

/** Never given to the DataSource. */
class Unregistered {
  id!: string;
  ownerId!: string;
}

function controllerFor(path: string, entity: Type<object>, options: OwnsResourceOptions = {}): Type<object> {
  @Controller()
  class RuleController {
    @OwnsResource(entity, options)
    @Get(path)
    get(@OwnedResource() record: object) {
      return record;
    }
  }
  return RuleController;
}

const database = (): TypeOrmModuleOptions =>
  ({ type: 'postgres', driver: new PGliteDriver().driver, entities: [BootProject, BootTask, BootPost], synchronize: true, retryAttempts: 0 }) as TypeOrmModuleOptions;

const zeroTrust = () => ZeroTrustModule.forRoot({ issuer: 'https://issuer.test', audience: 'rules', authorization: 'strict' });

/**
 * Issue 18.8: an ownership rule that cannot work was found only at request time (a misspelt `owner` made
 * every owner's own record "not found", audited as not_owner; a wrong `param` answered "id must be a
 * UUID"; an entity the DataSource does not know answered 500). Each is now refused at boot with its fix.
 */
describe('ownership rules are checked at boot against the entities and the handlers', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  const boot = async (...controllers: Type<object>[]) => {
    @Module({ imports: [zeroTrust(), TypeOrmModule.forRoot(database())], controllers })
    class RulesModule {}
    app = await bootstrapApp(RulesModule, 'express');
    return app;
  };

  it('boots the rules that can work: default owner, a relation path, a parent chain, a named parameter', async () => {
    await expect(
      boot(
        controllerFor('projects/:id', BootProject),
        controllerFor('tasks/:id', BootTask, { owner: 'project.ownerId' }),
        controllerFor('projects/:projectId/tasks/:id', BootTask, { parent: { entity: BootProject, param: 'projectId', foreignKey: 'projectId' } }),
        controllerFor('posts/:postId', BootPost, { param: 'postId', owner: 'authorId' }),
      ),
    ).resolves.toBeDefined();
  });

  it('refuses a misspelt owner column, and says which one was meant', async () => {
    await expect(boot(controllerFor('projects/:id', BootProject, { owner: 'ownerID' }))).rejects.toThrow(
      /GET \/projects\/:id \(RuleController\.get\): owner 'ownerID': BootProject has no column "ownerID" \(did you mean "ownerId"\?\)/,
    );
  });

  it("refuses the default owner on an entity without an ownerId column, listing the columns it has", async () => {
    await expect(boot(controllerFor('posts/:id', BootPost))).rejects.toThrow(/owner \(default\) 'ownerId': BootPost has no column "ownerId" \(it has id, authorId, title\)/);
  });

  it('refuses a relation path through a relation the entity lacks, and a path ending on a relation', async () => {
    await expect(boot(controllerFor('tasks/:id', BootTask, { owner: 'projekt.ownerId' }))).rejects.toThrow(/owner 'projekt\.ownerId': BootTask has no relation "projekt" \(it has project\)/);
    await expect(boot(controllerFor('tasks/:id', BootTask, { owner: 'project' }))).rejects.toThrow(/"project" is a relation of BootTask, not a column/);
  });

  it("refuses a parent chain whose parent owner or foreign key the entities lack", async () => {
    await expect(
      boot(controllerFor('projects/:projectId/tasks/:id', BootTask, { parent: { entity: BootProject, param: 'projectId', foreignKey: 'projektId' } })),
    ).rejects.toThrow(/parent\.foreignKey 'projektId': BootTask has no column "projektId"/);
  });

  it('refuses a rule reading a route parameter the route does not have, naming the ones it has', async () => {
    await expect(boot(controllerFor('projects/:projectId', BootProject))).rejects.toThrow(
      /GET \/projects\/:projectId \(RuleController\.get\): @OwnsResource\(BootProject\) reads the route parameter "id", which the handler does not have \(it has "projectId"\): set param to the right name/,
    );
    await expect(boot(controllerFor('tasks/:id', BootTask, { parent: { entity: BootProject, param: 'projectId', foreignKey: 'projectId' } }))).rejects.toThrow(
      /reads the route parameter "projectId", which the handler does not have \(it has "id"\): set param \/ parent\.param/,
    );
  });

  it('refuses an entity the DataSource does not know', async () => {
    await expect(boot(controllerFor('things/:id', Unregistered))).rejects.toThrow(/@OwnsResource\(Unregistered\): Unregistered is not an entity of the DataSource/);
  });

  it("refuses a resolver whose @OwnsResource reads an argument it does not take", async () => {
    @ObjectType('BootProjectModel')
    class ProjectModel {
      @Field(() => ID) id!: string;
    }
    @Resolver(() => ProjectModel)
    class ProjectsResolver {
      @OwnsResource(BootProject)
      @Query(() => ProjectModel)
      project(@Args('projectId', { type: () => ID }) _id: string, @OwnedResource() project: BootProject) {
        return project;
      }
    }
    @Module({
      imports: [
        zeroTrust(),
        TypeOrmModule.forRoot(database()),
        GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, autoSchemaFile: true, fieldResolverEnhancers: ['guards', 'interceptors', 'filters'] }),
      ],
      providers: [ProjectsResolver],
    })
    class GraphqlRulesModule {}
    await expect(bootstrapApp(GraphqlRulesModule, 'express').then((started) => (app = started))).rejects.toThrow(
      /Query project \(ProjectsResolver\.project\): @OwnsResource\(BootProject\) reads the argument "id", which the handler does not have \(it has "projectId"\)/,
    );
  });
});
