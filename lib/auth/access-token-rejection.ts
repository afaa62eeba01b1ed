/** Why an access token was refused. Goes to audit events, never to the client. */
export type AuthFailureReason =
  | 'missing_token'
  | 'malformed'
  | 'algorithm_not_allowed'
  | 'wrong_type'
  | 'forbidden_header'
  | 'unsupported_crit'
  | 'unknown_key'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'issued_in_future'
  | 'missing_claim'
  | 'lifetime_exceeded'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'issuer_unavailable'
  | 'missing_session'
  | 'session_revoked'
  | 'principal_blocked'
  | 'invalid_token';

/**
 * The verifier's own typed rejection: every check names its reason where it fails, so nothing has to
 * guess a reason from another library's error message.
 */
export class AccessTokenRejection extends Error {
  constructor(
    readonly reason: AuthFailureReason,
    detail: string,
  ) {
    super(detail);
    this.name = 'AccessTokenRejection';
  }
}
