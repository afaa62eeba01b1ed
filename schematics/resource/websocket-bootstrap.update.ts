import type { Tree } from '@angular-devkit/schematics';
import { posix } from 'node:path';
import type * as TypeScript from 'typescript';
import { SchematicsException, typescript } from '../utils/toolchain.js';
import { TypeScriptFile } from '../utils/typescript-file.js';

const SETUP = 'useZeroTrustWebSockets';

/**
 * main.ts calls `await useZeroTrustWebSockets(app)` right after `NestFactory.create…()`: without the
 * zero-trust adapter a `ws` socket cannot present a token, so every guarded message handler refuses it.
 * Edited through the syntax tree; left alone when main.ts already imports the setup. Returns whether it changed.
 */
export function addWebSocketSetup(tree: Tree, sourceRoot: string, setupPath: string): boolean {
  const path = posix.join(sourceRoot, 'main.ts');
  const manual = `call \`await ${SETUP}(app)\` (from ${setupPath}) in main.ts right after NestFactory.create(), before listen().`;
  const main = new TypeScriptFile(tree, path, `Cannot find ${path}: ${manual}`);
  if (main.importedNames().has(SETUP)) return false;
  const ts = typescript();
  const text = tree.readText(path);
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  let found: { statement: TypeScript.VariableStatement; app: string } | undefined;
  const visit = (node: TypeScript.Node): void => {
    if (found) return;
    if (ts.isVariableStatement(node)) {
      for (const declaration of node.declarationList.declarations) {
        let initializer = declaration.initializer;
        if (initializer && ts.isAwaitExpression(initializer)) initializer = initializer.expression;
        const creates =
          initializer &&
          ts.isCallExpression(initializer) &&
          ts.isPropertyAccessExpression(initializer.expression) &&
          ts.isIdentifier(initializer.expression.expression) &&
          initializer.expression.expression.text === 'NestFactory' &&
          initializer.expression.name.text === 'create';
        if (creates && ts.isIdentifier(declaration.name)) {
          found = { statement: node, app: declaration.name.text };
          return;
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  if (!found) throw new SchematicsException(`${path} has no \`const app = await NestFactory.create(...)\`: ${manual}`);
  const start = found.statement.getStart(source);
  const indent = text.slice(text.lastIndexOf('\n', start) + 1, start);
  const end = found.statement.getEnd();
  tree.overwrite(path, `${text.slice(0, end)}\n${indent}await ${SETUP}(${found.app});${text.slice(end)}`);
  const edited = new TypeScriptFile(tree, path);
  const relative = posix.relative(sourceRoot, setupPath).replace(/\.ts$/, edited.relativeImportsUseJs() === false ? '' : '.js');
  edited.addNamedImport(SETUP, relative.startsWith('.') ? relative : `./${relative}`);
  return true;
}
