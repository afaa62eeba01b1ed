import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import {
  AuthThrottle,
  Authenticated,
  clearedRefreshCookie,
  CurrentUser,
  Public,
  readRefreshToken,
  refreshCookie,
  RequireRecentAuth,
  type SessionTokens,
  type ZeroTrustPrincipal,
} from 'nestjs-zero-trust';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { AccountService } from '../account/account.service.js';
import { AuthService } from './auth.service.js';
import { ChangePasswordDto, LoginDto, MfaCodeDto, ReauthenticateDto, RefreshDto, RegisterDto } from './credentials.dto.js';

type HttpRequest = { headers: IncomingHttpHeaders };
type HttpResponse = { raw?: ServerResponse } & Partial<ServerResponse>;

/** Express gives Nest the Node.js response; Fastify wraps it in `.raw`. */
const setCookie = (response: HttpResponse, value: string) => (response.raw ?? (response as ServerResponse)).setHeader('Set-Cookie', value);

/** In cookie mode the refresh token never appears in a body a script could read. */
function deliver(tokens: SessionTokens, cookie: boolean, response: HttpResponse) {
  if (!cookie) return tokens;
  setCookie(response, refreshCookie(tokens.refreshToken, tokens.refreshExpiresIn));
  const { refreshToken: _inCookie, ...rest } = tokens;
  return rest;
}

@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly accounts: AccountService,
  ) {}

  @Public()
  @AuthThrottle()
  @Post('register')
  register(@Body() dto: RegisterDto) {
    // The development quick start: the same answer for a new and a taken address; refused in production (POST /account/register).
    return this.accounts.quickRegister(dto.email, dto.password);
  }

  @Public()
  @AuthThrottle()
  @Post('login')
  @HttpCode(200)
  async login(@Body() dto: LoginDto, @Res({ passthrough: true }) response: HttpResponse) {
    const tokens = await this.auth.login(dto.email, dto.password, dto.otp);
    return deliver(tokens, dto.refreshTransport === 'cookie', response);
  }

  @Public()
  @AuthThrottle()
  @Post('refresh')
  @HttpCode(200)
  async refresh(@Body() dto: RefreshDto, @Req() request: HttpRequest, @Res({ passthrough: true }) response: HttpResponse) {
    const { token, fromCookie } = readRefreshToken(request.headers, dto);
    return deliver(await this.auth.refresh(token), fromCookie, response);
  }

  @Authenticated()
  @Post('logout')
  @HttpCode(204)
  async logout(@CurrentUser() user: ZeroTrustPrincipal, @Res({ passthrough: true }) response: HttpResponse) {
    await this.auth.logout(user);
    setCookie(response, clearedRefreshCookie());
  }

  @Authenticated()
  @Post('logout-all')
  @HttpCode(204)
  async logoutAll(@CurrentUser() user: ZeroTrustPrincipal, @Res({ passthrough: true }) response: HttpResponse) {
    await this.auth.logoutAll(user);
    setCookie(response, clearedRefreshCookie());
  }

  /**
   * Step-up (RFC 9470): the password, or for an account with MFA its current factor, proven again inside
   * this session. Answers a new access token whose `auth_time` is now; the routes below need one.
   */
  @Authenticated()
  @AuthThrottle()
  @Post('reauthenticate')
  @HttpCode(200)
  reauthenticate(@CurrentUser() user: ZeroTrustPrincipal, @Body() dto: ReauthenticateDto) {
    return this.auth.reauthenticate(user, dto);
  }

  /** Any user, with or without MFA, after a recent authentication (and, with MFA, of the factor). */
  @Authenticated()
  @RequireRecentAuth()
  @AuthThrottle()
  @Post('password')
  @HttpCode(204)
  changePassword(@CurrentUser() user: ZeroTrustPrincipal, @Body() dto: ChangePasswordDto) {
    return this.auth.changePassword(user, dto.currentPassword, dto.newPassword);
  }

  /** Enrols, or with MFA on resets, the authenticator: a stolen access token alone cannot. */
  @Authenticated()
  @RequireRecentAuth()
  @AuthThrottle()
  @Post('mfa/enroll')
  enroll(@CurrentUser() user: ZeroTrustPrincipal) {
    return this.auth.enrollMfa(user);
  }

  @Authenticated()
  @RequireRecentAuth()
  @AuthThrottle()
  @Post('mfa/confirm')
  @HttpCode(200)
  confirm(@CurrentUser() user: ZeroTrustPrincipal, @Body() dto: MfaCodeDto) {
    return this.auth.confirmMfa(user, dto.code);
  }

  @Authenticated()
  @RequireRecentAuth()
  @AuthThrottle()
  @Post('mfa/disable')
  @HttpCode(204)
  disableMfa(@CurrentUser() user: ZeroTrustPrincipal) {
    return this.auth.disableMfa(user);
  }

  /** Ten new one-time recovery codes; the old ones stop working. */
  @Authenticated()
  @RequireRecentAuth()
  @AuthThrottle()
  @Post('mfa/recovery-codes')
  @HttpCode(200)
  recoveryCodes(@CurrentUser() user: ZeroTrustPrincipal) {
    return this.auth.regenerateRecoveryCodes(user);
  }
}
