import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { UnitTestTree } from '@angular-devkit/schematics/testing/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Type-checks a generated project (its own tsconfig.json) without writing it anywhere: the tree's files
 * are served from memory as if they sat in a folder of this repository, so `@nestjs/*`, `typeorm` and
 * the rest resolve to this repository's node_modules, and `nestjs-zero-trust` to the library's sources.
 * Returns the diagnostics in the project's own files and in the library's entry point (the rest of the
 * library's are its own tests' business).
 */
export function typecheck(tree: UnitTestTree, project = '/'): string[] {
  const base = join(root, '.generated-project');
  const virtual = new Map(tree.files.filter((file) => file.startsWith(project)).map((file) => [join(base, file.slice(project.length)), tree.readContent(file)]));
  const config = ts.parseConfigFileTextToJson('tsconfig.json', virtual.get(join(base, 'tsconfig.json')) ?? '{}').config as { compilerOptions: object };
  const { options, errors } = ts.convertCompilerOptionsFromJson(config.compilerOptions, base);
  if (errors.length) throw new Error(ts.formatDiagnostics(errors, formatHost));
  options.noEmit = true;
  // The library's sources sit outside the project's rootDir here; in a real project they are in node_modules.
  delete options.rootDir;
  options.paths = { 'nestjs-zero-trust': [join(root, 'lib/index.ts')] };
  const host = ts.createCompilerHost(options);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.fileExists = (path) => virtual.has(path) || fileExists(path);
  host.readFile = (path) => virtual.get(path) ?? readFile(path);
  host.getSourceFile = (path, language, onError, shouldCreate) =>
    virtual.has(path) ? ts.createSourceFile(path, virtual.get(path)!, language) : getSourceFile(path, language, onError, shouldCreate);
  host.getCurrentDirectory = () => base;
  const directoryExists = host.directoryExists?.bind(host);
  host.directoryExists = (path) => [...virtual.keys()].some((file) => dirname(file).startsWith(path)) || (directoryExists?.(path) ?? false);
  const rootNames = [...virtual.keys()].filter((file) => file.endsWith('.ts') && !/\/vitest\.config[\w.-]*\.ts$/.test(file));
  const program = ts.createProgram({ rootNames, options, host });
  // The project's files, and the library's entry point: an export it cannot resolve would otherwise
  // type as `any` in the project and pass unnoticed.
  const entry = join(root, 'lib/index.ts');
  return ts
    .getPreEmitDiagnostics(program)
    .filter((diagnostic) => diagnostic.file && (virtual.has(diagnostic.file.fileName) || diagnostic.file.fileName === entry))
    .map((diagnostic) => ts.formatDiagnostic(diagnostic, formatHost).trim());
}

const formatHost: ts.FormatDiagnosticsHost = {
  getCanonicalFileName: (path) => path,
  getCurrentDirectory: () => root,
  getNewLine: () => '\n',
};
