import { UserCredentialsMigration } from 'nestjs-zero-trust';
import { OWNER_ROLE, RUNTIME_ROLE } from './1732000300000-least-privilege.migration.js';

/**
 * The users table under SQL injection: the runtime role reads no password hash (the database checks a
 * candidate hash itself), stores only hashes peppered with ZT_PASSWORD_PEPPER, and writes neither the
 * email nor the grants (`scopes`, `disabled_at`); operators change those through the owner's functions,
 * which demand `users:admin` in the caller's signed identity. Every grant change, whoever makes it (the
 * app, an operator in psql), lands in zt_audit_log, MFA turned on or off included.
 */
export class UserCredentials1732000310000 extends UserCredentialsMigration({
  ownerRole: OWNER_ROLE,
  runtimeRole: RUNTIME_ROLE,
  table: 'users',
  loginColumn: 'email',
  passwordHashColumn: 'password_hash',
  grantColumns: ['scopes', 'disabled_at'],
  grantAdminScope: 'users:admin',
}) {}
