import { BadRequestException, ConflictException, Inject, Injectable, ServiceUnavailableException, UnauthorizedException } from '@nestjs/common';
import { createHash, createPublicKey, type JsonWebKey, type KeyObject, randomBytes, timingSafeEqual } from 'node:crypto';
import { AuditService } from '../audit/audit.service.js';
import { AccessTokenRejection } from '../auth/access-token-rejection.js';
import { clientCertificateThumbprint } from '../auth/client-certificate.js';
import { DpopProofVerifier } from '../auth/dpop-proof.verifier.js';
import { DpopRejection } from '../auth/dpop-rejection.js';
import { SENDER_CONSTRAINT_CONFIG } from '../auth/sender-constraint.internal-constants.js';
import type { SenderConstraintConfig } from '../auth/sender-constraint.options.js';
import { decodeJws, type JwsAlgorithm, verifyJwsSignature } from '../auth/jws.js';
import { type IssuedAccessToken, TokenService } from '../auth/token.service.js';
import { Clock } from '../core/clock.js';
import { rawRequest, rawResponse } from '../core/request-context.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { DataSourceRef } from '../database/data-source.ref.js';
import { SessionService } from '../sessions/session.service.js';
import { StoreFailurePolicy } from '../store/store-failure.policy.js';
import { ZERO_TRUST_STORE } from '../store/store.internal-constants.js';
import type { ZeroTrustStore } from '../store/zero-trust-store.js';
import { rows } from '../database/query-rows.js';
import { CLIENTS_CONFIG } from './clients.internal-constants.js';
import type { ClientsConfig } from './clients.options.js';
import { MachineClientRejection } from './machine-client-rejection.js';

/** RFC 7523 §2.2. */
export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/**
 * Subjects of machine clients are `service:<id>`: never a user's subject, so a client owns no user's
 * records; and the same subject `ServiceTokens` gives a service's microservice messages, so one service
 * is one principal whether it calls over HTTP or sends a message.
 */
export const MACHINE_SUBJECT_PREFIX = 'service:';

const CLIENT_ID = /^[a-z][a-z0-9-]{2,63}$/;
const SECRET = /^[A-Za-z0-9_-]{43}$/;
const ASSERTION_ALGORITHMS: Readonly<Record<string, JwsAlgorithm>> = { ES256: 'ES256', RS256: 'RS256', EdDSA: 'EdDSA', Ed25519: 'EdDSA' };
const DUMMY_HASH = Buffer.alloc(32);
const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

export interface NewMachineClient {
  /** `[a-z][a-z0-9-]{2,63}`, e.g. `billing-worker`. Its tokens' `sub` is `client:<id>`, their `client_id` the id. */
  id: string;
  name: string;
  /** The most the client may ask for; a request asks for a subset (`scope`), or gets them all. */
  scopes: readonly string[];
  /**
   * `client_secret` (HTTP Basic or form fields), `private_key_jwt` (RFC 7523 assertions signed by a key
   * of `jwks`) or `self_signed_tls_client_auth` (RFC 8705 §2.2: the TLS client certificate whose
   * thumbprint is `certificateThumbprint`; its tokens are bound to that certificate).
   */
  authMethod: 'client_secret' | 'private_key_jwt' | 'self_signed_tls_client_auth';
  /** private_key_jwt: the client's public keys (a JWK Set). */
  jwks?: { keys: JsonWebKey[] };
  /** self_signed_tls_client_auth: base64url SHA-256 of the client certificate's DER (`x5t#S256`). */
  certificateThumbprint?: string;
}

export interface RegisteredMachineClient {
  clientId: string;
  /** client_secret clients: shown once, stored only as its SHA-256. */
  clientSecret?: string;
}

/** RFC 6749 §5.1: the token response. */
export interface ClientCredentialsResponse {
  access_token: string;
  token_type: IssuedAccessToken['tokenType'];
  expires_in: number;
  scope: string;
}

