import { ConflictException, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import type { Repository } from 'typeorm';
import { User } from './user.entity.js';

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

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

  /** Includes the password hash, which is otherwise never selected. */
  findForLogin(email: string): Promise<User | null> {
    return this.users
      .createQueryBuilder('user')
      .addSelect('user.passwordHash')
      .where('user.email = :email', { email: normalizeEmail(email) })
      .getOne();
  }
}
