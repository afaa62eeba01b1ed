import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { ClientsController } from './clients.controller.js';
import { DpopAuthController } from './dpop-auth.controller.js';

/** DPoP login and refresh, one machine client and the API-key route of the sample. */
@Module({
  imports: [AuthModule],
  controllers: [DpopAuthController, ClientsController],
})
export class ClientsModule {}
