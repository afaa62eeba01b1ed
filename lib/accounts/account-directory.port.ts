/** One account of the application, as `SignInService` needs to see it. The password hash stays the app's. */
export interface Account {
  /** The stable id written to `sub`. */
  readonly subject: string;
  /** The login name (an e-mail address...), as the app normalizes it: failures are counted per login name. */
  readonly login: string;
  /** Scopes and roles granted now, copied into access tokens at login. */
  readonly scopes?: readonly string[];
  readonly roles?: readonly string[];
  /** A disabled account cannot sign in; it is answered exactly like a wrong password. */
  readonly disabled?: boolean;
}

/**
 * The accounts port: how `SignInService` finds an account and checks its password. The application
 * implements it over its own users table and password hashing (argon2id, bcrypt...); the module never
 * sees a password hash. Give it as `accounts: { directory: UsersService }` (an injection token) or as an object.
 */
export interface AccountDirectory<A extends Account = Account> {
  /** The account a login name belongs to, or `null`. */
  findByLogin(login: string): Promise<A | null>;
  /** The account of a subject (reauthentication, grants at refresh), or `null`. */
  findBySubject(subject: string): Promise<A | null>;
  /**
   * The app's own password check. Called with `null` for an unknown account and for an attempt the
   * lockout refused: it must then do the same work against a decoy hash, so that neither the answer nor
   * its timing tells an unknown or locked account from a wrong password. With `UserCredentialsMigration`
   * the app never holds the hash: it computes a candidate from the hash's settings (`PasswordPepper` and
   * its slow hash) and lets the database compare (`UserCredentials.checkPassword`).
   */
  verifyPassword(account: A | null, password: string): Promise<boolean>;
}

export function isAccountDirectory(value: unknown): value is AccountDirectory {
  if (value === null || typeof value !== 'object') return false;
  const directory = value as AccountDirectory;
  return typeof directory.findByLogin === 'function' && typeof directory.findBySubject === 'function' && typeof directory.verifyPassword === 'function';
}