interface ClientRow {
  id: string;
  scopes: string[];
  auth_method: string;
  secret_hash: string | null;
  previous_secret_hash: string | null;
  previous_live: boolean;
  /** private_key_jwt: the JWK Set; self_signed_tls_client_auth: the certificate thumbprint. */
  jwks: { keys: JsonWebKey[]; x5tS256?: string } | null;
  revoked: boolean;
}

/**
 * Machine clients: the OAuth client-credentials grant (RFC 6749 §4.4) for services, with secrets stored
 * hashed or private_key_jwt assertions (RFC 7523) whose `jti` is never accepted twice, secret rotation
 * with an overlap window, revocation, and a `client.token_issued` audit event per token.
 *
 * The tokens are ordinary access tokens of this app (`sub` = `client:<id>`, `client_id` = id, the
 * granted `scope`), verified by the global guard like any other; with `sessions` on each issuance opens
 * a session, so revoking the client ends its tokens at once on every instance. This is the service
 * identity microservice messages carry: a worker calls `issueFor()` (or the token endpoint) and sends
 * the access token with its messages.
 */
@Injectable()
export class MachineClientService {
  constructor(
    private readonly dataSources: DataSourceRef,
    private readonly tokens: TokenService,
    private readonly sessions: SessionService,
    private readonly dpop: DpopProofVerifier,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(CLIENTS_CONFIG) private readonly config: ClientsConfig,
    @Inject(ZERO_TRUST_STORE) private readonly store: ZeroTrustStore,
    private readonly storeFailures: StoreFailurePolicy,
    @Inject(SENDER_CONSTRAINT_CONFIG) private readonly senderConstraint: SenderConstraintConfig,
  ) {}

  /** Registers a client; a client_secret client's secret is returned this once. Audited as `client.created`. */
  async register(client: NewMachineClient): Promise<RegisteredMachineClient> {
    this.options();
    if (typeof client.id !== 'string' || !CLIENT_ID.test(client.id)) throw new TypeError('id must match [a-z][a-z0-9-]{2,63}');
    if (client.authMethod === 'private_key_jwt') {
      if (!client.jwks?.keys?.length) throw new TypeError('a private_key_jwt client needs jwks with at least one public key');
      for (const key of client.jwks.keys) {
        if ('d' in key || 'k' in key) throw new TypeError('jwks must hold public keys only');
        createPublicKey({ key, format: 'jwk' });
      }
    } else if (client.authMethod === 'self_signed_tls_client_auth') {
      if (typeof client.certificateThumbprint !== 'string' || !SECRET.test(client.certificateThumbprint)) throw new TypeError('certificateThumbprint must be a base64url SHA-256 (43 characters)');
    } else if (client.authMethod !== 'client_secret') {
      throw new TypeError('authMethod must be client_secret, private_key_jwt or self_signed_tls_client_auth');
    }
    const secret = client.authMethod === 'client_secret' ? randomBytes(32).toString('base64url') : undefined;
    const db = await this.dataSources.get();
    // A second registration of an id is the caller's conflict (409), not a server error.
    const inserted = await rows<{ id: string }>(db, `INSERT INTO zt_machine_clients (id, name, scopes, auth_method, secret_hash, jwks) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING RETURNING id`, [
      client.id,
      client.name,
      [...client.scopes],
      client.authMethod,
      secret ? sha256(secret).toString('hex') : null,
      client.jwks ? JSON.stringify({ keys: client.jwks.keys }) : client.certificateThumbprint ? JSON.stringify({ x5tS256: client.certificateThumbprint }) : null,
    ]);
    if (inserted.length === 0) throw new ConflictException(`machine client "${client.id}" exists: rotate its secret (rotateSecret) or revoke it and register a new id`);
    this.audit.publish({ type: 'client.created', outcome: 'success', principal: { subject: MACHINE_SUBJECT_PREFIX + client.id }, details: { authMethod: client.authMethod, scopes: client.scopes.join(' ') } });
    return { clientId: client.id, ...(secret ? { clientSecret: secret } : {}) };
  }

