import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import type { ZeroTrustModuleOptions } from 'nestjs-zero-trust';

/** RFC 7638 thumbprint: a stable `kid` derived from the key itself. */
function thumbprint(privateKeyPem: string): string {
  const jwk = createPublicKey(createPrivateKey(privateKeyPem)).export({ format: 'jwk' });
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(canonical).digest('base64url');
}

/**
 * Keys come from the environment (`ZT_JWT_PRIVATE_KEY`, a PKCS#8 PEM for ES256). Without one the
 * module generates an ephemeral key and says so loudly; in production it refuses to start.
 */
export function zeroTrustOptions(env: NodeJS.ProcessEnv = process.env): ZeroTrustModuleOptions {
  const pem = env.ZT_JWT_PRIVATE_KEY?.replace(/\\n/g, '\n');
  return {
    issuer: env.ZT_ISSUER ?? 'http://localhost:3000',
    audience: env.ZT_AUDIENCE ?? 'notes-api',
    keys: pem ? [{ kid: env.ZT_JWT_KID ?? thumbprint(pem), alg: 'ES256', privateKey: pem }] : undefined,
  };
}
