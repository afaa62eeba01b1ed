import { Body, Controller, Delete, Get, HttpCode, Module, Param, Patch, Post, Put, Query } from '@nestjs/common';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Length, Min } from 'class-validator';
import {
  Authenticated,
  CurrentUser,
  Owned,
  OwnedRepository,
  OwnedResource,
  OwnsResource,
  Roles,
  Scopes,
  Sensitive,
  ZeroTrustModule,
  type ZeroTrustModuleOptions,
  type ZeroTrustPrincipal,
} from 'nestjs-zero-trust';
import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { PGliteDriver } from 'typeorm-pglite';
import { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { bootstrapApp, type Platform } from '../support/test-app.js';

@Entity('projects')
export class Project {
  // gen_random_uuid() is core PostgreSQL; TypeORM's 'uuid' generation would need an extension PGlite lacks.
  @PrimaryColumn('uuid', { default: () => 'gen_random_uuid()' })
  id!: string;

  @Index()
  @Column('uuid')
  ownerId!: string;

  @Column('varchar')
  name!: string;

  @Sensitive()
  @Column('varchar', { default: 'hash-of-a-secret' })
  apiKeyHash!: string;
}

@Entity('tasks')
export class Task {
  // gen_random_uuid() is core PostgreSQL; TypeORM's 'uuid' generation would need an extension PGlite lacks.
  @PrimaryColumn('uuid', { default: () => 'gen_random_uuid()' })
  id!: string;

  @Index()
  @Column('uuid')
  projectId!: string;

  @ManyToOne(() => Project, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'projectId' })
  project!: Project;

  @Column('varchar')
  title!: string;
}

export class ProjectDto {
  @IsString()
  @Length(1, 100)
  name!: string;
}

export class PageQuery {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  limit?: number;
}

@Controller('projects')
export class ProjectsController {
  @Authenticated()
  @Get()
  list(@Owned(Project) projects: OwnedRepository<Project>, @Query() query: PageQuery) {
    return projects.find({ take: query.limit, order: { name: 'ASC' } });
  }

  @Authenticated()
  @Post()
  create(@Owned(Project) projects: OwnedRepository<Project>, @Body() dto: ProjectDto) {
    return projects.create({ name: dto.name });
  }

  @OwnsResource(Project)
  @Get(':id')
  get(@OwnedResource() project: Project) {
    return project;
  }

  @OwnsResource(Project)
  @Patch(':id')
  rename(@Owned(Project) projects: OwnedRepository<Project>, @OwnedResource() project: Project, @Body() dto: ProjectDto) {
    return projects.update(project.id, { name: dto.name });
  }

  @OwnsResource(Project)
  @Put(':id')
  replace(@Owned(Project) projects: OwnedRepository<Project>, @OwnedResource() project: Project, @Body() dto: ProjectDto) {
    return projects.update(project.id, { name: dto.name });
  }

  @OwnsResource(Project)
  @Delete(':id')
  @HttpCode(204)
  async remove(@Owned(Project) projects: OwnedRepository<Project>, @OwnedResource() project: Project) {
    await projects.delete(project.id);
  }

  @OwnsResource(Project, { onDenied: 'forbidden' })
  @Get(':id/explicit')
  explicit(@OwnedResource() project: Project) {
    return project;
  }

  @OwnsResource(Task, { parent: { entity: Project, param: 'projectId', foreignKey: 'projectId' } })
  @Get(':projectId/tasks/:id')
  task(@OwnedResource() task: Task) {
    return task;
  }

  @OwnsResource(Task, { owner: 'project.ownerId' })
  @Get('tasks/:id/by-relation')
  taskByRelation(@OwnedResource() task: Task) {
    return { id: task.id, title: task.title };
  }
}

@Controller('admin')
export class AdminController {
  @OwnsResource(Project, { adminScope: 'projects:admin' })
  @Get('projects/:id')
  project(@OwnedResource() project: Project) {
    return project;
  }

  @Scopes('audit:read')
  @Get('audit')
  audit(@CurrentUser() user: ZeroTrustPrincipal) {
    return { reader: user.subject };
  }

  @Roles('editor', 'owner')
  @Get('editors')
  editors() {
    return { ok: true };
  }
}

export async function createAuthzApp(
  platform: Platform,
  options: Partial<ZeroTrustModuleOptions> = {},
  controllers: Array<new () => object> = [ProjectsController, AdminController],
  database: Partial<Pick<TypeOrmModuleOptions, 'logger' | 'logging'>> = {},
) {
  const audit = new CaptureAuditSink();
  @Module({
    imports: [
      // This suite probes other users' ids on purpose; the anomaly rule that blocks such probing has its own test.
      ZeroTrustModule.forRoot({ issuer: 'https://issuer.test', audience: 'authz', auditSinks: [audit], anomalyRules: false, ...options }),
      TypeOrmModule.forRoot({ type: 'postgres', driver: new PGliteDriver().driver, entities: [Project, Task], synchronize: true, retryAttempts: 0, ...database } as TypeOrmModuleOptions),
    ],
    controllers,
  })
  class AuthzModule {}
  return { app: await bootstrapApp(AuthzModule, platform), audit };
}
