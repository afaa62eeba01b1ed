import type { DataSource } from 'typeorm';

/**
 * The rows of a raw query. TypeORM answers an UPDATE/DELETE with `[rows, affected]` and a SELECT or
 * INSERT with `rows`; the module's raw-SQL stores (sessions, MFA, clients, lifecycle) all want the rows.
 */
export async function rows<T>(db: Pick<DataSource, 'query'>, sql: string, parameters: unknown[]): Promise<T[]> {
  const result = (await db.query(sql, parameters)) as unknown;
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') return result[0] as T[];
  return result as T[];
}
