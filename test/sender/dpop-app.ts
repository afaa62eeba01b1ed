import { Controller, Get, HttpCode, type INestApplication, Module, Post, Req, Res } from '@nestjs/common';
import {
  Authenticated,
  CurrentUser,
  DpopProofVerifier,
  Public,
  RequireSenderConstraint,
  TokenService,
  ZeroTrustModule,
  type ZeroTrustModuleOptions,
  type ZeroTrustPrincipal,
} from 'nestjs-zero-trust';
import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { bootstrapApp, type Platform, TEST_AUDIENCE, TEST_ISSUER } from '../support/test-app.js';

/** The issuer's signing key of every DPoP test app: tokens minted by one app verify on another (two instances). */
export const SIGNING_KEY = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;

/** A resource server that also issues DPoP-bound tokens, as an authorization server's token endpoint would. */
@Controller()
export class DpopProbeController {
  constructor(
    private readonly tokens: TokenService,
    private readonly dpop: DpopProofVerifier,
  ) {}

  @Authenticated()
  @Get('me')
  me(@CurrentUser() user: ZeroTrustPrincipal) {
    return { subject: user.subject, cnf: user.claims.cnf ?? null };
  }

  @Authenticated()
  @Get('items/:id')
  item() {
    return { item: true };
  }

  @Authenticated()
  @RequireSenderConstraint()
  @Get('strict')
  strict() {
    return { strict: true };
  }

  @Authenticated()
  @RequireSenderConstraint(false)
  @Get('relaxed')
  relaxed() {
    return { relaxed: true };
  }

  /** Binds the token to the proof's key when the client sends one (RFC 9449 §5), else issues a bearer token. */
  @Public()
  @HttpCode(200)
  @Post('token')
  async token(@Req() request: object, @Res({ passthrough: true }) response: object) {
    const proof = await this.dpop.forTokenRequest(request, response);
    return this.tokens.issueAccessToken({ subject: 'user-1', scopes: ['notes:read'], dpop: proof });
  }
}

export interface DpopProbe {
  app: INestApplication;
  audit: CaptureAuditSink;
  /** `http://127.0.0.1:<port>`: what the client puts in `htu`. */
  base: string;
}

export async function createDpopApp(platform: Platform, options: Partial<ZeroTrustModuleOptions> = {}): Promise<DpopProbe> {
  const audit = new CaptureAuditSink();
  @Module({
    imports: [
      ZeroTrustModule.forRoot({
        issuer: TEST_ISSUER,
        audience: TEST_AUDIENCE,
        keys: [{ kid: 'k1', alg: 'ES256', privateKey: SIGNING_KEY }],
        auditSinks: [audit],
        audit: { authSuccess: 'all' },
        // Attack suites send many refused requests from one address; the budget is tested in test/auth.
        authFailureLimit: false,
        ...options,
      }),
    ],
    controllers: [DpopProbeController],
  })
  class DpopProbeModule {}
  const app = await bootstrapApp(DpopProbeModule, platform, true);
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, audit, base: `http://127.0.0.1:${port}` };
}
