import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // SWC instead of esbuild: Nest's dependency injection needs emitDecoratorMetadata.
  plugins: [swc.vite({ module: { type: 'es6' } })],
  resolve: {
    // Tests and the sample import the package by name, as users do; resolve it to the sources.
    alias: { 'nestjs-zero-trust': fileURLToPath(new URL('./lib/index.ts', import.meta.url)) },
  },
  test: {
    include: ['lib/**/*.spec.ts', 'test/**/*.spec.ts', 'sample/**/*.spec.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
