import type { Rule } from '@angular-devkit/schematics';
import { posix } from 'node:path';
import { testedVersion } from '../utils/own-manifest.js';
import { apply, filter, mergeWith, move, noop, SchematicsException, strings, template, url } from '../utils/toolchain.js';
import type { ApplicationOptions } from './application.schema.js';

const DEFAULT_DESCRIPTION = 'A zero-trust API made with nestjs-zero-trust';

/** What the templates in `files/` are rendered with. */
interface ApplicationTemplateOptions {
  /** npm package name (kebab case). */
  name: string;
  /** A plain SQL identifier made from the name: the database roles are `<roleBase>_owner` and `<roleBase>_app`. */
  roleBase: string;
  description: string;
  author: string;
  directory: string;
  skipTests: boolean;
}

/**
 * `nest new my-api -c nestjs-zero-trust`: a complete zero-trust API rendered from `files/` (users,
 * sessions and MFA, an owned resource, least-privilege roles with row-level security, the audit
 * trail, attack tests), with dependencies pinned to the versions this package is tested with.
 */
export function application(raw: ApplicationOptions): Rule {
  return mergeWith(generate(normalize(raw)));
}

function normalize(options: ApplicationOptions): ApplicationTemplateOptions {
  if (!options.name) throw new SchematicsException('A project name is required: nest new <name> -c nestjs-zero-trust');
  const name = strings.dasherize(posix.basename(String(options.name)).trim());
  if (!/^[a-z0-9][a-z0-9._~-]*$/.test(name)) {
    throw new SchematicsException(`"${options.name}" cannot be a package name: use lower-case letters, digits, dashes and dots.`);
  }
  const identifier = name.replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  const directory = !options.directory || options.directory === 'undefined' ? name : options.directory;
  return {
    name,
    // PostgreSQL identifiers start with a letter and stop at 63 bytes; the suffixes need 6.
    roleBase: (/^[a-z]/.test(identifier) ? identifier : `app_${identifier}`).slice(0, 50),
    description: options.description || DEFAULT_DESCRIPTION,
    author: options.author ?? '',
    directory,
    skipTests: options.skipTests === true || options.spec === false,
  };
}

function generate(options: ApplicationTemplateOptions) {
  return apply(url('./files'), [
    options.skipTests ? filter((path) => !path.startsWith('/test/')) : noop(),
    template({
      ...options,
      // npm leaves dotfiles such as .gitignore out of packages: they travel as __dot__gitignore.
      dot: '.',
      // package.json stays valid JSON as a template too: free text goes in escaped, between the quotes.
      jsonText: (value: string) => JSON.stringify(value).slice(1, -1),
      version: testedVersion,
      // @nestjs/schematics (the default collection: `nest g controller` and the rest) ships with the CLI's major.
      sameMajor: (name: string) => `^${/\d+/.exec(testedVersion(name))?.[0]}.0.0`,
    }),
    move(options.directory),
  ]);
}
