/** Why a DPoP proof or client certificate, or a token's binding to one, was refused. Goes to `auth.failure` audit events, never to the client. */
export type DpopFailureReason =
  | 'dpop_proof_missing'
  | 'dpop_proof_multiple'
  | 'dpop_proof_malformed'
  | 'dpop_wrong_type'
  | 'dpop_algorithm_not_allowed'
  | 'dpop_bad_key'
  | 'dpop_bad_signature'
  | 'dpop_wrong_method'
  | 'dpop_wrong_uri'
  | 'dpop_stale'
  | 'dpop_wrong_token'
  | 'dpop_replay'
  | 'dpop_nonce_required'
  | 'dpop_nonce_invalid'
  | 'dpop_key_mismatch'
  | 'dpop_bound_token_as_bearer'
  | 'dpop_scheme_unbound_token'
  | 'dpop_disabled'
  | 'sender_constraint_required'
  | 'unsupported_confirmation'
  /** RFC 8705: a certificate-bound token without a client certificate, or with another one. */
  | 'mtls_certificate_missing'
  | 'mtls_certificate_mismatch'
  | 'mtls_untrusted_certificate_header'
  | 'mtls_certificate_malformed';

/** The RFC 9449 §7.1 / §12.2 error code the client sees in `WWW-Authenticate: DPoP error="…"`. */
export type DpopErrorCode = 'invalid_dpop_proof' | 'use_dpop_nonce' | 'invalid_token';

/** A typed DPoP refusal: the audit reason and the error code of the challenge, decided where the check fails. */
export class DpopRejection extends Error {
  readonly error: DpopErrorCode;

  constructor(
    readonly reason: DpopFailureReason,
    detail: string,
  ) {
    super(detail);
    this.name = 'DpopRejection';
    this.error = reason.startsWith('dpop_nonce')
      ? 'use_dpop_nonce'
      : reason.startsWith('mtls_') ||
          reason === 'dpop_key_mismatch' ||
          reason === 'dpop_bound_token_as_bearer' ||
          reason === 'dpop_scheme_unbound_token' ||
          reason === 'dpop_disabled' ||
          reason === 'sender_constraint_required' ||
          reason === 'unsupported_confirmation'
        ? 'invalid_token'
        : 'invalid_dpop_proof';
  }
}
