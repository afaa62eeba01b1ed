import 'reflect-metadata';
import { PGlite } from '@electric-sql/pglite';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZeroTrustPrincipal } from '../../lib/core/principal.interface.js';
import { RequestContexts } from '../../lib/core/request-context.js';
import { exclusivePGliteDriver } from '../../lib/database/exclusive-pglite.driver.js';
import { RlsContext } from '../../lib/database/rls-context.js';
import { RlsIdentities, RlsIdentity } from '../../lib/database/rls-identity.js';

function principal(ownerId: string): ZeroTrustPrincipal {
  return { subject: ownerId, ownerId, issuer: 'https://api.test', scopes: [], roles: [], authMethods: ['pwd'], claims: {} } as unknown as ZeroTrustPrincipal;
}

/**
 * `RlsContext.run` (a job's transaction, or a GraphQL field's or a message's ownership lookup) is found
 * by `RlsContext.manager()` through the async flow. Code that flow reaches for ANOTHER caller (an event
 * published inside A's transaction and delivered to B's subscription, say) must not get A's transaction:
 * its queries would run under A's identity and see A's rows.
 */
describe('RlsContext.run hands its transaction only to its own principal', () => {
  let pglite: PGlite;
  let dataSource: DataSource;

  beforeAll(async () => {
    pglite = await PGlite.create();
    dataSource = await new DataSource({ type: 'postgres', driver: exclusivePGliteDriver(pglite) } as never).initialize();
    RlsIdentities.register(dataSource, new RlsIdentity(randomBytes(32)));
  });

  afterAll(async () => {
    // The driver closes its PGlite with the DataSource.
    await dataSource?.destroy();
  });

  it("is found by A's work, by A's own request context, and never by B's", async () => {
    const alice = principal('alice');
    const seen: Record<string, boolean> = {};
    await RlsContext.run(dataSource, alice, async (manager) => {
      seen.job = RlsContext.manager() === manager;
      const aliceCall = RequestContexts.derive({}, { clientIp: 'internal' });
      aliceCall.principal = alice;
      seen.aliceCall = RequestContexts.enter(aliceCall, () => RlsContext.manager() === manager);
      // B's call, reached synchronously from inside A's transaction (an in-process event).
      const bobCall = RequestContexts.derive({}, { clientIp: 'internal' });
      bobCall.principal = principal('bob');
      seen.bobCall = RequestContexts.enter(bobCall, () => RlsContext.manager() !== undefined);
      // And asynchronously, later in the same flow.
      seen.bobLater = await RequestContexts.enter(bobCall, async () => {
        await new Promise((resolve) => setImmediate(resolve));
        return RlsContext.manager() !== undefined;
      });
    });
    expect(seen).toEqual({ job: true, aliceCall: true, bobCall: false, bobLater: false });
  });
});
