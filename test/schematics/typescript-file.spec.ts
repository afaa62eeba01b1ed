import { HostTree } from '@angular-devkit/schematics';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectionPath } from './support.js';

const { JsonFile } = (await import(join(dirname(collectionPath), 'utils/json-file.js'))) as typeof import('../../schematics/utils/json-file.js');
const { TypeScriptFile } = (await import(join(dirname(collectionPath), 'utils/typescript-file.js'))) as typeof import('../../schematics/utils/typescript-file.js');

function treeWith(path: string, content: string): HostTree {
  const tree = new HostTree();
  tree.create(path, content);
  return tree;
}

describe('TypeScriptFile: edits through the syntax tree', () => {
  it.each([
    ['one line', 'export const ITEMS = [A, B];\n', 'export const ITEMS = [A, B, C];\n'],
    ['empty', 'const ITEMS = [];\n', 'const ITEMS = [C];\n'],
    ['a trailing comma on one line', 'const ITEMS = [A, B,];\n', 'const ITEMS = [A, B, C,];\n'],
    ['one element a line, trailing comma', 'const ITEMS = [\n  A,\n  B,\n];\n', 'const ITEMS = [\n  A,\n  B,\n  C,\n];\n'],
    ['one element a line, no trailing comma', 'const ITEMS = [\n    A,\n    B\n];\n', 'const ITEMS = [\n    A,\n    B,\n    C\n];\n'],
    ['`as const`', 'export const ITEMS = [A] as const;\n', 'export const ITEMS = [A, C] as const;\n'],
  ])('appends to an array literal: %s', (_case, before, after) => {
    const tree = treeWith('/a.ts', before);
    expect(new TypeScriptFile(tree, '/a.ts').addToArray('ITEMS', 'C')).toBe(true);
    expect(tree.readText('/a.ts')).toBe(after);
  });

  it('leaves an array that has the element, and ignores look-alikes in strings and comments', () => {
    const source = "// const ITEMS = [X]\nconst label = 'const ITEMS = [Y]';\nconst ITEMS = [A, C];\n";
    const tree = treeWith('/a.ts', source);
    expect(new TypeScriptFile(tree, '/a.ts').addToArray('ITEMS', 'C')).toBe(false);
    expect(tree.readText('/a.ts')).toBe(source);
  });

  it('says what to do when the array is not a literal', () => {
    const tree = treeWith('/a.ts', 'const ITEMS = build();\n');
    expect(() => new TypeScriptFile(tree, '/a.ts').addToArray('ITEMS', 'C')).toThrow(/has no `const ITEMS = \[\.\.\.\]`: add C to it by hand/);
  });

  it('adds an import after the last one, once, whatever the other imports look like', () => {
    const tree = treeWith('/a.ts', "import D, { A, B as C } from 'x';\nimport * as N from 'y';\n\nexport const z = 1;\n");
    const file = new TypeScriptFile(tree, '/a.ts');
    expect([...file.importedNames()].sort()).toEqual(['A', 'C', 'D', 'N']);
    expect(file.addNamedImport('E', './e.js')).toBe(true);
    expect(file.addNamedImport('E', './e.js')).toBe(false);
    expect(file.addNamedImport('C', './c.js')).toBe(false);
    expect(tree.readText('/a.ts')).toBe("import D, { A, B as C } from 'x';\nimport * as N from 'y';\nimport { E } from './e.js';\n\nexport const z = 1;\n");
  });

  it('adds an import to a file without any', () => {
    const tree = treeWith('/a.ts', 'export const z = 1;\n');
    new TypeScriptFile(tree, '/a.ts').addNamedImport('E', './e.js');
    expect(tree.readText('/a.ts')).toBe("import { E } from './e.js';\nexport const z = 1;\n");
  });

  it('tells an ESM file (relative imports with .js) from a CommonJS one, and says when it cannot', () => {
    expect(new TypeScriptFile(treeWith('/a.ts', "import { A } from './a.js';\n"), '/a.ts').relativeImportsUseJs()).toBe(true);
    expect(new TypeScriptFile(treeWith('/a.ts', "import { A } from './a';\n"), '/a.ts').relativeImportsUseJs()).toBe(false);
    expect(new TypeScriptFile(treeWith('/a.ts', "import { A } from 'a.js';\n"), '/a.ts').relativeImportsUseJs()).toBeUndefined();
  });

  it('adds to @Module imports: appended by default, first on request, created when missing', () => {
    const tree = treeWith('/m.ts', '@Module({ imports: [A], providers: [] })\nexport class M {}\n');
    const file = new TypeScriptFile(tree, '/m.ts');
    expect(file.addModuleImport('B')).toBe(true);
    expect(file.addModuleImport('Z', { first: true })).toBe(true);
    expect(file.addModuleImport('B')).toBe(false);
    expect(tree.readText('/m.ts')).toBe('@Module({ imports: [Z, A, B], providers: [] })\nexport class M {}\n');
    const empty = treeWith('/m.ts', '@Module({})\nexport class M {}\n');
    new TypeScriptFile(empty, '/m.ts').addModuleImport('A');
    expect(empty.readText('/m.ts')).toBe('@Module({\n  imports: [A],\n})\nexport class M {}\n');
  });

  it('refuses a file without a module class', () => {
    expect(() => new TypeScriptFile(treeWith('/m.ts', 'export class M {}\n'), '/m.ts').addModuleImport('A')).toThrow(/has no @Module\(\{\.\.\.\}\) class/);
  });
});

describe('JsonFile: edits that keep the formatting', () => {
  it('adds a key in alphabetical place, in the file\'s indentation, keeping comments', () => {
    const tree = treeWith('/p.json', '{\n  // ours\n  "dependencies": {\n    "a": "1",\n    "c": "3"\n  }\n}\n');
    const file = new JsonFile(tree, '/p.json');
    file.set(['dependencies', 'b'], '2');
    expect(tree.readText('/p.json')).toBe('{\n  // ours\n  "dependencies": {\n    "a": "1",\n    "b": "2",\n    "c": "3"\n  }\n}\n');
    expect(file.get(['dependencies', 'b'])).toBe('2');
  });

  it('names the file and the position of a syntax error', () => {
    expect(() => new JsonFile(treeWith('/p.json', '{ "a": }'), '/p.json').get(['a'])).toThrow(/\/p\.json is not valid JSON: ValueExpected at offset 7/);
  });
});
