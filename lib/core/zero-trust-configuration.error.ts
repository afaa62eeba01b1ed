/**
 * Thrown at boot when the module's options are unsafe or malformed. The message names the option
 * and says how to fix it: a security module that starts with a half-understood configuration is
 * worse than one that refuses to start.
 */
export class ZeroTrustConfigurationError extends Error {
  constructor(message: string) {
    super(`nestjs-zero-trust: ${message}`);
    this.name = 'ZeroTrustConfigurationError';
  }
}
