import { defineConfig } from 'vitest/config';

// `npm run test:hard`: the hard suite at full size (HARD_SCALE=full), one file at a time (2 cores; the load
// and crash checks must not compete), generous timeouts. The default `vitest run` runs the short form.
export default defineConfig({
  test: {
    include: ['test/hard/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 1_800_000,
    hookTimeout: 120_000,
    env: { HARD_SCALE: 'full' },
    server: { deps: { inline: ['electron-store'] } },
  },
});
