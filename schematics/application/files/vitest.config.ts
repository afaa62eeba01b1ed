import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // SWC instead of esbuild: Nest's dependency injection needs decorator metadata.
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: { include: ['test/**/*.e2e-spec.ts'], pool: 'forks', testTimeout: 30_000, hookTimeout: 60_000 },
});
