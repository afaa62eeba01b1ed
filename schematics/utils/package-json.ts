import { SchematicsException, type Tree } from '@angular-devkit/schematics';
import { applyEdits, modify, parse } from 'jsonc-parser';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This package's own manifest (found by walking up from this file, in sources and in dist alike). */
export function ownManifest(): { name: string; version: string; peerDependencies: Record<string, string> } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const manifest = JSON.parse(readFileSync(candidate, 'utf8'));
      if (manifest.name === 'nestjs-zero-trust') return manifest;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new SchematicsException('nestjs-zero-trust: cannot find its own package.json');
    dir = parent;
  }
}

/**
 * Adds dependencies without rewriting the file: jsonc-parser edits keep the user's formatting,
 * key order and comments. Existing entries are left as they are. Returns the names it added.
 */
export function addDependencies(tree: Tree, path: string, dependencies: Record<string, string>): string[] {
  const text = tree.read(path)?.toString('utf8');
  if (text === undefined) throw new SchematicsException(`Cannot find ${path}: run this in a Node project.`);
  const manifest = parse(text) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  let updated = text;
  const added: string[] = [];
  for (const [name, range] of Object.entries(dependencies)) {
    if (manifest.dependencies?.[name] || manifest.devDependencies?.[name]) continue;
    updated = applyEdits(updated, modify(updated, ['dependencies', name], range, { formattingOptions: { insertSpaces: true, tabSize: 2 } }));
    added.push(name);
  }
  if (added.length) tree.overwrite(path, updated);
  return added;
}
