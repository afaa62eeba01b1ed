/** Metadata keys of the authorization decorators, namespaced so they never collide with an app's own. */
export const SCOPES_KEY = 'zero-trust:scopes';
export const ROLES_KEY = 'zero-trust:roles';
export const AUTHENTICATED_KEY = 'zero-trust:authenticated';
export const OWNS_RESOURCE_KEY = 'zero-trust:owns-resource';
export const SENSITIVE_FIELDS_KEY = 'zero-trust:sensitive-fields';