  /**
   * A new secret, returned this once; the previous one keeps working for `rotationOverlap` seconds so
   * the client's instances can be redeployed one by one. Audited as `client.secret_rotated`.
   */
  async rotateSecret(clientId: string): Promise<{ clientSecret: string; previousValidUntil: Date }> {
    const options = this.options();
    const secret = randomBytes(32).toString('base64url');
    const db = await this.dataSources.get();
    const updated = await rows<{ id: string }>(
      db,
      `UPDATE zt_machine_clients SET previous_secret_hash = secret_hash, previous_expires_at = now() + make_interval(secs => $3), secret_hash = $2
       WHERE id = $1 AND auth_method = 'client_secret' AND revoked_at IS NULL RETURNING id`,
      [clientId, sha256(secret).toString('hex'), options.rotationOverlap],
    );
    if (updated.length === 0) throw new TypeError(`no live client_secret client "${clientId}"`);
    this.audit.publish({ type: 'client.secret_rotated', outcome: 'success', principal: { subject: MACHINE_SUBJECT_PREFIX + clientId } });
    return { clientSecret: secret, previousValidUntil: new Date(this.clock.now() + options.rotationOverlap * 1000) };
  }

  /** Revokes the client: no new token, and with sessions on its issued tokens fail at once. Audited as `client.revoked`. */
  async revoke(clientId: string, reason = 'revoked'): Promise<boolean> {
    const db = await this.dataSources.get();
    const revoked = await rows<{ id: string }>(db, `UPDATE zt_machine_clients SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id`, [clientId]);
    if (this.sessions.enabled) await this.sessions.revokeAll(MACHINE_SUBJECT_PREFIX + clientId, `client_${reason}`);
    if (revoked.length > 0) this.audit.publish({ type: 'client.revoked', outcome: 'success', reason, principal: { subject: MACHINE_SUBJECT_PREFIX + clientId } });
    return revoked.length > 0;
  }

  /**
   * The token endpoint (RFC 6749 §4.4.2): give it the request, the response and the parsed form body.
   * Client authentication by HTTP Basic, form fields or a private_key_jwt assertion; a DPoP proof, when
   * sent, binds the token (RFC 9449 §5). Refusals answer 401 (`invalid_client`) or 400 with the RFC's
   * error code as the message, and are audited as `auth.failure`.
   */
  async tokenEndpoint(request: object, response: object, body: Record<string, unknown>): Promise<ClientCredentialsResponse> {
    this.options();
    let clientId: string | undefined;
    try {
      if (body.grant_type !== 'client_credentials') throw new MachineClientRejection('unsupported_grant_type', 'unsupported_grant_type');
      const client = await this.authenticateClient(request, body);
      clientId = client.id;
      const scopes = this.grantedScopes(client, body.scope);
      const proof = await this.dpop.forTokenRequest(request, response);
      rawResponse(response).setHeader('Cache-Control', 'no-store');
      // RFC 8705 §3: a client that authenticated with its certificate gets tokens bound to it.
      const x5t = client.auth_method === 'self_signed_tls_client_auth' ? client.jwks?.x5tS256 : undefined;
      return await this.issue(client.id, scopes, proof?.jkt, 'token_endpoint', x5t);
    } catch (error) {
      if (!(error instanceof MachineClientRejection)) throw error;
      this.audit.publish({ type: 'auth.failure', outcome: 'failure', reason: error.reason, details: { clientId: error.clientId ?? clientId } });
      if (error.error === 'invalid_client') {
        // RFC 6749 §5.2: 401 with a challenge when the client tried HTTP Basic.
        rawResponse(response).setHeader('WWW-Authenticate', 'Basic realm="token"');
        throw new UnauthorizedException('invalid_client');
      }
      throw new BadRequestException(error.error);
    }
  }

