import { ConflictException, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { type AccountRegistry, type LifecycleAccount, UserCredentials } from 'nestjs-zero-trust';
import type { DataSource } from 'typeorm';
import { hashPassword } from '../auth/password-hasher.js';
import { normalizeEmail, UsersService } from '../users/users.service.js';

/**
 * The users table as the library's lifecycle flows see it (`AccountRegistry`). Creating and re-hashing
 * go through the app's own services (argon2id with the pepper); this class adds the one column the
 * flows own, `email_verified_at` (migration `AccountLifecycle1732000320000`), which the app's database
 * role reads but may set only through `zt_users_mark_verified` with the mailed token.
 */
@Injectable()
export class UsersAccountRegistry implements AccountRegistry {
  private readonly credentials: UserCredentials;

  constructor(
    private readonly users: UsersService,
    @InjectDataSource() private readonly db: DataSource,
  ) {
    this.credentials = new UserCredentials(db, { table: 'users' });
  }

  /** Hashes first, then inserts (as `AuthService.register`): a taken address costs the same argon2 work. */
  async create(login: string, password: string): Promise<LifecycleAccount | null> {
    try {
      const user = await this.users.create(login, await hashPassword(password));
      return this.findBySubject(user.id);
    } catch (error) {
      if (error instanceof ConflictException) return null;
      throw error;
    }
  }

  async findByLogin(login: string): Promise<LifecycleAccount | null> {
    return this.describe(await this.users.findByLogin(normalizeEmail(login)));
  }

  async findBySubject(subject: string): Promise<LifecycleAccount | null> {
    return this.describe(await this.users.findBySubject(subject));
  }

  /** One column of one row: what sign-in asks at every login (`VerifiedUsersDirectory`). */
  async isVerified(subject: string): Promise<boolean> {
    const [row] = (await this.db.query('SELECT email_verified_at IS NOT NULL AS verified FROM users WHERE id = $1', [subject])) as Array<{ verified: boolean }>;
    return row?.verified === true;
  }

  /** The database checks the token (a live verification or reset token of this account); a refusal is a bug, not a user error. */
  async markVerified(subject: string, token: string): Promise<void> {
    if (!(await this.credentials.markVerified(subject, token))) throw new Error('the database refused to mark the address verified: no live token of this account');
  }

  async setPassword(subject: string, password: string): Promise<void> {
    await this.users.setPassword(subject, await hashPassword(password));
  }

  /**
   * The password stamp is the hash's settings (algorithm, cost and a salt drawn anew for every hash):
   * it changes with every password change, and is all the app's database role may read of the hash.
   */
  private async describe(account: Awaited<ReturnType<UsersService['findBySubject']>>): Promise<LifecycleAccount | null> {
    if (!account) return null;
    const stamp = (account as { passwordSettings?: string | null }).passwordSettings ?? undefined;
    return { subject: account.subject, login: account.login, verified: await this.isVerified(account.subject), disabled: account.disabled, ...(stamp ? { passwordStamp: stamp } : {}) };
  }
}
