/**
 * Tests against the real PostgreSQL and Redis read their URLs from the environment. Locally they
 * skip when the URL is unset; in CI (`CI=true`) a missing URL is an error, so they can never skip there.
 */
function requireService(variable: string): string | undefined {
  const value = process.env[variable];
  if (!value && process.env.CI) throw new Error(`${variable} must be set in CI: tests that need it may not be skipped.`);
  return value || undefined;
}

export const requirePostgresUrl = () => requireService('ZT_TEST_PG_URL');
export const requireRedisUrl = () => requireService('ZT_TEST_REDIS_URL');
