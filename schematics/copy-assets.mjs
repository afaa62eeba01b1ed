// Copies what tsc does not: collection.json, and each schematic's schema.json and files/ templates
// (rendered at generation time by template()/move(); never compiled here).
import { cpSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const source = fileURLToPath(new URL('.', import.meta.url));
// The build's target, or another folder (the tests build the package into a folder of their own).
const target = process.argv[2] ? resolve(process.argv[2]) : fileURLToPath(new URL('../dist/schematics/', import.meta.url));
cpSync(join(source, 'collection.json'), join(target, 'collection.json'));
for (const entry of readdirSync(source)) {
  const folder = join(source, entry);
  if (!statSync(folder).isDirectory()) continue;
  for (const asset of ['schema.json', 'files']) {
    // A template removed from the sources must not survive in dist from an earlier build.
    rmSync(join(target, entry, asset), { recursive: true, force: true });
    try {
      cpSync(join(folder, asset), join(target, entry, asset), { recursive: true });
    } catch (error) {
      if (error.code !== 'ENOENT') throw error;
    }
  }
}
