import { defineConfig } from '@playwright/test';

/**
 * `npm run test:electron` (test/electron/run.mjs): the real Electron app — main, preload and renderer as
 * `npm run build` bundles them — driven by Playwright's Electron support. Needs the Electron binary; see build/README.md.
 */
export default defineConfig({
  testDir: '.',
  testMatch: /.*\.spec\.ts$/,
  outputDir: process.env.PW_OUTPUT_DIR ?? '../../test-results/electron',
  fullyParallel: false,
  workers: 1,
  timeout: 180_000,
  expect: { timeout: 30_000 },
  reporter: [['list']],
  use: { trace: 'retain-on-failure', screenshot: 'only-on-failure' },
});
