import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SchematicsException } from './toolchain.js';

export interface OwnManifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

let manifest: OwnManifest | undefined;

/** This package's own manifest, found by walking up from this file (in sources and in dist alike). Read only. */
export function ownManifest(): OwnManifest {
  if (manifest) return manifest;
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const found = JSON.parse(readFileSync(candidate, 'utf8')) as OwnManifest;
      if (found.name === 'nestjs-zero-trust') return (manifest = found);
    }
    if (dirname(dir) === dir) throw new SchematicsException('nestjs-zero-trust: cannot find its own package.json.');
  }
}

/**
 * What a new project pins `name` to: the version this package is built and tested with (its
 * devDependencies), else the range it declares. Generated projects get exactly what CI ran.
 */
export function testedVersion(name: string): string {
  const own = ownManifest();
  return rangeOf(name, [own.devDependencies, own.dependencies, own.peerDependencies]);
}

/**
 * What an existing project is asked for: the range this package supports (its peerDependencies),
 * so an app already on a supported Nest version is left on it.
 */
export function supportedRange(name: string): string {
  const own = ownManifest();
  return rangeOf(name, [own.peerDependencies, own.dependencies, own.devDependencies]);
}

function rangeOf(name: string, sources: Array<Record<string, string> | undefined>): string {
  const own = ownManifest();
  if (name === own.name) return `^${own.version}`;
  for (const source of sources) if (source?.[name]) return source[name];
  throw new SchematicsException(`nestjs-zero-trust: no version known for ${name} (it is not in nestjs-zero-trust's package.json).`);
}
