import pg from 'pg';
import type { PrivatePostgres } from './private-postgres.js';

/**
 * Makes a private server check passwords: every login but the `postgres` superuser (the tests' own
 * setup connection) must then authenticate with SCRAM-SHA-256. The servers start with `trust`, under
 * which any password logs in, so a test of a wrong password, or of the password a migration set,
 * proves nothing there. The superuser rewrites the server's own pg_hba.conf and reloads it.
 */
export async function requirePasswords(server: PrivatePostgres): Promise<void> {
  const root = new pg.Client({ connectionString: server.url() });
  await root.connect();
  try {
    const [{ hba_file: file }] = (await root.query('SHOW hba_file')).rows;
    const rules = ['local all postgres trust', 'host all postgres 0.0.0.0/0 trust', 'local all all scram-sha-256', 'host all all 0.0.0.0/0 scram-sha-256'];
    await root.query(`COPY (VALUES ${rules.map((rule) => `('${rule}')`).join(', ')}) TO '${file.replace(/'/g, "''")}'`);
    await root.query('SELECT pg_reload_conf()');
    const [{ errors }] = (await root.query('SELECT count(*)::int AS errors FROM pg_hba_file_rules WHERE error IS NOT NULL')).rows;
    if (errors > 0) throw new Error('the rewritten pg_hba.conf has errors');
  } finally {
    await root.end();
  }
}
