import { PlanPart } from '../core/route-plan.js';
import { API_KEY_SCOPES_KEY } from './clients.constants.js';

export interface ClientsPlan {
  /** `@ApiKeyAuth(...scopes)`: the scopes the key needs (all of them), from the controller and the handler. */
  readonly apiKeyScopes: readonly string[];
}

export const CLIENTS_PLAN = new PlanPart<ClientsPlan>('clients', (route) => ({ apiKeyScopes: route.merge<string>(API_KEY_SCOPES_KEY) }));
