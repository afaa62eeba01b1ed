/**
 * The NATS server these tests use, read like the other services (test/support/services.ts): locally a
 * test skips when the URL is unset; in CI (`CI=true`) a missing URL is an error, so it can never skip there.
 */
export function requireNatsUrl(): string | undefined {
  const value = process.env.ZT_TEST_NATS_URL;
  if (!value && process.env.CI) throw new Error('ZT_TEST_NATS_URL must be set in CI: tests that need it may not be skipped.');
  return value || undefined;
}
