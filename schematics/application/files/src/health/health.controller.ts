import { Controller, Get } from '@nestjs/common';
import { Public, SecurityHeaders, TokenService } from 'nestjs-zero-trust';

@Public()
@Controller()
export class HealthController {
  constructor(private readonly tokens: TokenService) {}

  @Get('health')
  health() {
    return { status: 'ok' };
  }

  /** Public keys only; clients and other services may cache them briefly. */
  @Get('.well-known/jwks.json')
  @SecurityHeaders({ 'Cache-Control': 'public, max-age=300' })
  jwks() {
    return this.tokens.publicJwks();
  }
}
