import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';

const ROLE_OR_TABLE = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

/** Quotes an identifier after checking it is a plain name (no injection through configuration). */
export function ident(name: string, what = 'identifier'): string {
  if (!ROLE_OR_TABLE.test(name)) {
    throw new ZeroTrustConfigurationError(`${what} "${name}" must be a plain SQL name (letters, digits, _ and $; at most 63 characters).`);
  }
  return `"${name}"`;
}

export function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
