/**
 * Errors a second attempt may cure: the server is not reachable yet, restarting, or out of connections.
 * Node's socket errors (a closed port, a reset, a timeout, DNS not answering yet).
 */
const TRANSIENT_SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN']);

/**
 * SQLSTATEs (PostgreSQL appendix A): 57P01-57P03 the server shutting down or starting up ("the
 * database system is starting up"), 53xxx out of connections or memory, 40001/40P01/55P03 a
 * migration at boot that lost a race with another instance. Class 08 (connection exception) below,
 * except 08P01, a protocol violation that comes back the same every time.
 */
const TRANSIENT_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53000', '53100', '53200', '53300', '40001', '40P01', '55P03']);

/** pg's own errors carry no code: a connection cut by the peer, or no answer within connectionTimeoutMillis. */
const TRANSIENT_DRIVER_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout)/;

/**
 * `toRetry` for `TypeOrmModule.forRoot(Async)`: true when retrying the connection can succeed, false
 * when the same error would come back after every delay (a wrong password, SQLSTATE 28P01; an unknown
 * user or no pg_hba.conf entry, 28000; a database that does not exist, 3D000; a missing privilege,
 * 42501; a migration that fails at boot). An error it does not know is not retried either: retrying a
 * configuration or programming error only hides its message behind the retry log for seconds.
 *
 * ```ts
 * TypeOrmModule.forRoot({ ...options, retryAttempts: 5, toRetry: isTransientDatabaseError })
 * ```
 */
export function isTransientDatabaseError(error: unknown): boolean {
  return causes(error).some((cause) => {
    const { code, message } = cause as { code?: unknown; message?: unknown };
    if (typeof code === 'string') {
      if (TRANSIENT_SOCKET_ERRORS.has(code) || TRANSIENT_SQLSTATES.has(code)) return true;
      if (code.startsWith('08') && code !== '08P01') return true;
    }
    return typeof message === 'string' && TRANSIENT_DRIVER_MESSAGES.test(message);
  });
}

/** What to check, by the code of a connection error that retrying does not cure (or that outlasted the retries). */
const HINTS: Readonly<Record<string, (variable: string) => string>> = {
  '28P01': (variable) => `check the password in ${variable} (percent-encode special characters in a URL)`,
  '28000': (variable) => `check the user name in ${variable}: the server has no such role, or its pg_hba.conf allows it no connection from here`,
  '3D000': (variable) => `check the database name in ${variable} (the path after the host), or create that database`,
  '42501': (variable) => `the user in ${variable} lacks a privilege here (CONNECT on the database?): check that it is this database's role`,
  ENOTFOUND: (variable) => `check the host name in ${variable}`,
  ECONNREFUSED: (variable) => `nothing accepts connections at the host and port in ${variable}: is the server running, and is that its port?`,
};

/**
 * The error of a failed database connection with what to check next: PostgreSQL's (or the socket's)
 * message, its code, and the environment variable holding the URL. Only the variable's name is
 * shown, never the URL, which may carry the password. `code` is kept, so `isTransientDatabaseError`
 * judges the result as it judged the original (kept as `cause`). Errors without a hint come back as they are.
 */
export function explainDatabaseError(error: unknown, urlVariable: string): unknown {
  for (const cause of causes(error)) {
    const { code, message } = cause as { code?: unknown; message?: unknown };
    const hint = typeof code === 'string' ? HINTS[code] : undefined;
    if (hint) return Object.assign(new Error(`${String(message ?? error)} (${code}): ${hint(urlVariable)}.`, { cause: error }), { code });
  }
  return error;
}

/** The error and what it wraps: TypeORM's `driverError`, `cause`, and the attempts of an AggregateError (IPv6, then IPv4). */
function causes(error: unknown, seen = new Set<unknown>()): unknown[] {
  if (error === null || typeof error !== 'object' || seen.has(error)) return [];
  seen.add(error);
  const { driverError, cause, errors } = error as { driverError?: unknown; cause?: unknown; errors?: unknown };
  return [error, ...causes(driverError, seen), ...causes(cause, seen), ...(Array.isArray(errors) ? errors.flatMap((inner) => causes(inner, seen)) : [])];
}
