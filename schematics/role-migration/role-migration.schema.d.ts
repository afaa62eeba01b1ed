/** Options of the `role-migration` schematic (see schema.json). */
export interface RoleMigrationOptions {
  /** NOLOGIN role that owns the schema and tables. */
  ownerRole: string;
  /** LOGIN role the app serves with. */
  runtimeRole: string;
  /** Entities under row-level security: `Entity[:ownerProperty[:adminScope]]`. */
  rls?: string[];
  /** Append-only entities (INSERT only). */
  appendOnly?: string[];
  /** Environment variable with the runtime role's password. Default `DATABASE_RUNTIME_PASSWORD`. */
  passwordEnv?: string;
  /** Folder to write the migration to. Default `src/migrations`. */
  path?: string;
}
