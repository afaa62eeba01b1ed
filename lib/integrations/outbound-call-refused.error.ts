/** An outbound call the client refused to make: the integration, the host or the scheme is not allowed. A programming error, never sent. */
export class OutboundCallRefused extends Error {
  constructor(
    readonly integration: string,
    readonly reason: 'unknown_integration' | 'host_not_allowed' | 'insecure_scheme' | 'credentials_in_url',
    detail: string,
  ) {
    super(`outbound call to integration "${integration}" refused: ${detail}`);
    this.name = 'OutboundCallRefused';
  }
}