  /**
   * The identity a registered, live client sends its microservice messages under: pass it to
   * `ServiceTokens.issue()` / `client()` (`service` is the client id, so the message principal's subject
   * is `service:<id>`, the same as its HTTP tokens'). The scopes must be among the client's; a revoked
   * or unknown client gets none. Asked again whenever the caller builds a new message client.
   */
  async messageIdentity(clientId: string, audience: string, scopes?: readonly string[]): Promise<{ service: string; audience: string; scopes: string[] }> {
    this.options();
    const row = typeof clientId === 'string' && CLIENT_ID.test(clientId) ? await this.client(clientId) : undefined;
    if (!row || row.revoked) throw new TypeError(`no live machine client "${clientId}"`);
    const granted = scopes === undefined ? [...row.scopes] : [...scopes];
    const outside = granted.filter((scope) => !row.scopes.includes(scope));
    if (outside.length > 0) throw new TypeError(`machine client "${clientId}" does not hold ${outside.join(', ')}`);
    return { service: row.id, audience, scopes: granted };
  }

  /** Whether `clientId` is registered and not revoked: for a message receiver that checks its senders against the registry. */
  async isLive(clientId: string): Promise<boolean> {
    if (typeof clientId !== 'string' || !CLIENT_ID.test(clientId)) return false;
    const row = await this.client(clientId);
    return row !== undefined && !row.revoked;
  }

  /**
   * A token for a client already trusted by the caller's own process (a worker holding its secret
   * through configuration calls this in-process instead of over HTTP). The client must be registered and live.
   */
  async issueFor(clientId: string, clientSecret: string, scope?: string): Promise<ClientCredentialsResponse> {
    const client = await this.bySecret(clientId, clientSecret);
    return this.issue(client.id, this.grantedScopes(client, scope), undefined, 'in_process');
  }

  private async issue(clientId: string, scopes: string[], jkt: string | undefined, via: string, x5t?: string): Promise<ClientCredentialsResponse> {
    const options = this.options();
    const subject = MACHINE_SUBJECT_PREFIX + clientId;
    let issued: IssuedAccessToken;
    if (this.sessions.enabled) {
      // A session per issuance, so that revoking the client revokes its tokens (the per-request session
      // check). Its refresh token is never handed out (RFC 6749 §4.4.3): it exists only as a hash.
      const session = await this.sessions.create(subject, { scopes, authMethods: [] });
      issued = this.tokens.issueAccessToken({ subject, scopes, clientId, sessionId: session.sessionId, dpop: jkt ? { jkt } : undefined, certificateThumbprint: x5t, lifetime: options.accessTokenTtl });
    } else {
      issued = this.tokens.issueAccessToken({ subject, scopes, clientId, dpop: jkt ? { jkt } : undefined, certificateThumbprint: x5t, lifetime: options.accessTokenTtl });
    }
    this.audit.publish({ type: 'client.token_issued', outcome: 'success', principal: { subject }, details: { clientId, scopes: scopes.join(' '), via, dpop: jkt !== undefined, mtls: x5t !== undefined } });
    return { access_token: issued.accessToken, token_type: issued.tokenType, expires_in: issued.expiresIn, scope: scopes.join(' ') };
  }

  private grantedScopes(client: ClientRow, requested: unknown): string[] {
    if (requested === undefined || requested === '') return [...client.scopes];
    if (typeof requested !== 'string') throw new MachineClientRejection('invalid_request', 'scope_not_a_string', client.id);
    const asked = [...new Set(requested.split(' ').filter(Boolean))];
    if (asked.some((scope) => !client.scopes.includes(scope))) throw new MachineClientRejection('invalid_scope', 'scope_not_allowed', client.id);
    return asked;
  }

