import { defineConfig } from 'vitest/config';

// Unit and integration tests run in plain Node. Anything that imports `electron`
// (only electron/main and electron/preload may) is tested with a mocked module.
export default defineConfig({
  test: {
    include: ['{shared,gateway,electron,renderer,scripts,test}/**/*.test.{ts,tsx}'],
    exclude: ['node_modules/**', 'dist/**', 'test/e2e/**'],
    environment: 'node',
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    server: { deps: { inline: ['electron-store'] } },
  },
});
