import type { Rule, SchematicContext, Tree } from '@angular-devkit/schematics';
import { renderRoleMigration } from 'nestjs-zero-trust';
import { posix } from 'node:path';
import { SchematicsException } from '../utils/toolchain.js';
import type { RoleMigrationOptions } from './role-migration.schema.js';

/**
 * `nest g -c nestjs-zero-trust role-migration`: the same file the `nestjs-zero-trust-role-migration`
 * CLI writes, through the tree (so --dry-run is honest). Unlike the other schematics it has no
 * `files/` template: the library renders the migration, so the CLI and the schematic cannot drift
 * apart, and the role names are validated by the same code that builds the SQL.
 */
export function roleMigration(options: RoleMigrationOptions): Rule {
  return (tree: Tree, context: SchematicContext) => {
    const ownerRole = options.ownerRole || (options.name ? `${options.name}_owner` : undefined);
    const runtimeRole = options.runtimeRole || (options.name ? `${options.name}_app` : undefined);
    if (!ownerRole || !runtimeRole) {
      throw new SchematicsException(
        'Name the roles: `nest g -c nestjs-zero-trust role-migration <name>` writes <name>_owner and <name>_app ' +
          '(for other names, row-level security and append-only tables: npx nestjs-zero-trust-role-migration --help).',
      );
    }
    let file: ReturnType<typeof renderRoleMigration>;
    try {
      file = renderRoleMigration({
        ownerRole,
        runtimeRole,
        rowLevelSecurity: options.rls,
        appendOnly: options.appendOnly,
        runtimePasswordEnv: options.passwordEnv,
      });
    } catch (error) {
      throw new SchematicsException((error as Error).message);
    }
    const path = posix.join(options.path || 'src/migrations', file.fileName);
    if (tree.exists(path)) throw new SchematicsException(`${path} already exists.`);
    tree.create(path, file.source);
    context.logger.info(`${file.className}: add it to your DataSource's migrations, run migrations as the owner, serve as ${runtimeRole}.`);
  };
}
