/** RFC 6749 §5.2 error codes of the token endpoint. */
export type TokenEndpointError = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'invalid_scope' | 'unsupported_grant_type' | 'invalid_dpop_proof' | 'use_dpop_nonce';

/** Why a client-credentials request was refused: the code the client sees, the reason the audit trail keeps. */
export class MachineClientRejection extends Error {
  constructor(
    readonly error: TokenEndpointError,
    readonly reason: string,
    readonly clientId?: string,
  ) {
    super(reason);
    this.name = 'MachineClientRejection';
  }
}
