import { describe, expect, it } from 'vitest';
import { explainDatabaseError, isTransientDatabaseError } from './transient-database-error.js';

const pgError = (code: string, message = `error ${code}`) => Object.assign(new Error(message), { code, severity: 'FATAL' });
const socketError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code, syscall: 'connect' });

describe('isTransientDatabaseError', () => {
  it.each([
    ['a closed port', socketError('ECONNREFUSED')],
    ['a reset connection', socketError('ECONNRESET')],
    ['a connect timeout of the socket', socketError('ETIMEDOUT')],
    ['an unreachable host', socketError('EHOSTUNREACH')],
    ['DNS not answering yet', socketError('EAI_AGAIN')],
    ['a server starting up (57P03)', pgError('57P03', 'the database system is starting up')],
    ['a server shutting down (57P01)', pgError('57P01', 'terminating connection due to administrator command')],
    ['too many connections (53300)', pgError('53300', 'sorry, too many clients already')],
    ['a connection failure (08006)', pgError('08006')],
    ['a deadlock with another instance migrating (40P01)', pgError('40P01')],
    ['pg cut off by the peer', new Error('Connection terminated unexpectedly')],
    ['pg timing out on connect', new Error('Connection terminated due to connection timeout')],
    ['both addresses of localhost refused (AggregateError)', Object.assign(new AggregateError([socketError('ECONNREFUSED'), socketError('ECONNREFUSED')]), { code: 'ECONNREFUSED' })],
    ['a TypeORM QueryFailedError around a deadlock', Object.assign(new Error('deadlock detected'), { driverError: pgError('40P01') })],
  ])('retries %s', (_case, error) => {
    expect(isTransientDatabaseError(error)).toBe(true);
  });

  it.each([
    ['a wrong password (28P01)', pgError('28P01', 'password authentication failed for user "app"')],
    ['an unknown role or no pg_hba.conf entry (28000)', pgError('28000', 'role "app" does not exist')],
    ['a database that does not exist (3D000)', pgError('3D000', 'database "nope" does not exist')],
    ['no CONNECT privilege (42501)', pgError('42501', 'permission denied for database "app"')],
    ['a protocol violation (08P01)', pgError('08P01')],
    ['a migration failing at boot (42P01)', Object.assign(new Error('relation "x" does not exist'), { driverError: pgError('42P01') })],
    ['a host name that does not resolve', socketError('ENOTFOUND')],
    ['a server without TLS when TLS is required', new Error('The server does not support SSL connections')],
    ['a programming error', new TypeError("Cannot read properties of undefined (reading 'query')")],
    ['something thrown that is not an error', 'boom'],
    ['nothing', undefined],
  ])('does not retry %s', (_case, error) => {
    expect(isTransientDatabaseError(error)).toBe(false);
  });

  it('survives an error that is its own cause', () => {
    const error = pgError('28P01') as Error & { cause?: unknown };
    error.cause = error;
    expect(isTransientDatabaseError(error)).toBe(false);
  });
});

describe('explainDatabaseError', () => {
  it('keeps PostgreSQL\'s message and code and names the variable to check, never the URL', () => {
    const original = pgError('28P01', 'password authentication failed for user "app"');
    const explained = explainDatabaseError(original, 'DATABASE_URL') as Error & { code: string };
    expect(explained.message).toBe('password authentication failed for user "app" (28P01): check the password in DATABASE_URL (percent-encode special characters in a URL).');
    expect(explained.code).toBe('28P01');
    expect(explained.cause).toBe(original);
    expect(isTransientDatabaseError(explained)).toBe(false);
  });

  it.each([
    ['28000', /check the user name in DATABASE_MIGRATION_URL/],
    ['3D000', /check the database name in DATABASE_MIGRATION_URL/],
    ['ENOTFOUND', /check the host name in DATABASE_MIGRATION_URL/],
    ['ECONNREFUSED', /the host and port in DATABASE_MIGRATION_URL/],
  ])('says what to check for %s', (code, hint) => {
    expect((explainDatabaseError(pgError(code), 'DATABASE_MIGRATION_URL') as Error).message).toMatch(hint);
  });

  it('keeps a retried error retried once explained', () => {
    expect(isTransientDatabaseError(explainDatabaseError(socketError('ECONNREFUSED'), 'DATABASE_URL'))).toBe(true);
  });

  it('returns an error it has no hint for as it is', () => {
    const error = new TypeError('bug');
    expect(explainDatabaseError(error, 'DATABASE_URL')).toBe(error);
  });
});
