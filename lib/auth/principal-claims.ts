/** What a claims mapper extracts from a verified token: the parts authorization decides on. */
export interface MappedClaims {
  subject?: string;
  scopes: string[];
  roles: string[];
}

/**
 * The principal-mapper port: turns an issuer's verified claims into subject, scopes and roles. Pick a
 * preset (`PrincipalClaims.auth0()`...) per external issuer, or write one for a provider of your own.
 */
export type ClaimsMapper = (claims: Readonly<Record<string, unknown>>) => MappedClaims;

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string' && item !== '') : []);
const spaced = (value: unknown): string[] => (typeof value === 'string' ? value.split(' ').filter(Boolean) : strings(value));
const at = (claims: Readonly<Record<string, unknown>>, path: readonly string[]): unknown =>
  path.reduce<unknown>((value, key) => (value !== null && typeof value === 'object' && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined), claims);
const unique = (values: string[]): string[] => [...new Set(values)];

/** Presets for the token shapes of common identity providers. */
export const PrincipalClaims = {
  /**
   * RFC 9068 / RFC 8693: `scope` (space-delimited) or `scp` (list), and a `roles` list. What this
   * module's own tokens carry.
   */
  standard(): ClaimsMapper {
    return (claims) => ({ scopes: spaced(claims.scope ?? claims.scp), roles: strings(claims.roles) });
  },

  /**
   * Auth0 with RBAC: `scope` plus the API's `permissions` list as scopes; roles from a namespaced
   * custom claim (Auth0 adds none by default), e.g. `rolesClaim: 'https://example.com/roles'`.
   */
  auth0(options: { rolesClaim?: string } = {}): ClaimsMapper {
    return (claims) => ({
      scopes: unique([...spaced(claims.scope), ...strings(claims.permissions)]),
      roles: options.rolesClaim ? strings(claims[options.rolesClaim]) : [],
    });
  },

  /**
   * Keycloak: `scope`; roles from `realm_access.roles`, plus `resource_access.<clientId>.roles` when
   * `clientId` is given (client roles of other clients are never taken).
   */
  keycloak(options: { clientId?: string } = {}): ClaimsMapper {
    return (claims) => ({
      scopes: spaced(claims.scope),
      roles: unique([
        ...strings(at(claims, ['realm_access', 'roles'])),
        ...(options.clientId ? strings(at(claims, ['resource_access', options.clientId, 'roles'])) : []),
      ]),
    });
  },

  /**
   * Microsoft Entra ID: delegated scopes in `scp` (space-delimited), app roles in `roles`. The subject
   * is `oid` (stable across the tenant's apps) when present, else `sub` (pairwise per app).
   */
  entra(options: { subject?: 'oid' | 'sub' } = {}): ClaimsMapper {
    return (claims) => ({
      subject: options.subject === 'sub' ? undefined : typeof claims.oid === 'string' && claims.oid !== '' ? claims.oid : undefined,
      scopes: spaced(claims.scp),
      roles: strings(claims.roles),
    });
  },
} as const;

export type ClaimsPreset = Exclude<keyof typeof PrincipalClaims, 'prototype'>;
