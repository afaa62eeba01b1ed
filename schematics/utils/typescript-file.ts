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
   *
   * Only shapes whose meaning is certain are edited: an array literal (spreads and all), or a `const`
   * array of this file that `imports` names. Anything else (an imported or reassignable variable, a
   * computed list, metadata spread from elsewhere, a second `imports` key) is refused with the reason:
   * a guessed edit there can leave a duplicate key or a list that is overridden at run time, and an app
   * whose security module silently dropped out boots and answers unprotected.
   */
  addModuleImport(entry: string, { first = false, className }: { first?: boolean; className?: string } = {}): boolean {
    const ts = typescript();
    const { metadata, name } = this.moduleMetadata(className);
    if (!metadata) {
      // `@Module()`: the argument is the object.
      const call = this.moduleDecoratorCall(name);
      this.insert(call.arguments.pos, `{ imports: [${entry}] }`);
      this.verifyModule(name, entry);
      return true;
    }
    const named = (property: TypeScript.ObjectLiteralElementLike, key: string) =>
      !!property.name && (ts.isIdentifier(property.name) || ts.isStringLiteral(property.name)) && property.name.text === key;
    const properties = metadata.properties.filter((property) => named(property, 'imports'));
    if (properties.length > 1) throw new SchematicsException(`${this.path}: @Module of ${name} has \`imports\` twice (the last one wins, the first is dead code).`);
    const spreads = metadata.properties.filter(ts.isSpreadAssignment);
    const [property] = properties;
    if (!property) {
      if (spreads.length) {
        throw new SchematicsException(`${this.path}: @Module of ${name} spreads ${spreads.map((spread) => spread.expression.getText(this.source)).join(', ')}, which may hold its imports: an \`imports\` key added beside it could override them or be overridden.`);
      }
      const indent = this.indentAt(metadata.properties[0]?.getStart(this.source) ?? metadata.getStart(this.source)) || '  ';
      this.insert(metadata.getStart(this.source) + 1, `\n${indent}imports: [${entry}],${metadata.properties.length ? '' : '\n'}`);
      this.verifyModule(name, entry);
      return true;
    }
    if (spreads.some((spread) => spread.getStart(this.source) > property.getStart(this.source))) {
      throw new SchematicsException(`${this.path}: @Module of ${name} spreads an object after its \`imports\`, which may replace them at run time.`);
    }
    let array: TypeScript.Expression | undefined;
    if (ts.isPropertyAssignment(property)) array = this.unwrap(property.initializer);
    else if (ts.isShorthandPropertyAssignment(property)) array = property.name;
    else throw new SchematicsException(`${this.path}: @Module of ${name} computes \`imports\` in a ${ts.SyntaxKind[property.kind]}.`);
    if (ts.isIdentifier(array)) {
      const variable = array.text;
      array = this.topLevelConstant(variable);
      if (!array) {
        throw new SchematicsException(`${this.path}: @Module of ${name} takes its imports from \`${variable}\`, which is not a \`const\` declared in this file (imported, a parameter, or reassignable with let/var).`);
      }
      if (!ts.isArrayLiteralExpression(array)) throw new SchematicsException(`${this.path}: \`const ${variable}\`, the imports of ${name}, is not an array literal.`);
    }
    if (!ts.isArrayLiteralExpression(array)) {
      throw new SchematicsException(`${this.path}: @Module of ${name} computes its imports (\`${array.getText(this.source).slice(0, 60)}\`) instead of listing them in an array.`);
    }
    if (array.elements.some((item) => item.getText(this.source) === entry)) return false;
    if (!first || array.elements.length === 0) {
      this.appendElement(array, entry);
    } else {
      const head = array.elements[0];
      const multiline = this.text.slice(array.getStart(this.source), head.getStart(this.source)).includes('\n');
      this.insert(head.getStart(this.source), multiline ? `${entry},\n${this.indentAt(head.getStart(this.source))}` : `${entry}, `);
    }
    this.verifyModule(name, entry);
    return true;
  }

  /**
   * The root module `main.ts` bootstraps: the identifier passed to `NestFactory.create…()`, with the
   * module specifier it is imported from (undefined when the class is declared in this file).
   */
  bootstrappedModule(): { name: string; specifier?: string } | undefined {
    const ts = typescript();
    let found: string | undefined;
    const visit = (node: TypeScript.Node) => {
      if (found) return;
      if (
        ts.isCallExpression(node) &&
        ts.isPropertyAccessExpression(node.expression) &&
        ts.isIdentifier(node.expression.expression) &&
        node.expression.expression.text === 'NestFactory' &&
        node.arguments[0] &&
        ts.isIdentifier(node.arguments[0])
      ) {
        found = node.arguments[0].text;
        return;
      }
      ts.forEachChild(node, visit);
    };
    visit(this.source);
    if (!found) return undefined;
    for (const declaration of this.imports()) {
      const bindings = declaration.importClause?.namedBindings;
      const bound = bindings && ts.isNamedImports(bindings) && bindings.elements.some((element) => element.name.text === found);
      if (bound && ts.isStringLiteral(declaration.moduleSpecifier)) return { name: found, specifier: declaration.moduleSpecifier.text };
    }
    return { name: found };
  }

  /** The names of the file's `@Module` classes, in order. */
  moduleClassNames(): string[] {
    return this.moduleClasses().map((entry) => entry.name);
  }

  /**
   * After an edit, the module must parse, hold no key twice, and list `entry` exactly once: anything
   * else is a bug here, and it stops the schematic before a single file is written.
   */
  private verifyModule(className: string, entry: string): void {
    const ts = typescript();
    const diagnostics = ts.transpileModule(this.text, { reportDiagnostics: true, compilerOptions: { experimentalDecorators: true } }).diagnostics ?? [];
    const { metadata } = this.moduleMetadata(className);
    const keys = (metadata?.properties ?? []).flatMap((property) => (property.name && (ts.isIdentifier(property.name) || ts.isStringLiteral(property.name)) ? [property.name.text] : []));
    const duplicated = keys.filter((key, index) => keys.indexOf(key) !== index);
    // As an element of an array literal (an import line naming the same class does not count).
    let listed = 0;
    const count = (node: TypeScript.Node): void => {
      if (ts.isArrayLiteralExpression(node)) listed += node.elements.filter((element) => element.getText(this.source) === entry).length;
      ts.forEachChild(node, count);
    };
    count(this.source);
    if (diagnostics.length || duplicated.length || listed !== 1) {
      throw new SchematicsException(
        `${this.path}: the edit would leave ${diagnostics.length ? 'a syntax error' : duplicated.length ? `\`${duplicated[0]}\` twice` : `${entry} ${listed} times`}; nothing was written.`,
      );
    }
  }

  private unwrap(expression: TypeScript.Expression): TypeScript.Expression {
    const ts = typescript();
    let value = expression;
    // `[...] as const`, `[...] satisfies T`, `<T>[...]` and parentheses still hold the array.
    while (ts.isAsExpression(value) || ts.isSatisfiesExpression(value) || ts.isParenthesizedExpression(value) || ts.isTypeAssertionExpression(value)) value = value.expression;
    return value;
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

  /** The name `Module` is bound to from @nestjs/common here (`import { Module as NestModule }` too). */
  private moduleDecoratorName(): string {
    const ts = typescript();
    for (const declaration of this.imports()) {
      const bindings = declaration.importClause?.namedBindings;
      if (!ts.isStringLiteral(declaration.moduleSpecifier) || declaration.moduleSpecifier.text !== '@nestjs/common' || !bindings || !ts.isNamedImports(bindings)) continue;
      const element = bindings.elements.find((candidate) => (candidate.propertyName ?? candidate.name).text === 'Module');
      if (element) return element.name.text;
    }
    return 'Module';
  }

  private moduleClasses(): Array<{ name: string; call: TypeScript.CallExpression }> {
    const ts = typescript();
    const decorator = this.moduleDecoratorName();
    const found: Array<{ name: string; call: TypeScript.CallExpression }> = [];
    for (const statement of this.source.statements) {
      if (!ts.isClassDeclaration(statement)) continue;
      for (const candidate of ts.getDecorators(statement) ?? []) {
        const call = candidate.expression;
        if (ts.isCallExpression(call) && ts.isIdentifier(call.expression) && call.expression.text === decorator) {
          found.push({ name: statement.name?.text ?? 'default', call });
        }
      }
    }
    return found;
  }

  private moduleDecoratorCall(className?: string): TypeScript.CallExpression & { name: string } {
    const classes = this.moduleClasses();
    if (!classes.length) throw new SchematicsException(`${this.path} has no @Module({...}) class: is it the root module?`);
    let chosen = classes[0];
    if (className) {
      const named = classes.find((entry) => entry.name === className);
      if (!named) throw new SchematicsException(`${this.path} has no @Module class ${className} (it has ${classes.map((entry) => entry.name).join(', ')}).`);
      chosen = named;
    } else if (classes.length > 1) {
      throw new SchematicsException(`${this.path} has several @Module classes (${classes.map((entry) => entry.name).join(', ')}) and none is known to be the root one.`);
    }
    return Object.assign(chosen.call, { name: chosen.name });
  }

  private moduleMetadata(className?: string): { metadata?: TypeScript.ObjectLiteralExpression; name: string } {
    const ts = typescript();
    const call = this.moduleDecoratorCall(className);
    const [argument] = call.arguments;
    if (!argument) return { name: call.name };
    const value = this.unwrap(argument);
    if (!ts.isObjectLiteralExpression(value)) {
      throw new SchematicsException(`${this.path}: @Module of ${call.name} takes \`${argument.getText(this.source).slice(0, 60)}\`, not an object literal.`);
    }
    return { metadata: value, name: call.name };
  }

  private topLevelConstant(name: string): TypeScript.Expression | undefined {
    const ts = typescript();
    for (const statement of this.source.statements) {
      // Only `const`: a `let` or `var` list may be reassigned before the decorator reads it.
      if (!ts.isVariableStatement(statement) || !(statement.declarationList.flags & ts.NodeFlags.Const)) continue;
      for (const declaration of statement.declarationList.declarations) {
        if (ts.isIdentifier(declaration.name) && declaration.name.text === name && declaration.initializer) return this.unwrap(declaration.initializer);
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
