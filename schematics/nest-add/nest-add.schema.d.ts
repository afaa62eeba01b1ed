/** Options of the `nest-add` schematic (`nest add nestjs-zero-trust`; see schema.json). */
export interface NestAddOptions {
  /** Folder of the application's sources; the Nest CLI passes the project's. Default `src`. */
  sourceRoot?: string;
  /** Root module file, relative to sourceRoot. Default `app.module.ts`. */
  module?: string;
  /** `report` lists routes without an authorization rule at boot; `strict` refuses to start with any. Default `report`. */
  authorization?: 'report' | 'strict';
  /** Do not run the package manager after adding dependencies. */
  skipInstall?: boolean;
}
