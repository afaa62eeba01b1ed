import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import {
  ApiKeyAuth,
  ApiKeyService,
  AuthThrottle,
  Authenticated,
  CurrentUser,
  MachineClientService,
  Public,
  RequireMfa,
  Scopes,
  type ZeroTrustPrincipal,
} from 'nestjs-zero-trust';
import { ClientCredentialsDto, NewApiKeyDto } from './clients.dto.js';

/**
 * Callers that are not people: one machine client (the client-credentials grant) and API keys for
 * integrations that cannot do OAuth.
 */
@Controller()
export class ClientsController {
  constructor(
    private readonly clients: MachineClientService,
    private readonly apiKeys: ApiKeyService,
  ) {}

  /**
   * The token endpoint (RFC 6749 §4.4). JSON rather than form-encoded: this app accepts JSON bodies
   * only, and widening that to `application/x-www-form-urlencoded` would let any web page post to its
   * cookie-authenticated refresh route (a form post needs no CORS preflight). A DPoP header binds the token.
   */
  @Public()
  @AuthThrottle()
  @Post('oauth/token')
  @HttpCode(200)
  token(@Body() dto: ClientCredentialsDto, @Req() request: object, @Res({ passthrough: true }) response: object) {
    return this.clients.tokenEndpoint(request, response, { ...dto });
  }

  /** An API key for the caller's own integrations, with the one scope the integration route needs; shown once. */
  @Authenticated()
  @Post('integrations/api-keys')
  createApiKey(@CurrentUser() user: ZeroTrustPrincipal, @Body() dto: NewApiKeyDto) {
    return this.apiKeys.create({ name: dto.name, owner: user.ownerId, scopes: ['integrations:whoami'], expiresIn: 90 * 24 * 3600 });
  }

  /** The API-key route: who is calling, as the module resolved the key. */
  @ApiKeyAuth('integrations:whoami')
  @Get('integrations/whoami')
  whoami(@CurrentUser() caller: ZeroTrustPrincipal) {
    return { owner: caller.ownerId, key: caller.claims.api_key_id, scopes: caller.scopes };
  }

  /** What the machine client sees: its service identity. */
  @Scopes('notes:stats')
  @Get('service/whoami')
  service(@CurrentUser() caller: ZeroTrustPrincipal) {
    return { subject: caller.subject, clientId: caller.claims.client_id, scopes: caller.scopes };
  }

  /** Operators register the machine client; its secret is shown once. */
  @RequireMfa()
  @Scopes('users:admin')
  @Post('admin/machine-clients')
  registerWorker() {
    return this.clients.register({ id: 'stats-worker', name: 'Nightly statistics', scopes: ['notes:stats'], authMethod: 'client_secret' });
  }
}
