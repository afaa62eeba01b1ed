import { SENSITIVE_FIELDS_KEY } from './authz.constants.js';

/**
 * Marks an entity or DTO property that must never leave the server (password and token hashes,
 * TOTP secrets). It is removed from every response body, however the handler built it.
 */
export const Sensitive = (): PropertyDecorator => (target, property) => {
  const fields: string[] = Reflect.getMetadata(SENSITIVE_FIELDS_KEY, target.constructor) ?? [];
  Reflect.defineMetadata(SENSITIVE_FIELDS_KEY, [...fields, String(property)], target.constructor);
};
