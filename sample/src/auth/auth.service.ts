import { Injectable, UnauthorizedException } from '@nestjs/common';
import { type IssuedAccessToken, TokenService } from 'nestjs-zero-trust';
import { UsersService } from '../users/users.service.js';
import { decoyHash, hashPassword, verifyPassword } from './password-hasher.js';

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly tokens: TokenService,
  ) {}

  async register(email: string, password: string) {
    return this.users.create(email, await hashPassword(password));
  }

  /** One answer for an unknown email and a wrong password: same status, body and argon2 cost. */
  async login(email: string, password: string): Promise<IssuedAccessToken> {
    const user = await this.users.findForLogin(email);
    const valid = await verifyPassword(user?.passwordHash ?? (await decoyHash()), password);
    if (!user || !valid) throw new UnauthorizedException('Invalid email or password');
    return this.tokens.issueAccessToken({ subject: user.id, scopes: user.scopes, authMethods: ['pwd'] });
  }
}
