/** Metadata key: the route reads or writes owned rows, so it runs in the request's row-level-security transaction. */
export const ROW_LEVEL_SECURITY_KEY = 'zero-trust:row-level-security';
