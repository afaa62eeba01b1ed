import type { Tree } from '@angular-devkit/schematics';
import type * as TypeScript from 'typescript';
import { typescript } from '../utils/toolchain.js';

/** What the update did, for the message after it. */
export type E2eExampleUpdate = 'updated' | 'already' | 'missing' | 'unrecognised';

/**
 * The e2e example `nest new` writes (`test/app.e2e-spec.ts`: `request(app.getHttpServer()).get('/')
 * .expect(200)`) fails once every route needs a token. It is taught to send one: a `token` minted with
 * `mintTestToken(app, …)` after `app.init()`, set on every `request(app.getHttpServer())` chain. Edited
 * through the syntax tree, and only when all three places are found; otherwise it is left as it is and
 * the message says what to add.
 */
export function updateE2eExample(tree: Tree, path: string): E2eExampleUpdate {
  if (!tree.exists(path)) return 'missing';
  const ts = typescript();
  const text = tree.readText(path);
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  if (text.includes('mintTestToken')) return 'already';

  let appName: string | undefined;
  const verbCalls: TypeScript.CallExpression[] = [];
  let init: TypeScript.Statement | undefined;
  const visit = (node: TypeScript.Node) => {
    // request(app.getHttpServer()).get('/') -> the `.get('/')` call.
    if (
      ts.isCallExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === 'request' &&
      node.arguments.length === 1 &&
      ts.isCallExpression(node.arguments[0]) &&
      ts.isPropertyAccessExpression(node.arguments[0].expression) &&
      node.arguments[0].expression.name.text === 'getHttpServer' &&
      ts.isIdentifier(node.arguments[0].expression.expression) &&
      ts.isPropertyAccessExpression(node.parent) &&
      ts.isCallExpression(node.parent.parent)
    ) {
      appName = node.arguments[0].expression.expression.text;
      verbCalls.push(node.parent.parent);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  if (!appName || !verbCalls.length) return 'unrecognised';

  // `await app.init();` and the `let app…;` declaration it initialises.
  let declaration: TypeScript.VariableStatement | undefined;
  const find = (node: TypeScript.Node) => {
    if (ts.isExpressionStatement(node) && ts.isAwaitExpression(node.expression)) {
      const call = node.expression.expression;
      if (ts.isCallExpression(call) && ts.isPropertyAccessExpression(call.expression) && call.expression.name.text === 'init' && ts.isIdentifier(call.expression.expression) && call.expression.expression.text === appName) init = node;
    }
    if (ts.isVariableStatement(node) && node.declarationList.declarations.some((item) => ts.isIdentifier(item.name) && item.name.text === appName)) declaration ??= node;
    ts.forEachChild(node, find);
  };
  find(source);
  if (!init || !declaration) return 'unrecognised';

  const indentOf = (node: TypeScript.Node) => {
    const start = node.getStart(source);
    const lineStart = text.lastIndexOf('\n', start - 1) + 1;
    return text.slice(lineStart, start);
  };
  const imports = source.statements.filter(ts.isImportDeclaration);
  const recorder = tree.beginUpdate(path);
  // Positions are the original file's: the recorder applies them all at once.
  recorder.insertLeft(imports.length ? imports[imports.length - 1].getEnd() : 0, `${imports.length ? '\n' : ''}import { mintTestToken } from 'nestjs-zero-trust';${imports.length ? '' : '\n'}`);
  recorder.insertLeft(
    declaration.getEnd(),
    `\n${indentOf(declaration)}// Every route needs an access token now (nestjs-zero-trust): one signed with the app's own keys.\n${indentOf(declaration)}let token: string;`,
  );
  recorder.insertLeft(init.getEnd(), `\n${indentOf(init)}token = await mintTestToken(${appName}, { subject: 'e2e-user' });`);
  for (const call of verbCalls) recorder.insertLeft(call.getEnd(), ".set('Authorization', `Bearer ${token}`)");
  tree.commitUpdate(recorder);
  return 'updated';
}
