import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The features of `lib/`, lowest first. A feature may import only from features below it: never
 * sideways, never upwards, so there can be no cycle between folders. The root files (`lib/*.ts`)
 * compose everything. The README's architecture sketch draws this list.
 */
export const LAYERS: readonly (readonly string[])[] = [
  ['core'],
  ['audit'],
  ['http', 'validation', 'mfa', 'store', 'graphql', 'integrations'],
  ['auth'],
  ['database'],
  ['sessions'],
  ['throttle', 'monitoring', 'clients', 'websockets'],
  ['accounts'],
  ['lifecycle'],
  ['authz'],
  ['doctor'],
  ['cli', 'testing'],
];

const lib = fileURLToPath(new URL('../../lib', import.meta.url));
const rank = new Map(LAYERS.flatMap((features, level) => features.map((feature) => [feature, level] as const)));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

const featureOf = (file: string): string => {
  const parts = relative(lib, file).split('/');
  return parts.length === 1 ? '(root)' : parts[0];
};

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/gm)].map((match) => resolve(dirname(file), match[1]).replace(/\.js$/, '.ts'));
}

describe('feature slices depend only downward', () => {
  const files = sources(lib);

  it('places every folder of lib/ in a layer', () => {
    const folders = new Set(files.map(featureOf).filter((feature) => feature !== '(root)'));
    expect([...folders].filter((folder) => !rank.has(folder))).toEqual([]);
  });

  it('has no import sideways or upwards between features (and so no cycle between them)', () => {
    const violations: string[] = [];
    for (const file of files) {
      const from = featureOf(file);
      if (from === '(root)') continue;
      for (const target of imports(file)) {
        const to = featureOf(target);
        if (to === from) continue;
        if (to === '(root)' || (rank.get(to) ?? Infinity) >= rank.get(from)!) {
          violations.push(`${relative(lib, file)} -> ${relative(lib, target)} (${from} may not depend on ${to})`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it('has no import cycle between files', () => {
    const graph = new Map(files.map((file) => [file, imports(file).filter((target) => files.includes(target))]));
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(lib, f)).join(' -> '));
        return;
      }
      state.set(file, 'visiting');
      for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of files) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it('keeps each feature\'s injection tokens in its own folder and internal tokens out of the public API', () => {
    const index = readFileSync(join(lib, 'index.ts'), 'utf8');
    expect(index).not.toMatch(/internal-constants/);
    for (const file of files.filter((f) => f.endsWith('.internal-constants.ts'))) {
      for (const [, name] of readFileSync(file, 'utf8').matchAll(/export const (\w+)/g)) expect(index).not.toContain(name);
    }
  });
});
