import type { Tree } from '@angular-devkit/schematics';
import type { Node as JsonNode, ParseError } from 'jsonc-parser';
import { jsoncParser, SchematicsException } from './toolchain.js';

export type JsonPath = Array<string | number>;

/**
 * A JSON file in the tree, edited at exact positions with jsonc-parser: the user's indentation, key
 * order and comments survive, and only the lines that change, change (never a JSON.parse/stringify
 * round trip). After @nestjs/schematics' `utils/json-file.util.ts`.
 */
export class JsonFile {
  private content: string;
  private ast: JsonNode | undefined;

  constructor(
    private readonly tree: Tree,
    readonly path: string,
  ) {
    const buffer = tree.read(path);
    if (!buffer) throw new SchematicsException(`Cannot find ${path}.`);
    this.content = buffer.toString('utf8');
  }

  get<T = unknown>(path: JsonPath): T | undefined {
    const { findNodeAtLocation, getNodeValue } = jsoncParser();
    const root = this.root();
    const node = path.length ? findNodeAtLocation(root, path) : root;
    return node === undefined ? undefined : (getNodeValue(node) as T);
  }

  /** Sets a value; a new key goes in alphabetical place among its siblings, as npm itself orders dependencies. */
  set(path: JsonPath, value: unknown): void {
    const { applyEdits, modify } = jsoncParser();
    const key = path[path.length - 1];
    const edits = modify(this.content, path, value, {
      formattingOptions: { insertSpaces: true, tabSize: 2 },
      getInsertionIndex: (keys) => [...keys, String(key)].sort().indexOf(String(key)),
    });
    this.content = applyEdits(this.content, edits);
    this.ast = undefined;
    this.tree.overwrite(this.path, this.content);
  }

  private root(): JsonNode {
    if (this.ast) return this.ast;
    const { parseTree, printParseErrorCode } = jsoncParser();
    const errors: ParseError[] = [];
    const root = parseTree(this.content, errors, { allowTrailingComma: true });
    if (errors.length || !root) {
      const [first] = errors;
      throw new SchematicsException(`${this.path} is not valid JSON${first ? `: ${printParseErrorCode(first.error)} at offset ${first.offset}` : ''}.`);
    }
    this.ast = root;
    return root;
  }
}
