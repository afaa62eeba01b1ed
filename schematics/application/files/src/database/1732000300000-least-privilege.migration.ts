import { LeastPrivilegeRoleMigration } from 'nestjs-zero-trust';
import { Note } from '../notes/note.entity.js';

/** The roles' names; set them before the first migration runs (a later change does not rename roles). */
export const OWNER_ROLE = process.env.DATABASE_OWNER_ROLE ?? '<%= roleBase %>_owner';
export const RUNTIME_ROLE = process.env.DATABASE_RUNTIME_ROLE ?? '<%= roleBase %>_app';

/**
 * The app serves as the runtime role: SELECT/INSERT/UPDATE/DELETE on users, notes and the session tables,
 * INSERT and SELECT only on the audit trail, nothing else; `notes` also carries a row-level-security
 * policy (the caller's rows only; every row for the `notes:admin` scope). The owner role owns the
 * tables and cannot log in; migrations run as a login that can act for it.
 */
export class LeastPrivilege1732000300000 extends LeastPrivilegeRoleMigration({
  ownerRole: OWNER_ROLE,
  runtimeRole: RUNTIME_ROLE,
  runtimePasswordEnv: 'DATABASE_RUNTIME_PASSWORD',
  // PGlite (no DATABASE_URL) has no logins; on PostgreSQL the password is required.
  allowPasswordless: () => !process.env.DATABASE_URL,
  // The audit trail: the app may add and read events, never change or delete them.
  appendOnly: ['zt_audit_log'],
  readableAppendOnly: true,
  rowLevelSecurity: [{ entity: Note, adminScope: 'notes:admin' }],
}) {}
