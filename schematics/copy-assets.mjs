// Copies what tsc does not: collection.json, each schematic's schema.json and files/ templates, and the
// application template, which is the package's own sample (sample/src) plus the project files around it.
import { cpSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const source = fileURLToPath(new URL('.', import.meta.url));
const target = fileURLToPath(new URL('../dist/schematics/', import.meta.url));
cpSync(join(source, 'collection.json'), join(target, 'collection.json'));
for (const entry of readdirSync(source)) {
  const folder = join(source, entry);
  if (!statSync(folder).isDirectory()) continue;
  for (const asset of ['schema.json', 'files']) {
    try {
      cpSync(join(folder, asset), join(target, entry, asset), { recursive: true });
    } catch (error) {
      if (error.code !== 'ENOENT') throw error;
    }
  }
}
const application = join(target, 'application', 'files');
rmSync(application, { recursive: true, force: true });
cpSync(join(source, 'application', 'files-static'), application, { recursive: true });
cpSync(fileURLToPath(new URL('../sample/src/', import.meta.url)), join(application, 'src'), { recursive: true });
