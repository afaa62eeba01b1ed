import { BadRequestException, Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { AuthThrottle, DpopProofVerifier, Public, SessionService } from 'nestjs-zero-trust';
import { AuthService } from '../auth/auth.service.js';
import { LoginDto, RefreshDto } from '../auth/credentials.dto.js';

/**
 * DPoP login and refresh (RFC 9449 §5): the same flows as /auth/login and /auth/refresh, for clients
 * that hold a key pair (a browser's non-extractable WebCrypto key, a mobile app's keystore key). The
 * proof is verified first; SessionService then binds the session, its refresh tokens and every access
 * token it yields to the proof's key. A stolen token or refresh token is useless without that key.
 */
@Controller('auth/dpop')
export class DpopAuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly sessions: SessionService,
    private readonly dpop: DpopProofVerifier,
  ) {}

  @Public()
  @AuthThrottle()
  @Post('login')
  @HttpCode(200)
  async login(@Body() dto: LoginDto, @Req() request: object, @Res({ passthrough: true }) response: object) {
    if (!(await this.dpop.forTokenRequest(request, response))) return this.missingProof();
    return this.auth.login(dto.email, dto.password, dto.otp);
  }

  @Public()
  @AuthThrottle()
  @Post('refresh')
  @HttpCode(200)
  async refresh(@Body() dto: RefreshDto, @Req() request: object, @Res({ passthrough: true }) response: object) {
    if (!(await this.dpop.forTokenRequest(request, response))) return this.missingProof();
    return this.sessions.rotate(dto.refreshToken);
  }

  /** These routes exist for bound sessions only: without a proof, /auth/login is the one to call. */
  private missingProof(): never {
    throw new BadRequestException('invalid_dpop_proof');
  }
}
