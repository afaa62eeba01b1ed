/** Why an API key was refused. Audited; the client always gets the same 401. */
export type ApiKeyFailureReason = 'missing_api_key' | 'malformed_api_key' | 'invalid_api_key' | 'api_key_expired' | 'api_key_revoked';

export class ApiKeyRejection extends Error {
  constructor(
    readonly reason: ApiKeyFailureReason,
    /** The key's public id, when the key was well-formed: lets an operator see which key is being tried. */
    readonly keyId?: string,
  ) {
    super(reason);
    this.name = 'ApiKeyRejection';
  }
}
