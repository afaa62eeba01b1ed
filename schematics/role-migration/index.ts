import { type Rule, SchematicsException, type SchematicContext, type Tree } from '@angular-devkit/schematics';
import { renderRoleMigration } from 'nestjs-zero-trust';
import { posix } from 'node:path';

export interface RoleMigrationOptions {
  ownerRole: string;
  runtimeRole: string;
  rls?: string[];
  appendOnly?: string[];
  passwordEnv?: string;
  path?: string;
}

/** `nest g -c nestjs-zero-trust role-migration`: the same file the CLI writes, through the Tree (so --dry-run is honest). */
export function roleMigration(options: RoleMigrationOptions): Rule {
  return (tree: Tree, context: SchematicContext) => {
    let file;
    try {
      file = renderRoleMigration({
        ownerRole: options.ownerRole,
        runtimeRole: options.runtimeRole,
        rowLevelSecurity: options.rls,
        appendOnly: options.appendOnly,
        runtimePasswordEnv: options.passwordEnv,
      });
    } catch (error) {
      throw new SchematicsException((error as Error).message);
    }
    const path = posix.join(options.path ?? 'src/migrations', file.fileName);
    tree.create(path, file.source);
    context.logger.info(`${file.className}: add it to your DataSource's migrations, run migrations as the owner, serve as ${options.runtimeRole}.`);
  };
}
