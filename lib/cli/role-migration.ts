#!/usr/bin/env node
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { renderRoleMigration } from '../database/role-migration.writer.js';

const USAGE = `Usage: nestjs-zero-trust-role-migration --owner-role <name> --runtime-role <name> [options]

Writes a TypeORM migration that creates a NOLOGIN owner role and a least-privilege runtime role for
the app's entities, with row-level security on owned entities.

  --out <dir>                 where to write it (default src/migrations)
  --rls <Entity[:owner[:adminScope]]>   protect an entity with row-level security (repeatable)
  --append-only <Entity>      INSERT-only entity, e.g. an audit log (repeatable)
  --password-env <NAME>       environment variable with the runtime password (default DATABASE_RUNTIME_PASSWORD)
  --dry-run                   print the file instead of writing it`;

function main(argv: string[]): number {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'owner-role': { type: 'string' },
        'runtime-role': { type: 'string' },
        out: { type: 'string', default: 'src/migrations' },
        rls: { type: 'string', multiple: true },
        'append-only': { type: 'string', multiple: true },
        'password-env': { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help || !values['owner-role'] || !values['runtime-role']) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  try {
    const file = renderRoleMigration({
      ownerRole: values['owner-role'],
      runtimeRole: values['runtime-role'],
      rowLevelSecurity: values.rls,
      appendOnly: values['append-only'],
      runtimePasswordEnv: values['password-env'],
    });
    if (values['dry-run']) {
      process.stdout.write(file.source);
      return 0;
    }
    if (!existsSync(values.out)) mkdirSync(values.out, { recursive: true });
    const path = join(values.out, file.fileName);
    writeFileSync(path, file.source, { flag: 'wx' });
    console.log(`CREATE ${path} (${file.className}): add it to your DataSource's migrations.`);
    return 0;
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
