import { SetMetadata } from '@nestjs/common';
import { ROW_LEVEL_SECURITY_KEY } from './database.constants.js';

/**
 * Runs the route in the request's row-level-security transaction (see `rowLevelSecurity`) although it
 * declares no `@OwnsResource` or `@Owned`: for handlers that query owned tables through `RlsContext.manager()`.
 */
export const RowLevelSecurity = () => SetMetadata(ROW_LEVEL_SECURITY_KEY, true);
