/** Options of the `role-migration` schematic (see schema.json). */
export interface RoleMigrationOptions {
  /**
   * Base of the role names, the positional argument of `nest g -c nestjs-zero-trust role-migration <name>`
   * (the Nest CLI passes no other option to a collection's schematic): `<name>_owner` and `<name>_app`.
   */
  name?: string;
  /** NOLOGIN role that owns the schema and tables. Default `<name>_owner`. */
  ownerRole?: string;
  /** LOGIN role the app serves with. Default `<name>_app`. */
  runtimeRole?: string;
  /** Entities under row-level security: `Entity[:ownerProperty[:adminScope]]`. */
  rls?: string[];
  /** Append-only entities (INSERT only). */
  appendOnly?: string[];
  /** Environment variable with the runtime role's password. Default `DATABASE_RUNTIME_PASSWORD`. */
  passwordEnv?: string;
  /** Folder to write the migration to. Default `src/migrations`. */
  path?: string;
}
