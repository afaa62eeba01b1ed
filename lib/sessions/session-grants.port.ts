/** What a subject may do now, as the application's own records say (its users table, directory, IdP...). */
export interface SubjectGrants {
  readonly scopes?: readonly string[];
  readonly roles?: readonly string[];
}

/**
 * The grants port of sessions: "what are this subject's scopes and roles now?", asked at every refresh,
 * so an operator's change reaches a session at its next refresh instead of after its 30 days, and a
 * subject the application no longer knows (deleted, disabled) loses the session. The application
 * implements it (`sessions: { grants: UsersService }`); without it, a session keeps the grants it was
 * created with.
 *
 * After changing a subject's grants, call `SessionService.grantsChanged(subject)`: the access tokens
 * already issued then fail their per-request session check too, within the revocation bound.
 */
export interface SessionGrants {
  /** The subject's current grants, or `null` when it may no longer hold a session (the session is then revoked). */
  grantsOf(subject: string): Promise<SubjectGrants | null>;
}

export function isSessionGrants(value: unknown): value is SessionGrants {
  return value !== null && typeof value === 'object' && typeof (value as SessionGrants).grantsOf === 'function';
}
