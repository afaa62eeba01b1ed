import { PGlite } from '@electric-sql/pglite';
import { Body, Controller, Get, HttpCode, Module, Post } from '@nestjs/common';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import {
  type Account,
  type AccountDirectory,
  Authenticated,
  AuthThrottle,
  CurrentUser,
  exclusivePGliteDriver,
  MfaService,
  Public,
  RequireRecentAuth,
  type SessionGrants,
  SessionService,
  SignInService,
  type SubjectGrants,
  ZeroTrustMfa1732000120000,
  ZeroTrustModule,
  type ZeroTrustModuleOptions,
  type ZeroTrustPrincipal,
  ZeroTrustSessionBinding1732000110000,
  ZeroTrustSessions1732000100000,
} from 'nestjs-zero-trust';
import { randomUUID } from 'node:crypto';
import { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { bootstrapApp, type Platform } from '../support/test-app.js';

export const HARNESS_ISSUER = 'https://accounts.test';
export const HARNESS_PASSWORD = 'the right password';

export interface HarnessAccount extends Account {
  password: string;
  scopes: string[];
  disabled: boolean;
}

/**
 * The application's side of the accounts and grants ports, in memory: what a users table and a password
 * hash would be. Counts the passwords it checks, so tests see what the lockout let through.
 */
export class MemoryDirectory implements AccountDirectory<HarnessAccount>, SessionGrants {
  readonly accounts = new Map<string, HarnessAccount>();
  passwordChecks = 0;

  add(login: string, scopes: string[] = []): HarnessAccount {
    const account: HarnessAccount = { subject: randomUUID(), login, password: HARNESS_PASSWORD, scopes, disabled: false };
    this.accounts.set(account.subject, account);
    return account;
  }

  async findByLogin(login: string): Promise<HarnessAccount | null> {
    return [...this.accounts.values()].find((account) => account.login === login.trim().toLowerCase()) ?? null;
  }

  async findBySubject(subject: string): Promise<HarnessAccount | null> {
    return this.accounts.get(subject) ?? null;
  }

  async verifyPassword(account: HarnessAccount | null, password: string): Promise<boolean> {
    this.passwordChecks++;
    return account !== null && account.password === password;
  }

  async grantsOf(subject: string): Promise<SubjectGrants | null> {
    const account = this.accounts.get(subject);
    return account && !account.disabled ? { scopes: account.scopes } : null;
  }
}

class LoginBody {
  @IsString()
  @MaxLength(254)
  login!: string;

  @IsString()
  @MaxLength(128)
  password!: string;

  @IsOptional()
  @IsString()
  @MaxLength(64)
  code?: string;
}

class ProofBody {
  @IsOptional()
  @IsString()
  @MaxLength(128)
  password?: string;

  @IsOptional()
  @IsString()
  @MaxLength(64)
  code?: string;
}

class RefreshBody {
  @IsString()
  @MaxLength(64)
  refreshToken!: string;
}

/** The routes an application writes around the library's accounts services: nothing but calls. */
@Controller()
export class AccountsController {
  constructor(
    private readonly signIn: SignInService,
    private readonly mfa: MfaService,
    private readonly sessions: SessionService,
  ) {}

  @Public()
  @AuthThrottle()
  @Post('login')
  @HttpCode(200)
  login(@Body() body: LoginBody) {
    return this.signIn.login(body.login, body.password, body.code);
  }

  @Public()
  @Post('refresh')
  @HttpCode(200)
  refresh(@Body() body: RefreshBody) {
    return this.sessions.rotate(body.refreshToken);
  }

  @Authenticated()
  @Post('reauthenticate')
  @HttpCode(200)
  reauthenticate(@CurrentUser() user: ZeroTrustPrincipal, @Body() body: ProofBody) {
    return this.signIn.reauthenticate(user, body);
  }

  @Authenticated()
  @RequireRecentAuth()
  @Post('mfa/enroll')
  enroll(@CurrentUser() user: ZeroTrustPrincipal) {
    return this.mfa.beginEnrolment(user.subject, { issuer: 'harness', account: user.subject });
  }

  @Authenticated()
  @RequireRecentAuth()
  @Post('mfa/confirm')
  @HttpCode(200)
  confirm(@CurrentUser() user: ZeroTrustPrincipal, @Body() body: ProofBody) {
    return this.mfa.confirmEnrolment(user.subject, body.code, user.sessionId);
  }

  @Authenticated()
  @RequireRecentAuth({ maxAge: 60 })
  @Get('sensitive')
  sensitive(@CurrentUser() user: ZeroTrustPrincipal) {
    return { subject: user.subject };
  }

  @Authenticated()
  @Get('me')
  me(@CurrentUser() user: ZeroTrustPrincipal) {
    return { subject: user.subject, scopes: user.scopes, authMethods: user.authMethods, claims: user.claims };
  }
}

const MIGRATIONS = [ZeroTrustSessions1732000100000, ZeroTrustSessionBinding1732000110000, ZeroTrustMfa1732000120000];

/**
 * A minimal app on the library's accounts, sessions and MFA services: PGlite in memory, or a PostgreSQL
 * database given by URL. Options override the defaults (a test key, lockout and limits as given).
 */
export async function createAccountsApp(
  platform: Platform,
  options: {
    zeroTrust?: Partial<Omit<ZeroTrustModuleOptions, 'accounts'>>;
    /** Merged over `{ directory, totpEncryptionKey }`. */
    accounts?: Partial<Exclude<ZeroTrustModuleOptions['accounts'], false | undefined>>;
    postgresUrl?: string;
    directory?: MemoryDirectory;
  } = {},
) {
  const audit = new CaptureAuditSink();
  const directory = options.directory ?? new MemoryDirectory();
  const pglite = options.postgresUrl ? undefined : await PGlite.create();
  const database = (
    options.postgresUrl
      ? { type: 'postgres', url: options.postgresUrl, migrations: MIGRATIONS, migrationsRun: true, retryAttempts: 0 }
      : { type: 'postgres', driver: exclusivePGliteDriver(pglite!), migrations: MIGRATIONS, migrationsRun: true, retryAttempts: 0 }
  ) as TypeOrmModuleOptions;
  const { sessions, ...rest } = options.zeroTrust ?? {};
  @Module({
    imports: [
      TypeOrmModule.forRoot(database),
      ZeroTrustModule.forRoot({
        issuer: HARNESS_ISSUER,
        audience: 'accounts',
        auditSinks: [audit],
        databasePrivileges: 'off',
        anomalyRules: false,
        throttle: { auth: { limit: 10_000, window: 60 }, default: { limit: 10_000, window: 60 } },
        sessions: { grants: directory, ...(typeof sessions === 'object' ? sessions : {}) },
        accounts: { directory, totpEncryptionKey: Buffer.alloc(32, 7).toString('base64'), ...options.accounts },
        ...rest,
      }),
    ],
    controllers: [AccountsController],
  })
  class AccountsAppModule {}
  const app = await bootstrapApp(AccountsAppModule, platform, true);
  return { app, audit, directory };
}
