import type { resourceNames } from './names.js';

type Names = ReturnType<typeof resourceNames>;

export const entity = (n: Names) => `import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

@Entity({ name: '${n.table}' })
export class ${n.className} {
  @PrimaryColumn('uuid')
  id!: string;

  /** Set from the verified token only, never from a request body. Indexed: every query filters on it. */
  @Index()
  @Column({ name: 'owner_id', type: 'uuid' })
  ownerId!: string;

  @Column({ type: 'varchar', length: 200 })
  title!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
`;

export const dto = (n: Names) => `import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Length, Min } from 'class-validator';

/** No \`id\` or \`ownerId\`: the whitelist turns either into a 400 instead of a mass assignment. */
export class Create${n.className}Dto {
  @IsString()
  @Length(1, 200)
  title!: string;
}

export class Update${n.className}Dto {
  @IsOptional()
  @IsString()
  @Length(1, 200)
  title?: string;
}

export class List${n.pluralClass}Query {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  limit?: number;
}
`;

export const controller = (n: Names) => `import { Body, Controller, Delete, Get, HttpCode, Patch, Post, Query } from '@nestjs/common';
import { Authenticated, Owned, OwnedRepository, OwnedResource, OwnsResource } from 'nestjs-zero-trust';
import { randomUUID } from 'node:crypto';
import { Create${n.className}Dto, List${n.pluralClass}Query, Update${n.className}Dto } from './${n.file}.dto.js';
import { ${n.className} } from './${n.file}.entity.js';

/** Owner-only: another user's ${n.file} answers 404, exactly like one that does not exist. */
@Controller('${n.route}')
export class ${n.pluralClass}Controller {
  @Authenticated()
  @Get()
  list(@Owned(${n.className}) rows: OwnedRepository<${n.className}>, @Query() query: List${n.pluralClass}Query) {
    return rows.find({ order: { createdAt: 'DESC' }, take: query.limit });
  }

  @Authenticated()
  @Post()
  create(@Owned(${n.className}) rows: OwnedRepository<${n.className}>, @Body() dto: Create${n.className}Dto) {
    return rows.create({ title: dto.title }, randomUUID());
  }

  @OwnsResource(${n.className})
  @Get(':id')
  get(@OwnedResource() row: ${n.className}) {
    return row;
  }

  @OwnsResource(${n.className})
  @Patch(':id')
  update(@Owned(${n.className}) rows: OwnedRepository<${n.className}>, @OwnedResource() row: ${n.className}, @Body() dto: Update${n.className}Dto) {
    return rows.update(row.id, { title: dto.title ?? row.title });
  }

  @OwnsResource(${n.className})
  @Delete(':id')
  @HttpCode(204)
  async remove(@Owned(${n.className}) rows: OwnedRepository<${n.className}>, @OwnedResource() row: ${n.className}) {
    await rows.delete(row.id);
  }
}
`;

export const module = (n: Names) => `import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ${n.pluralClass}Controller } from './${n.plural}.controller.js';
import { ${n.className} } from './${n.file}.entity.js';

@Module({
  imports: [TypeOrmModule.forFeature([${n.className}])],
  controllers: [${n.pluralClass}Controller],
})
export class ${n.pluralClass}Module {}
`;

export const migration = (n: Names, timestamp: number) => `import type { MigrationInterface, QueryRunner } from 'typeorm';
import { OWNER_ROLE, RUNTIME_ROLE } from './1732000300000-least-privilege.migration.js';

/**
 * The ${n.table} table, locked down like the rest: owned by the owner role, DML for the runtime role,
 * and row-level security so a query that forgets the owner filter still sees only the caller's rows.
 */
export class ${n.pluralClass}Table${timestamp} implements MigrationInterface {
  name = '${n.pluralClass}Table${timestamp}';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(\`
      CREATE TABLE "${n.table}" (
        "id" uuid PRIMARY KEY,
        "owner_id" uuid NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
        "title" varchar(200) NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now()
      )\`);
    await queryRunner.query(\`CREATE INDEX "IDX_${n.table}_owner_id" ON "${n.table}" ("owner_id")\`);
    await queryRunner.query(\`ALTER TABLE "${n.table}" OWNER TO "\${OWNER_ROLE}"\`);
    await queryRunner.query(\`REVOKE ALL ON TABLE "${n.table}" FROM PUBLIC\`);
    await queryRunner.query(\`GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "${n.table}" TO "\${RUNTIME_ROLE}"\`);
    await queryRunner.query(\`ALTER TABLE "${n.table}" ENABLE ROW LEVEL SECURITY\`);
    await queryRunner.query(\`ALTER TABLE "${n.table}" FORCE ROW LEVEL SECURITY\`);
    await queryRunner.query(\`
      CREATE POLICY zero_trust_owner ON "${n.table}"
        USING ("owner_id"::text = current_setting('zero_trust.user_id', true))
        WITH CHECK ("owner_id"::text = current_setting('zero_trust.user_id', true))\`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(\`DROP TABLE "${n.table}"\`);
  }
}
`;

export const e2e = (n: Names) => `import type { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSampleApp } from '../src/app.factory.js';

process.env.ZT_DB = 'memory';
process.env.ZT_AUTH_RATE_LIMIT = '1000';
const PASSWORD = 'correct horse battery';
const json = { 'Content-Type': 'application/json' };

describe('/${n.route}: owner-only (OWASP API1/API3)', () => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let a: string;
  let b: string;
  const as = (token: string) => ({ Authorization: \`Bearer \${token}\` });

  beforeAll(async () => {
    app = await createSampleApp('express', false);
    http = request(app.getHttpServer());
    const tokens: string[] = [];
    for (const email of ['${n.file}-a@example.com', '${n.file}-b@example.com']) {
      await http.post('/auth/register').set(json).send({ email, password: PASSWORD }).expect(201);
      tokens.push((await http.post('/auth/login').set(json).send({ email, password: PASSWORD }).expect(200)).body.accessToken);
    }
    [a, b] = tokens;
  });
  afterAll(() => app?.close());

  it('needs a token', async () => {
    await http.get('/${n.route}').expect(401);
  });

  it("keeps A's ${n.file} away from B on every verb, and unchanged", async () => {
    const row = (await http.post('/${n.route}').set(as(a)).set(json).send({ title: 'mine' }).expect(201)).body;
    expect(row.ownerId).toBeDefined();
    await http.get(\`/${n.route}/\${row.id}\`).set(as(b)).expect(404);
    await http.patch(\`/${n.route}/\${row.id}\`).set(as(b)).set(json).send({ title: 'pwned' }).expect(404);
    await http.delete(\`/${n.route}/\${row.id}\`).set(as(b)).expect(404);
    expect((await http.get('/${n.route}').set(as(b)).expect(200)).body).toEqual([]);
    expect((await http.get(\`/${n.route}/\${row.id}\`).set(as(a)).expect(200)).body.title).toBe('mine');
  });

  it('refuses owner and id fields in bodies, ids in the query, and malformed ids', async () => {
    await http.post('/${n.route}').set(as(a)).set(json).send({ title: 'x', ownerId: randomUUID() }).expect(400);
    await http.post('/${n.route}').set(as(a)).set(json).send({ title: 'x', id: randomUUID() }).expect(400);
    await http.get(\`/${n.route}?ownerId=\${randomUUID()}\`).set(as(a)).expect(400);
    await http.get('/${n.route}/not-a-uuid').set(as(a)).expect(400);
  });
});
`;
