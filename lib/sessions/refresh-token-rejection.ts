/** Why a refresh was refused. Audited; the client always gets the same 401. */
export type RefreshFailureReason =
  | 'malformed'
  | 'unknown_refresh_token'
  | 'refresh_token_expired'
  | 'refresh_token_reused'
  | 'session_revoked'
  | 'session_expired'
  | 'session_idle'
  /** The session is DPoP-bound (RFC 9449 §5) and the refresh came without a proof, or with one by another key. */
  | 'dpop_proof_missing'
  | 'dpop_key_mismatch';

export class RefreshTokenRejection extends Error {
  constructor(readonly reason: RefreshFailureReason) {
    super(reason);
    this.name = 'RefreshTokenRejection';
  }
}
