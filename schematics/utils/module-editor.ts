import { SchematicsException, type Tree } from '@angular-devkit/schematics';
import { createRequire } from 'node:module';
import type * as TypeScript from 'typescript';

/** The project's own TypeScript (every Nest project has it), loaded on demand. */
function typescript(): typeof TypeScript {
  try {
    return createRequire(`${process.cwd()}/`)('typescript') as typeof TypeScript;
  } catch {
    return createRequire(import.meta.url)('typescript') as typeof TypeScript;
  }
}

export interface ModuleImport {
  /** Text of the import declaration to add when `symbol` is not imported yet. */
  declaration: string;
  symbol: string;
}

/**
 * Edits a module file through its syntax tree, inserting text at exact positions so the rest of the
 * file keeps its formatting: adds import declarations after the last import, and an entry at the
 * start of `@Module({ imports: [...] })` (creating the property when missing).
 */
export function addToModuleImports(tree: Tree, path: string, imports: ModuleImport[], entry: string): boolean {
  const source = tree.read(path)?.toString('utf8');
  if (source === undefined) throw new SchematicsException(`Cannot find ${path}. Pass --sourceRoot (and --module) to point at the root module.`);
  const ts = typescript();
  const file = ts.createSourceFile(path, source, ts.ScriptTarget.Latest, true);
  const declarations = file.statements.filter(ts.isImportDeclaration);
  const imported = new Set(
    declarations.flatMap((declaration) => {
      const bindings = declaration.importClause?.namedBindings;
      return bindings && ts.isNamedImports(bindings) ? bindings.elements.map((element) => element.name.text) : [];
    }),
  );
  if (imported.has(imports[0].symbol)) return false;

  const moduleObject = findModuleMetadata(ts, file);
  if (!moduleObject) throw new SchematicsException(`${path} has no @Module({...}) class: is it the root module?`);
  const recorder = tree.beginUpdate(path);
  const importText = imports.filter((item) => !imported.has(item.symbol)).map((item) => item.declaration).join('\n');
  const afterImports = declarations.length ? declarations[declarations.length - 1].getEnd() : 0;
  recorder.insertLeft(afterImports, declarations.length ? `\n${importText}` : `${importText}\n`);

  const property = moduleObject.properties.find(
    (p): p is TypeScript.PropertyAssignment => ts.isPropertyAssignment(p) && p.name.getText(file) === 'imports',
  );
  const indent = lineIndent(source, moduleObject.properties[0]?.getStart(file) ?? moduleObject.getStart(file) + 1) || '  ';
  if (property && ts.isArrayLiteralExpression(property.initializer)) {
    const array = property.initializer;
    if (array.elements.length === 0) {
      recorder.insertLeft(array.getStart(file) + 1, entry);
    } else {
      const first = array.elements[0];
      const multiline = source.slice(array.getStart(file), first.getStart(file)).includes('\n');
      recorder.insertLeft(first.getStart(file), multiline ? `${entry},\n${lineIndent(source, first.getStart(file))}` : `${entry}, `);
    }
  } else if (property) {
    throw new SchematicsException(`${path}: @Module imports is not an array literal; add ${entry} to it by hand.`);
  } else {
    recorder.insertLeft(moduleObject.getStart(file) + 1, `\n${indent}imports: [${entry}],`);
  }
  tree.commitUpdate(recorder);
  return true;
}

function findModuleMetadata(ts: typeof TypeScript, file: TypeScript.SourceFile): TypeScript.ObjectLiteralExpression | undefined {
  for (const statement of file.statements) {
    if (!ts.isClassDeclaration(statement)) continue;
    for (const decorator of ts.getDecorators(statement) ?? []) {
      const call = decorator.expression;
      if (ts.isCallExpression(call) && call.expression.getText(file) === 'Module' && call.arguments[0] && ts.isObjectLiteralExpression(call.arguments[0])) {
        return call.arguments[0];
      }
    }
  }
  return undefined;
}

function lineIndent(source: string, position: number): string {
  const lineStart = source.lastIndexOf('\n', position - 1) + 1;
  return /^[ \t]*/.exec(source.slice(lineStart))?.[0] ?? '';
}
