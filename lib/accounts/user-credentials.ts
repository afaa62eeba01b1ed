import type { DataSource, EntityManager } from 'typeorm';
import { RequestContexts } from '../core/request-context.js';
import { RlsContext } from '../database/rls-context.js';
import { ident } from '../database/sql-identifiers.js';

type Db = Pick<EntityManager, 'query'>;

/**
 * The app's side of `UserCredentialsMigration`: the calls that replace reading and writing the
 * credential and grant columns of the users table, which the runtime role no longer may.
 *
 * ```ts
 * const credentials = new UserCredentials(dataSource, { table: 'users' });
 * const settings = await credentials.passwordSettings(user.id);      // '$argon2id$v=19$m=…$salt' (no hash)
 * const ok = await credentials.checkPassword(user.id, candidateHash); // compared inside the database
 * await credentials.setGrant(user.id, 'scopes', ['notes:admin']);     // needs the operator's scope, checked by the database
 * ```
 *
 * Inside a request's row-level-security transaction (or `RlsContext.run`) its manager is used: on
 * PGlite's single session another connection would wait for it. A grant change runs under the signed
 * identity of the request's principal (its own short transaction when none is open), because the
 * database, not this class, decides whether that caller may change grants.
 */
export class UserCredentials {
  private readonly settingsFn: string;
  private readonly checkFn: string;
  private readonly setPasswordFn: string;
  private readonly schema: string;
  private readonly table: string;

  constructor(
    private readonly dataSource: DataSource,
    options: { table?: string; schema?: string } = {},
  ) {
    this.schema = ident(options.schema ?? 'public', 'schema');
    this.table = options.table ?? 'users';
    this.settingsFn = this.fn('password_settings');
    this.checkFn = this.fn('check_password');
    this.setPasswordFn = this.fn('set_password');
  }

  /** A SQL expression for the settings of the row whose id is `idSql`, to fetch them with the account in one query. */
  settingsOf(idSql: string): string {
    return `${this.settingsFn}(${idSql})`;
  }

  /** The stored hash without its last `$` part (algorithm, cost, salt), or `null` for an unknown subject. */
  async passwordSettings(subject: string): Promise<string | null> {
    const [row] = (await this.db().query(`SELECT ${this.settingsFn}($1) AS settings`, [subject])) as Array<{ settings: string | null }>;
    return row?.settings ?? null;
  }

  /**
   * Whether `candidate` (the full hash the app computed from the settings) is the stored one. Called with
   * `null` for an unknown account too, so that case costs the same round trip.
   */
  async checkPassword(subject: string | null, candidate: string): Promise<boolean> {
    const [row] = (await this.db().query(`SELECT ${this.checkFn}($1, $2) AS valid`, [subject, candidate])) as Array<{ valid: boolean }>;
    return row?.valid === true;
  }

  /**
   * Stores a new peppered hash (`PasswordPepper`); the database refuses any other, and any caller whose
   * signed identity does not name `subject`: in the request's row-level-security transaction when one is
   * open (the user changing their own password), else in a short transaction signed for `subject` (a reset,
   * a re-hash at sign-in: the app vouches, holding the identity key; injected SQL cannot). Returns whether the subject exists.
   */
  async setPassword(subject: string, peppered: string): Promise<boolean> {
    const sql = `SELECT ${this.setPasswordFn}($1, $2) AS done`;
    const run = async (db: Db) => ((await db.query(sql, [subject, peppered])) as Array<{ done: boolean }>)[0]?.done === true;
    const open = RlsContext.manager();
    if (open) return run(open);
    const self = { subject, ownerId: subject, scopes: [], roles: [], issuer: 'zero-trust:credentials', authMethods: [], expiresAt: Math.floor(Date.now() / 1000) + 60, claims: {} };
    return RlsContext.run(this.dataSource, self, run);
  }

  /**
   * Marks the address proven with the clear value of a live verification or reset token of that account
   * (`zt_<table>_mark_verified`, installed by `LifecycleCredentialsMigration`): the runtime role may not
   * write the column itself. Returns whether the database accepted the token.
   */
  async markVerified(subject: string, token: string): Promise<boolean> {
    const [row] = (await this.db().query(`SELECT ${this.fn('mark_verified')}($1, $2) AS done`, [subject, token])) as Array<{ done: boolean }>;
    return row?.done === true;
  }

  /**
   * Changes one grant column (`grantColumns` of the migration) as the current operator: the database
   * checks the scope in the signed identity and audits the change. Refused (SQLSTATE 42501) for a
   * caller without it. Returns whether the subject exists.
   */
  async setGrant(subject: string, column: string, value: unknown): Promise<boolean> {
    const sql = `SELECT ${this.fn(`set_${column}`)}($1, $2) AS done`;
    const run = async (db: Db) => ((await db.query(sql, [subject, value])) as Array<{ done: boolean }>)[0]?.done === true;
    const open = RlsContext.manager();
    if (open) return run(open);
    const principal = RequestContexts.current()?.principal;
    // No caller (a script): no identity, so the database refuses; wrap the call in RlsContext.run(dataSource, operator, …).
    if (!principal) return run(this.dataSource);
    return RlsContext.run(this.dataSource, principal, run);
  }

  private fn(suffix: string): string {
    return `${this.schema}.${ident(`zt_${this.table}_${suffix}`, 'credential function')}`;
  }

  private db(): Db {
    return RlsContext.manager() ?? this.dataSource;
  }
}
