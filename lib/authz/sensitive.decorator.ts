import { Exclude } from 'class-transformer';
import { SENSITIVE_FIELDS_KEY } from './authz.constants.js';
import { SensitiveFieldRegistry } from './sensitive-fields.js';

/**
 * Marks an entity or DTO property that must never leave the server (password and token hashes,
 * TOTP secrets). It is removed from every response body however the handler built it: the instance,
 * a spread or `Object.assign` copy, a JSON round trip, a raw row of `dataSource.query()` (under the
 * property's name in any case or with underscores, or under its TypeORM column name). The match is by
 * name in every object of every response, so give a field the API must return a name no `@Sensitive()`
 * property has. It is also excluded from class-transformer's `instanceToPlain` (so Nest's
 * `ClassSerializerInterceptor` never emits it, even under an `@Expose({ name })` alias the name match
 * would not know).
 */
export const Sensitive = (): PropertyDecorator => (target, property) => {
  Exclude({ toPlainOnly: true })(target, property as string);
  const fields: string[] = Reflect.getMetadata(SENSITIVE_FIELDS_KEY, target.constructor) ?? [];
  Reflect.defineMetadata(SENSITIVE_FIELDS_KEY, [...fields, String(property)], target.constructor);
  SensitiveFieldRegistry.add(target.constructor);
};
