import 'reflect-metadata';
import { migrateDatabase } from './database/database.options.js';

/**
 * `npm run migrate`: the production step before the app starts. It runs with the owner's URL
 * (`DATABASE_MIGRATION_URL`, a superuser or a login that may create roles), the runtime role's password
 * (`DATABASE_RUNTIME_PASSWORD`) and the row-level-security key (`ZT_RLS_IDENTITY_KEY`); the app then
 * serves with the runtime role's `DATABASE_URL` only.
 */
migrateDatabase()
  .then((ran) => console.log(ran.length ? `applied ${ran.length} migration(s): ${ran.join(', ')}` : 'no migration pending'))
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
