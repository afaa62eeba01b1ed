import { ConflictException, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Account, AccountDirectory, SessionGrants, SubjectGrants } from 'nestjs-zero-trust';
import { randomUUID } from 'node:crypto';
import type { Repository } from 'typeorm';
import { decoyHash, verifyPassword } from '../auth/password-hasher.js';
import { User } from './user.entity.js';

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** An account as the library's sign-in sees it, plus the hash only this service reads. */
export interface UserAccount extends Account {
  readonly passwordHash: string;
}

/**
 * The users table, and the two ports the library asks it through: `AccountDirectory` (sign-in: find
 * an account, check its password with our argon2id) and `SessionGrants` (the scopes a refresh issues).
 */
@Injectable()
export class UsersService implements AccountDirectory<UserAccount>, SessionGrants {
  constructor(@InjectRepository(User) private readonly users: Repository<User>) {}

  async create(email: string, passwordHash: string): Promise<Pick<User, 'id' | 'email'>> {
    const user = this.users.create({ id: randomUUID(), email: normalizeEmail(email), passwordHash });
    try {
      await this.users.insert(user);
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw new ConflictException('Email is already registered');
      throw error;
    }
    return { id: user.id, email: user.email };
  }

  async findByLogin(login: string): Promise<UserAccount | null> {
    return toAccount(await this.withPassword().where('user.email = :email', { email: normalizeEmail(login) }).getOne());
  }

  async findBySubject(subject: string): Promise<UserAccount | null> {
    return toAccount(await this.withPassword().where('user.id = :id', { id: subject }).getOne());
  }

  /** An unknown account costs the same argon2 work (the decoy hash), so timing does not tell it from a wrong password. */
  async verifyPassword(account: UserAccount | null, password: string): Promise<boolean> {
    const valid = await verifyPassword(account?.passwordHash ?? (await decoyHash()), password);
    return account !== null && valid;
  }

  /** What a refresh may issue now: a disabled or deleted user gets nothing, and the session is revoked. */
  async grantsOf(subject: string): Promise<SubjectGrants | null> {
    const user = await this.users.findOne({ where: { id: subject } });
    return user && !user.disabledAt ? { scopes: user.scopes } : null;
  }

  async emailOf(id: string): Promise<string | null> {
    return (await this.users.findOne({ where: { id } }))?.email ?? null;
  }

  async setPassword(id: string, passwordHash: string): Promise<void> {
    await this.users.update({ id }, { passwordHash });
  }

  /** Returns whether the user exists. */
  async setScopes(id: string, scopes: string[]): Promise<boolean> {
    return ((await this.users.update({ id }, { scopes })).affected ?? 0) > 0;
  }

  async disable(id: string): Promise<void> {
    await this.users.update({ id }, { disabledAt: new Date() });
  }

  private withPassword() {
    return this.users.createQueryBuilder('user').addSelect('user.passwordHash');
  }
}

function toAccount(user: User | null): UserAccount | null {
  if (!user) return null;
  return { subject: user.id, login: user.email, scopes: user.scopes, disabled: user.disabledAt !== null, passwordHash: user.passwordHash };
}
