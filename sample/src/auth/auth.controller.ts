import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { Public } from 'nestjs-zero-trust';
import { AuthService } from './auth.service.js';
import { LoginDto, RegisterDto } from './credentials.dto.js';

@Public()
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('register')
  register(@Body() dto: RegisterDto) {
    return this.auth.register(dto.email, dto.password);
  }

  @Post('login')
  @HttpCode(200)
  login(@Body() dto: LoginDto) {
    return this.auth.login(dto.email, dto.password);
  }
}