  private async authenticateClient(request: object, body: Record<string, unknown>): Promise<ClientRow> {
    const basic = basicCredentials(rawRequest(request).headers.authorization);
    const methods = [basic !== undefined, body.client_secret !== undefined, body.client_assertion !== undefined].filter(Boolean).length;
    // RFC 6749 §2.3: a client must not use more than one authentication method per request.
    if (methods > 1) throw new MachineClientRejection('invalid_client', 'client_authentication_ambiguous');
    if (methods === 0) return this.byCertificate(request, body.client_id);
    if (body.client_assertion !== undefined) {
      if (body.client_assertion_type !== JWT_BEARER_ASSERTION || typeof body.client_assertion !== 'string') {
        throw new MachineClientRejection('invalid_client', 'client_assertion_type_unsupported');
      }
      return this.byAssertion(body.client_assertion, body.client_id);
    }
    const [id, secret] = basic ?? [body.client_id, body.client_secret];
    return this.bySecret(id, secret);
  }

  /** RFC 8705 §2.2: the client names itself (`client_id`) and the TLS handshake proves it holds the registered certificate's key. */
  private async byCertificate(request: object, id: unknown): Promise<ClientRow> {
    if (typeof id !== 'string' || !CLIENT_ID.test(id)) throw new MachineClientRejection('invalid_client', 'client_authentication_missing');
    let presented: string | undefined;
    try {
      presented = clientCertificateThumbprint(request, this.senderConstraint.mtls);
    } catch (error) {
      if (error instanceof DpopRejection) throw new MachineClientRejection('invalid_client', error.reason, id);
      throw error;
    }
    const row = await this.client(id);
    const expected = row?.auth_method === 'self_signed_tls_client_auth' ? row.jwks?.x5tS256 : undefined;
    const matches = presented !== undefined && typeof expected === 'string' && expected.length === presented.length && timingSafeEqual(Buffer.from(presented), Buffer.from(expected));
    if (!row || !matches) throw new MachineClientRejection('invalid_client', presented ? 'client_certificate_mismatch' : 'client_certificate_missing', id);
    if (row.revoked) throw new MachineClientRejection('invalid_client', 'client_revoked', id);
    return row;
  }

  private async bySecret(id: unknown, secret: unknown): Promise<ClientRow> {
    if (typeof id !== 'string' || !CLIENT_ID.test(id) || typeof secret !== 'string' || !SECRET.test(secret)) {
      throw new MachineClientRejection('invalid_client', 'client_credentials_malformed');
    }
    const row = await this.client(id);
    const presented = sha256(secret);
    // Both hashes are compared, in constant time, whatever the first says: the time does not tell which matched.
    const current = timingSafeEqual(presented, hashOf(row?.secret_hash));
    const previous = timingSafeEqual(presented, hashOf(row?.previous_live ? row.previous_secret_hash : null));
    if (!row || row.auth_method !== 'client_secret' || !(current || previous)) throw new MachineClientRejection('invalid_client', 'client_secret_mismatch', id);
    if (row.revoked) throw new MachineClientRejection('invalid_client', 'client_revoked', id);
    return row;
  }

