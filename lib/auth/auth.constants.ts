/** Metadata key of `@Public()`. */
export const IS_PUBLIC_KEY = 'zero-trust:public';
