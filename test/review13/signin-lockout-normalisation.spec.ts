/**
 * Review 13 against issue 13.1/13.2 (lockout-aware sign-in in the library). The AccountDirectory port
 * says failures are counted "per login name, as the app normalizes it" (`Account.login`), and
 * `reauthenticate`/`verifyPassword` do count on `account.login`. But `SignInService.login` reserves the
 * attempt on the string the client typed (only trimmed and lower-cased by the lockout) before it asks
 * the directory. A directory that normalizes more (Unicode NFKC, a trailing dot of the domain, as many
 * apps do for e-mail addresses) maps many spellings to one account, and every spelling gets a fresh
 * counter: `threshold` guesses each, without end (2^n fullwidth/ASCII mixes of an n-letter name).
 */
import { HttpStatus } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { createAccountsApp, HARNESS_PASSWORD, type HarnessAccount, MemoryDirectory } from '../sessions/accounts-app.js';
import { PLATFORMS } from '../support/test-app.js';

/** An app whose users table normalizes e-mail addresses with NFKC and drops a trailing dot of the domain. */
class NormalizingDirectory extends MemoryDirectory {
  static normalize(login: string): string {
    return login.normalize('NFKC').trim().toLowerCase().replace(/\.+$/, '');
  }

  override async findByLogin(login: string): Promise<HarnessAccount | null> {
    const wanted = NormalizingDirectory.normalize(login);
    return [...this.accounts.values()].find((account) => account.login === wanted) ?? null;
  }
}

const THRESHOLD = 5;
/** Spellings of victim@example.com that the app maps to one account. */
const SPELLINGS = [
  'victim@example.com',
  'victim@example.com.',
  '\uff56ictim@example.com', // fullwidth v
  'v\uff49ctim@example.com', // fullwidth i
  'victim@example.com..',
];

describe.each(PLATFORMS)('review13: sign-in lockout per normalized account (%s)', (platform) => {
  it('review13: spellings the directory maps to one account share its lockout: the right password is refused after threshold wrong ones', async () => {
    const directory = new NormalizingDirectory();
    directory.add('victim@example.com');
    const { app, audit } = await createAccountsApp(platform, {
      directory,
      zeroTrust: { lockout: { threshold: THRESHOLD, window: 900, duration: 900, maxDuration: 86_400 } },
    });
    try {
      const url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
      const login = async (name: string, password: string) =>
        (await fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login: name, password }) })).status;
      let wrong = 0;
      for (const spelling of SPELLINGS) {
        for (let i = 0; i < THRESHOLD - 1; i++) {
          expect(await login(spelling, `guess ${wrong++}`)).toBe(HttpStatus.UNAUTHORIZED);
        }
      }
      const checks = directory.passwordChecks;
      // 20 wrong passwords of one account in one window, threshold 5: the account must be locked.
      const status = await login('victim@example.com', HARNESS_PASSWORD);
      expect({ wrong, status, lockouts: audit.events.filter((e) => e.type === 'auth.lockout').length, checks }).toEqual({
        wrong: 20,
        status: HttpStatus.UNAUTHORIZED,
        lockouts: 1,
        checks: 20,
      });
    } finally {
      await app.close();
    }
  });
});