  /** RFC 7523 §3: iss = sub = client_id, aud = this token endpoint, exp, a jti never seen before, signed by a registered key. */
  private async byAssertion(assertion: string, declaredId: unknown): Promise<ClientRow> {
    const options = this.options();
    let jws;
    try {
      jws = decodeJws(assertion);
    } catch (error) {
      if (error instanceof AccessTokenRejection) throw new MachineClientRejection('invalid_client', 'client_assertion_malformed');
      throw error;
    }
    const { header, claims } = jws;
    const id = claims.sub;
    if (typeof id !== 'string' || !CLIENT_ID.test(id) || claims.iss !== id || (declaredId !== undefined && declaredId !== id)) {
      throw new MachineClientRejection('invalid_client', 'client_assertion_subject');
    }
    const alg = typeof header.alg === 'string' ? ASSERTION_ALGORITHMS[header.alg] : undefined;
    if (!alg || 'jku' in header || 'jwk' in header || 'x5u' in header || 'crit' in header) throw new MachineClientRejection('invalid_client', 'client_assertion_header', id);
    const row = await this.client(id);
    if (!row || row.auth_method !== 'private_key_jwt' || !row.jwks) throw new MachineClientRejection('invalid_client', 'client_unknown', id);
    const candidates = row.jwks.keys.filter((key) => header.kid === undefined || (key as { kid?: unknown }).kid === header.kid);
    const verified = candidates.some((jwk) => {
      let key: KeyObject;
      try {
        key = createPublicKey({ key: jwk, format: 'jwk' });
      } catch {
        return false;
      }
      return fits(key, alg) && verifyJwsSignature(jws, alg, key);
    });
    if (!verified) throw new MachineClientRejection('invalid_client', 'client_assertion_signature', id);
    if (!options.tokenEndpoint) throw new ZeroTrustConfigurationError('private_key_jwt needs machineClients.tokenEndpoint: the URL clients address their assertions to.');
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!audiences.includes(options.tokenEndpoint)) throw new MachineClientRejection('invalid_client', 'client_assertion_audience', id);
    const now = this.clock.now() / 1000;
    const { exp, iat, jti } = claims;
    if (typeof exp !== 'number' || exp <= now) throw new MachineClientRejection('invalid_client', 'client_assertion_expired', id);
    const issuedAt = typeof iat === 'number' ? iat : now;
    if (issuedAt > now + 60 || exp - issuedAt > options.maxAssertionLifetime) throw new MachineClientRejection('invalid_client', 'client_assertion_lifetime', id);
    if (typeof jti !== 'string' || jti.length < 8 || jti.length > 256) throw new MachineClientRejection('invalid_client', 'client_assertion_jti', id);
    if (row.revoked) throw new MachineClientRejection('invalid_client', 'client_revoked', id);
    // Last, once everything else held: RFC 7523 §3 item 7, one use per jti, on every instance sharing the store.
    // A single-use flag (`claim`, SET NX), like DPoP and service-token jtis: a counter in the memory store could be
    // evicted by a flood of other keys, and the assertion replayed.
    let first: boolean;
    try {
      first = await this.store.claim(`client-assertion:${createHash('sha256').update(`${id}\n${jti}`).digest('base64url')}`, Math.ceil((exp - now + 60) * 1000));
    } catch (error) {
      try {
        this.storeFailures.handle(error, 'auth');
      } catch {
        // Reported; refused below whatever the policy says: a replay cannot be told from a first use.
      }
      throw new ServiceUnavailableException('Service temporarily unavailable');
    }
    if (!first) throw new MachineClientRejection('invalid_client', 'client_assertion_replay', id);
    return row;
  }

  private async client(id: string): Promise<ClientRow | undefined> {
    const db = await this.dataSources.get();
    const [row] = await rows<ClientRow>(
      db,
      `SELECT id, scopes, auth_method, secret_hash, previous_secret_hash, (previous_expires_at IS NOT NULL AND previous_expires_at > now()) AS previous_live,
              jwks, revoked_at IS NOT NULL AS revoked
       FROM zt_machine_clients WHERE id = $1`,
      [id],
    );
    return row;
  }

  private options() {
    if (!this.config.machineClients) throw new ZeroTrustConfigurationError('machine clients are turned off (`machineClients: false`).');
    return this.config.machineClients;
  }
}

function hashOf(hex: string | null | undefined): Buffer {
  return hex ? Buffer.from(hex, 'hex') : DUMMY_HASH;
}

function fits(key: KeyObject, alg: JwsAlgorithm): boolean {
  if (alg === 'ES256') return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  if (alg === 'RS256') return key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048;
  return key.asymmetricKeyType === 'ed25519';
}

/** RFC 7617 Basic credentials, with RFC 6749 §2.3.1's form-encoding of id and secret undone. */
function basicCredentials(header: unknown): [string, string] | undefined {
  if (typeof header !== 'string' || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return ['', ''];
  try {
    return [decodeURIComponent(decoded.slice(0, colon)), decodeURIComponent(decoded.slice(colon + 1))];
  } catch {
    return ['', ''];
  }
}
