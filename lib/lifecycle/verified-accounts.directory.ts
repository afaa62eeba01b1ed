import type { Account, AccountDirectory } from '../accounts/account-directory.port.js';

/**
 * Wraps the app's `AccountDirectory` so that an account whose address is not verified is `disabled` to
 * `SignInService` (and to passkey sign-in): its login gets the same 401 as a wrong password (same body,
 * same hashing work), and its refresh nothing. `isVerified` is one cheap lookup of the app's (a column).
 * See `RegistrationService` for why unverified accounts cannot sign in at all.
 */
export function requireVerifiedAccounts<A extends Account>(directory: AccountDirectory<A>, isVerified: (subject: string) => Promise<boolean>): AccountDirectory<A> {
  const gate = async (account: A | null): Promise<A | null> => {
    if (!account || account.disabled) return account;
    return (await isVerified(account.subject)) ? account : { ...account, disabled: true };
  };
  return {
    findByLogin: async (login) => gate(await directory.findByLogin(login)),
    findBySubject: async (subject) => gate(await directory.findBySubject(subject)),
    verifyPassword: (account, password) => directory.verifyPassword(account, password),
  };
}
