/** Why a refresh was refused. Audited; the client always gets the same 401. */
export type RefreshFailureReason =
  | 'malformed'
  | 'unknown_refresh_token'
  | 'refresh_token_expired'
  | 'refresh_token_reused'
  | 'session_revoked'
  | 'session_expired'
  | 'session_idle';

export class RefreshTokenRejection extends Error {
  constructor(readonly reason: RefreshFailureReason) {
    super(reason);
    this.name = 'RefreshTokenRejection';
  }
}
