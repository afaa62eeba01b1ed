import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builtPackage, root } from './built-package.js';

/**
 * A project that checks its libraries' declarations (`skipLibCheck: false`, strict) must find no error
 * in this package's .d.ts files: what `nest new` makes, importing the whole public API.
 */
describe("the package's declarations", () => {
  const work = mkdtempSync(join(tmpdir(), 'zt-dts-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('type-check with skipLibCheck: false in an ESM Nest app (nodenext, strict)', () => {
    const built = builtPackage();
    mkdirSync(join(work, 'node_modules'));
    for (const name of readdirSync(join(root, 'node_modules'))) {
      if (name !== 'nestjs-zero-trust' && name !== '.bin') symlinkSync(join(root, 'node_modules', name), join(work, 'node_modules', name));
    }
    symlinkSync(built, join(work, 'node_modules/nestjs-zero-trust'));
    writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'dts-check', type: 'module' }));
    writeFileSync(
      join(work, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2023', strict: true, skipLibCheck: false, noEmit: true, experimentalDecorators: true, emitDecoratorMetadata: true, types: ['node'] },
        files: ['main.ts'],
      }),
    );
    writeFileSync(join(work, 'main.ts'), "import * as zeroTrust from 'nestjs-zero-trust';\nexport const api = zeroTrust;\n");
    const result = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', work], { encoding: 'utf8' });
    const ours = result.stdout.split('\n').filter((line) => line.includes('nestjs-zero-trust') || line.includes(built));
    expect(ours).toEqual([]);
    expect(result.stdout).toBe('');
  }, 900_000);
});
