import { Injectable } from '@nestjs/common';
import { type AccountDirectory, requireVerifiedAccounts } from 'nestjs-zero-trust';
import { type UserAccount, UsersService } from '../users/users.service.js';
import { UsersAccountRegistry } from './users-account.registry.js';

/**
 * What `SignInService` signs in with (`accounts.directory`): the users table, where an account whose
 * address is not verified answers like a disabled one (the same 401 as a wrong password).
 */
@Injectable()
export class VerifiedUsersDirectory implements AccountDirectory<UserAccount> {
  private readonly directory: AccountDirectory<UserAccount>;

  constructor(users: UsersService, registry: UsersAccountRegistry) {
    this.directory = requireVerifiedAccounts(users, (subject) => registry.isVerified(subject));
  }

  findByLogin(login: string) {
    return this.directory.findByLogin(login);
  }

  findBySubject(subject: string) {
    return this.directory.findBySubject(subject);
  }

  verifyPassword(account: UserAccount | null, password: string) {
    return this.directory.verifyPassword(account, password);
  }
}
