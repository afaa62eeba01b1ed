import { ConflictException, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type Account, type AccountDirectory, type SessionGrants, type SubjectGrants, UserCredentials } from 'nestjs-zero-trust';
import { randomUUID } from 'node:crypto';
import type { Repository } from 'typeorm';
import { decoySettings, hashPassword, passwordCandidate, passwordPepper } from '../auth/password-hasher.js';
import { User } from './user.entity.js';

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** An account as the library's sign-in sees it, plus its hash settings (algorithm, cost, salt: never the hash). */
export interface UserAccount extends Account {
  readonly passwordSettings: string | null;
}

/**
 * The users table, and the two ports the library asks it through: `AccountDirectory` (sign-in: find
 * an account, check its password with our argon2id) and `SessionGrants` (the scopes a refresh issues).
 *
 * The app's database role reads no password hash and writes no grant (`UserCredentials1732000310000`):
 * the password is checked by the database against the candidate hash computed here, and grants change
 * through the owner's functions, which the database allows only to an operator's identity and audits.
 */
@Injectable()
export class UsersService implements AccountDirectory<UserAccount>, SessionGrants {
  private readonly credentials: UserCredentials;

  constructor(@InjectRepository(User) private readonly users: Repository<User>) {
    this.credentials = new UserCredentials(users.manager.connection, { table: 'users' });
    // At boot: without the pepper in production the app must not start (and it must not guess one).
    passwordPepper();
  }

  /** Only the columns the app may write: the grants keep their defaults (no scope, enabled). */
  async create(email: string, passwordHash: string): Promise<Pick<User, 'id' | 'email'>> {
    const user = { id: randomUUID(), email: normalizeEmail(email) };
    try {
      await this.users.query('INSERT INTO users (id, email, password_hash) VALUES ($1, $2, $3)', [user.id, user.email, passwordHash]);
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw new ConflictException('Email is already registered');
      throw error;
    }
    return user;
  }

  findByLogin(login: string): Promise<UserAccount | null> {
    return this.account('user.email = :email', { email: normalizeEmail(login) });
  }

  findBySubject(subject: string): Promise<UserAccount | null> {
    return this.account('user.id = :id', { id: subject });
  }

  /**
   * The database compares; the hash never comes here. An unknown account costs the same argon2 work
   * and round trip (the decoy settings, no subject). A right password under a hash made before the
   * pepper (or under an old pepper) is hashed again now, so old hashes disappear as users sign in.
   */
  async verifyPassword(account: UserAccount | null, password: string): Promise<boolean> {
    const { candidate, current } = await passwordCandidate(account?.passwordSettings ?? (await decoySettings()), password);
    const valid = await this.credentials.checkPassword(account?.passwordSettings ? account.subject : null, candidate);
    if (!account || !valid) return false;
    if (!current) await this.setPassword(account.subject, await hashPassword(password));
    return true;
  }

  /** What a refresh may issue now: a disabled or deleted user gets nothing, and the session is revoked. */
  async grantsOf(subject: string): Promise<SubjectGrants | null> {
    const user = await this.users.findOne({ where: { id: subject } });
    return user && !user.disabledAt ? { scopes: user.scopes } : null;
  }

  async emailOf(id: string): Promise<string | null> {
    return (await this.users.findOne({ where: { id } }))?.email ?? null;
  }

  /** `passwordHash` from `hashPassword` (peppered): the database refuses any other. */
  async setPassword(id: string, passwordHash: string): Promise<void> {
    await this.credentials.setPassword(id, passwordHash);
  }

  /** Returns whether the user exists. Only for an operator's request: the database checks its `users:admin` scope. */
  setScopes(id: string, scopes: string[]): Promise<boolean> {
    return this.credentials.setGrant(id, 'scopes', scopes);
  }

  /** Only for an operator's request, as `setScopes`. */
  async disable(id: string): Promise<void> {
    await this.credentials.setGrant(id, 'disabled_at', new Date());
  }

  private async account(where: string, parameters: Record<string, string>): Promise<UserAccount | null> {
    const { entities, raw } = await this.users
      .createQueryBuilder('user')
      .addSelect(this.credentials.settingsOf('"user"."id"'), 'password_settings')
      .where(where, parameters)
      .getRawAndEntities<{ password_settings: string | null }>();
    const user = entities[0];
    if (!user) return null;
    return { subject: user.id, login: user.email, scopes: user.scopes, disabled: user.disabledAt !== null, passwordSettings: raw[0]?.password_settings ?? null };
  }
}
