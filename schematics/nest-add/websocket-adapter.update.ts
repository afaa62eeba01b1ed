import type { Tree } from '@angular-devkit/schematics';
import type * as TypeScript from 'typescript';
import { typescript } from '../utils/toolchain.js';
import { TypeScriptFile } from '../utils/typescript-file.js';

/** `none`: main.ts sets no WebSocket adapter; `already`: the zero-trust one; `kept`: one not recognised; `not-async`: outside an async function. */
export type WebSocketAdapterUpdate = 'none' | 'updated' | 'already' | 'kept' | 'not-async';

const ADAPTERS: Record<string, { library: 'ws' | 'socket.io'; from: string }> = {
  WsAdapter: { library: 'ws', from: '@nestjs/platform-ws' },
  IoAdapter: { library: 'socket.io', from: '@nestjs/platform-socket.io' },
};

/** Browser origins for sockets, read where the adapter is made (no browser at all when unset). */
const ORIGINS = "(process.env.ZT_WS_ORIGINS ?? '').split(',').map((origin) => origin.trim()).filter(Boolean)";

/**
 * `app.useWebSocketAdapter(new WsAdapter(app))` (or socket.io's `IoAdapter`) in main.ts becomes the
 * zero-trust adapter of the same library. Nest's own adapters give a `ws` socket no way to present a
 * token (after `nest add` every guarded message handler would refuse every client), and check neither
 * the Origin (cross-site WebSocket hijacking) nor revoked sessions on open sockets. Edited through the
 * syntax tree; only that exact shape, in an async function, is changed.
 */
export function updateWebSocketAdapter(tree: Tree, mainPath: string): WebSocketAdapterUpdate {
  if (!tree.exists(mainPath)) return 'none';
  if (new TypeScriptFile(tree, mainPath).importedNames().has('zeroTrustWebSocketAdapter')) return 'already';
  const ts = typescript();
  const text = tree.readText(mainPath);
  const source = ts.createSourceFile(mainPath, text, ts.ScriptTarget.Latest, true);
  const calls: TypeScript.CallExpression[] = [];
  const visit = (node: TypeScript.Node): void => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'useWebSocketAdapter') calls.push(node);
    ts.forEachChild(node, visit);
  };
  visit(source);
  if (calls.length === 0) return 'none';
  const [call] = calls;
  const created = call.arguments[0];
  if (calls.length > 1 || !created || !ts.isNewExpression(created) || !ts.isIdentifier(created.expression) || !ADAPTERS[created.expression.text] || created.arguments?.length !== 1) return 'kept';
  let scope: TypeScript.Node | undefined = call.parent;
  while (scope && !ts.isFunctionLike(scope)) scope = scope.parent;
  // `await` needs an async function around it (nest new's `async function bootstrap()`).
  if (!scope || (ts.getCombinedModifierFlags(scope as TypeScript.Declaration) & ts.ModifierFlags.Async) === 0) return 'not-async';
  const adapter = created.expression.text;
  const { library } = ADAPTERS[adapter];
  const app = created.arguments[0].getText(source);
  const replacement = `await zeroTrustWebSocketAdapter(${app}, { library: '${library}', allowedOrigins: ${ORIGINS} })`;
  let edited = `${text.slice(0, created.getStart(source))}${replacement}${text.slice(created.getEnd())}`;
  edited = withoutUnusedImport(edited, mainPath, adapter);
  tree.overwrite(mainPath, edited);
  new TypeScriptFile(tree, mainPath).addNamedImport('zeroTrustWebSocketAdapter', 'nestjs-zero-trust');
  return 'updated';
}

/** The adapter class's import, once nothing else in the file names it (a lone specifier takes its declaration with it). */
function withoutUnusedImport(text: string, path: string, name: string): string {
  const ts = typescript();
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  let uses = 0;
  const count = (node: TypeScript.Node): void => {
    if (ts.isIdentifier(node) && node.text === name && !ts.isImportSpecifier(node.parent)) uses++;
    ts.forEachChild(node, count);
  };
  count(source);
  if (uses > 0) return text;
  for (const statement of source.statements) {
    const bindings = ts.isImportDeclaration(statement) ? statement.importClause?.namedBindings : undefined;
    if (!bindings || !ts.isNamedImports(bindings)) continue;
    const specifier = bindings.elements.find((element) => element.name.text === name);
    if (!specifier) continue;
    if (bindings.elements.length === 1 && !(statement as TypeScript.ImportDeclaration).importClause?.name) {
      const end = text[statement.getEnd()] === '\n' ? statement.getEnd() + 1 : statement.getEnd();
      return text.slice(0, statement.getStart(source)) + text.slice(end);
    }
    const index = bindings.elements.indexOf(specifier);
    const [start, end] = index < bindings.elements.length - 1 ? [specifier.getStart(source), bindings.elements[index + 1].getStart(source)] : [bindings.elements[index - 1].getEnd(), specifier.getEnd()];
    return text.slice(0, start) + text.slice(end);
  }
  return text;
}
