import { Global, Module } from '@nestjs/common';
import { Mailer } from 'nestjs-zero-trust';
import { UsersModule } from '../users/users.module.js';
import { AccountController } from './account.controller.js';
import { accountMailer } from './account.mailer.js';
import { AccountService } from './account.service.js';
import { PasskeyController } from './passkey.controller.js';
import { UsersAccountRegistry } from './users-account.registry.js';
import { VerifiedUsersDirectory } from './verified-users.directory.js';

/**
 * The account lifecycle: the library's flows (`lifecycle` in zero-trust.config.ts) over
 * the users table (`UsersAccountRegistry`), the mailer, and sign-in restricted to verified addresses
 * (`VerifiedUsersDirectory`, the `accounts.directory`). Global: `POST /auth/register` (AuthModule) uses
 * `AccountService`, and this module needs nothing of AuthModule.
 */
@Global()
@Module({
  imports: [UsersModule],
  controllers: [AccountController, PasskeyController],
  providers: [UsersAccountRegistry, VerifiedUsersDirectory, AccountService, { provide: Mailer, useFactory: () => accountMailer() }],
  exports: [UsersAccountRegistry, VerifiedUsersDirectory, AccountService, Mailer],
})
export class AccountModule {}
