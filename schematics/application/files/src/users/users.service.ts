import { ConflictException, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import type { Repository } from 'typeorm';
import { User } from './user.entity.js';

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

const SECRET_COLUMNS = ['user.passwordHash', 'user.mfaSecret', 'user.mfaLastStep', 'user.recoveryCodeHashes'];

@Injectable()
export class UsersService {
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

  /** Includes the secret columns, which are otherwise never selected. */
  findWithSecretsByEmail(email: string): Promise<User | null> {
    return this.withSecrets().where('user.email = :email', { email: normalizeEmail(email) }).getOne();
  }

  findWithSecrets(id: string): Promise<User | null> {
    return this.withSecrets().where('user.id = :id', { id }).getOne();
  }

  async update(id: string, changes: Partial<User>): Promise<void> {
    await this.users.update({ id }, changes);
  }

  /**
   * Stores an accepted TOTP step only if it is newer than the last one: the compare-and-set in SQL
   * keeps two parallel logins from both spending the same code.
   */
  async consumeTotpStep(id: string, step: number): Promise<boolean> {
    const result = await this.users
      .createQueryBuilder()
      .update()
      .set({ mfaLastStep: String(step) })
      .where('id = :id AND (mfa_last_step IS NULL OR mfa_last_step < :step)', { id, step })
      .execute();
    return (result.affected ?? 0) === 1;
  }

  private withSecrets() {
    return this.users.createQueryBuilder('user').addSelect(SECRET_COLUMNS);
  }
}
