/** Options of the `application` schematic, as `nest new <name> -c nestjs-zero-trust` passes them (see schema.json). */
export interface ApplicationOptions {
  /** Project name: the package name, the JWT audience, the Redis key prefix and the roles' prefix. */
  name: string;
  /** Folder to create the project in. Default: the name. */
  directory?: string;
  /** Project description (package.json, README). */
  description?: string;
  /** Project author (package.json). */
  author?: string;
  /** Leave the attack tests out. */
  skipTests?: boolean;
  /** npm, yarn or pnpm: the Nest CLI installs with it. */
  packageManager?: string;
  /** Accepted for `nest new` compatibility; the rest of what `nest new` passes is ignored too. */
  strict?: boolean;
  skipInstall?: boolean;
  skipGit?: boolean;
  language?: string;
  version?: string;
  spec?: boolean;
  specFileSuffix?: string;
  type?: string;
}
