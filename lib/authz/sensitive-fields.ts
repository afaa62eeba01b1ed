import { SENSITIVE_FIELDS_KEY } from './authz.constants.js';

/**
 * One spelling per field name: `passwordHash`, `password_hash`, `PASSWORD-HASH` are the same field,
 * so a raw row under TypeORM's snake-case column name is matched by the property's name.
 */
export function fieldNameKey(name: string): string {
  return name.replace(/[^A-Za-z0-9]/g, '').toLowerCase();
}

const classes = new Set<Function>();
let revision = 0;

/**
 * The classes that declare `@Sensitive()` properties, process-wide. A decorator runs when its class is
 * defined, before any module exists, so the list cannot belong to one app; a field marked in one app
 * is then also stripped from another app's responses in the same process, which errs the safe way.
 */
export const SensitiveFieldRegistry = {
  add(type: Function): void {
    if (!classes.has(type)) {
      classes.add(type);
      revision++;
    }
  },

  /** Changes whenever a class is added, so readers know when to rebuild what they derived. */
  get revision(): number {
    return revision;
  },

  classes(): Iterable<Function> {
    return classes;
  },

  /** The `@Sensitive()` properties of a class, its ancestors' included. */
  fieldsOf(type: Function): readonly string[] {
    return (Reflect.getMetadata(SENSITIVE_FIELDS_KEY, type) as string[] | undefined) ?? [];
  },
};
