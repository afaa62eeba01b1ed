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
  | 'invalid_token';

export class AccessTokenRejection extends Error {
  constructor(
    readonly reason: AuthFailureReason,
    detail: string,
  ) {
    super(detail);
    this.name = 'AccessTokenRejection';
  }
}

/**
 * Maps what passport-jwt and jsonwebtoken report to a reason. Their messages are matched here and
 * only here, so a library upgrade that rewords one is caught by the attack tests in one place.
 */
export function classifyRejection(error: unknown): AuthFailureReason {
  if (error instanceof AccessTokenRejection) return error.reason;
  if (!(error instanceof Error)) return 'invalid_token';
  if (error.name === 'TokenExpiredError') return 'expired';
  if (error.name === 'NotBeforeError') return 'not_yet_valid';
  const message = error.message;
  if (message === 'No auth token') return 'missing_token';
  // jwa throws the second one for an ECDSA signature of the wrong length (a truncated token).
  if (message === 'invalid signature' || /signatures must be "\d+" bytes/.test(message)) return 'bad_signature';
  if (message.startsWith('jwt audience invalid')) return 'wrong_audience';
  if (message.startsWith('jwt issuer invalid')) return 'wrong_issuer';
  if (message === 'invalid algorithm' || message.includes('must be a symmetric key') || message.includes('must be an asymmetric key')) {
    return 'algorithm_not_allowed';
  }
  if (message === 'jwt malformed' || message === 'invalid token' || message === 'jwt signature is required') return 'malformed';
  return 'invalid_token';
}
