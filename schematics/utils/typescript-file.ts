import type { Tree } from '@angular-devkit/schematics';
import type * as TypeScript from 'typescript';
import { SchematicsException, typescript } from './toolchain.js';

/**
 * A TypeScript file in the tree, edited through its syntax tree (the compiler API): each edit finds
 * its node, inserts text at that node's exact position and re-parses, so the rest of the file keeps
 * its formatting, comments included. Never a regular expression over code.
 */
export class TypeScriptFile {
  private source!: TypeScript.SourceFile;
  private text!: string;

  constructor(
    private readonly tree: Tree,
    readonly path: string,
    /** Says what to do when the file is not there. */
    missing = `Cannot find ${path}.`,
  ) {
    if (!tree.exists(path)) throw new SchematicsException(missing);
    this.parse();
  }

  /** Names the file's import declarations bind (`import D, { A, B as C } from …` binds D, A and C). */
  importedNames(): Set<string> {
    const ts = typescript();
    const names = new Set<string>();
    for (const declaration of this.imports()) {
      const clause = declaration.importClause;
      if (!clause) continue;
      if (clause.name) names.add(clause.name.text);
      const bindings = clause.namedBindings;
      if (bindings && ts.isNamedImports(bindings)) for (const element of bindings.elements) names.add(element.name.text);
      if (bindings && ts.isNamespaceImport(bindings)) names.add(bindings.name.text);
    }
    return names;
  }

  /**
   * Whether relative imports carry a `.js` suffix (an ESM app on nodenext resolution, as CLI 12 makes
   * them), or `undefined` when the file has no relative import to tell.
   */
  relativeImportsUseJs(): boolean | undefined {
    const ts = typescript();
    const relative = this.imports()
      .map((declaration) => declaration.moduleSpecifier)
      .filter((specifier): specifier is TypeScript.StringLiteral => ts.isStringLiteral(specifier) && specifier.text.startsWith('.'));
    return relative.length ? relative.some((specifier) => specifier.text.endsWith('.js')) : undefined;
  }

  /** `import { symbol } from 'specifier';` after the last import, unless `symbol` is imported already. */
  addNamedImport(symbol: string, specifier: string): boolean {
    if (this.importedNames().has(symbol)) return false;
    const declarations = this.imports();
    const statement = `import { ${symbol} } from '${specifier}';`;
    const last = declarations[declarations.length - 1];
    this.insert(last ? last.getEnd() : 0, last ? `\n${statement}` : `${statement}\n`);
    return true;
  }

  /** Appends `element` to the array literal a top-level `const name = [...]` holds, unless it is there. */
  addToArray(name: string, element: string): boolean {
    const ts = typescript();
    const array = this.topLevelConstant(name);
    if (!array || !ts.isArrayLiteralExpression(array)) {
      throw new SchematicsException(`${this.path} has no \`const ${name} = [...]\`: add ${element} to it by hand.`);
    }
    if (array.elements.some((item) => item.getText(this.source) === element)) return false;
    this.appendElement(array, element);
    return true;
  }

  /**
   * Adds `entry` to `@Module({ imports: [...] })` of the file's module class, first in the list (so a
   * module that configures the app, such as ZeroTrustModule, is set up before the feature modules),
   * creating the property when there is none. Returns false when an import already reads `entry`.
   */
  addModuleImport(entry: string, { first = false } = {}): boolean {
    const ts = typescript();
    const metadata = this.moduleMetadata();
    const property = metadata.properties.find(
      (candidate): candidate is TypeScript.PropertyAssignment =>
        ts.isPropertyAssignment(candidate) && (ts.isIdentifier(candidate.name) || ts.isStringLiteral(candidate.name)) && candidate.name.text === 'imports',
    );
    if (!property) {
      const indent = this.indentAt(metadata.properties[0]?.getStart(this.source) ?? metadata.getStart(this.source)) || '  ';
      this.insert(metadata.getStart(this.source) + 1, `\n${indent}imports: [${entry}],${metadata.properties.length ? '' : '\n'}`);
      return true;
    }
    if (!ts.isArrayLiteralExpression(property.initializer)) {
      throw new SchematicsException(`${this.path}: @Module imports is not an array literal; add ${entry} to it by hand.`);
    }
    const array = property.initializer;
    if (array.elements.some((item) => item.getText(this.source) === entry)) return false;
    if (!first || array.elements.length === 0) {
      this.appendElement(array, entry);
      return true;
    }
    const head = array.elements[0];
    const multiline = this.text.slice(array.getStart(this.source), head.getStart(this.source)).includes('\n');
    this.insert(head.getStart(this.source), multiline ? `${entry},\n${this.indentAt(head.getStart(this.source))}` : `${entry}, `);
    return true;
  }

  private appendElement(array: TypeScript.ArrayLiteralExpression, element: string): void {
    const elements = array.elements;
    const open = array.getStart(this.source) + 1;
    if (elements.length === 0) {
      this.insert(open, element);
      return;
    }
    const last = elements[elements.length - 1];
    const multiline = this.text.slice(open, elements[0].getStart(this.source)).includes('\n');
    // `elements.hasTrailingComma`: `[a, b,]` takes the new element after the comma.
    if (elements.hasTrailingComma) {
      const comma = this.text.indexOf(',', last.getEnd()) + 1;
      this.insert(comma, multiline ? `\n${this.indentAt(last.getStart(this.source))}${element},` : ` ${element},`);
    } else {
      this.insert(last.getEnd(), multiline ? `,\n${this.indentAt(last.getStart(this.source))}${element}` : `, ${element}`);
    }
  }

  private moduleMetadata(): TypeScript.ObjectLiteralExpression {
    const ts = typescript();
    for (const statement of this.source.statements) {
      if (!ts.isClassDeclaration(statement)) continue;
      for (const decorator of ts.getDecorators(statement) ?? []) {
        const call = decorator.expression;
        if (ts.isCallExpression(call) && ts.isIdentifier(call.expression) && call.expression.text === 'Module') {
          const [argument] = call.arguments;
          if (argument && ts.isObjectLiteralExpression(argument)) return argument;
        }
      }
    }
    throw new SchematicsException(`${this.path} has no @Module({...}) class: is it the root module?`);
  }

  private topLevelConstant(name: string): TypeScript.Expression | undefined {
    const ts = typescript();
    for (const statement of this.source.statements) {
      if (!ts.isVariableStatement(statement)) continue;
      for (const declaration of statement.declarationList.declarations) {
        if (ts.isIdentifier(declaration.name) && declaration.name.text === name && declaration.initializer) {
          let value = declaration.initializer;
          // `[...] as const` and `[...] satisfies T` still hold the array.
          while (ts.isAsExpression(value) || ts.isSatisfiesExpression(value) || ts.isParenthesizedExpression(value)) value = value.expression;
          return value;
        }
      }
    }
    return undefined;
  }

  private imports(): TypeScript.ImportDeclaration[] {
    return this.source.statements.filter(typescript().isImportDeclaration);
  }

  private indentAt(position: number): string {
    const lineStart = this.text.lastIndexOf('\n', position - 1) + 1;
    let end = lineStart;
    while (this.text[end] === ' ' || this.text[end] === '\t') end++;
    return this.text.slice(lineStart, end);
  }

  private insert(position: number, text: string): void {
    const recorder = this.tree.beginUpdate(this.path);
    recorder.insertLeft(position, text);
    this.tree.commitUpdate(recorder);
    this.parse();
  }

  private parse(): void {
    const ts = typescript();
    this.text = this.tree.readText(this.path);
    this.source = ts.createSourceFile(this.path, this.text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  }
}
