import { SetMetadata } from '@nestjs/common';
import { AUTHENTICATED_KEY } from './authz.constants.js';

/**
 * "Any signed-in user may call this": the explicit rule for routes whose data is scoped some other
 * way (e.g. through an `OwnedRepository`). Writing it down is the point: a route with no rule at
 * all is refused at boot in strict mode.
 */
export const Authenticated = () => SetMetadata(AUTHENTICATED_KEY, true);
