import { defineConfig } from 'vitest/config';

// `npm run test:hard`: the hard suite at full size (HARD_SCALE=full), one file at a time (2 cores; the load
// and crash checks must not compete), generous timeouts. The default `vitest run` runs the short form.
export default defineConfig({
  test: {
    // The LAN server's 10,000-request multipart fuzz (U1) runs here too, next to the rest of the hostile input.
    include: ['test/hard/**/*.test.ts', 'electron/lan/upload.fuzz.test.ts'],
    environment: 'node',
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 1_800_000,
    hookTimeout: 120_000,
    env: { HARD_SCALE: 'full' },
    server: { deps: { inline: ['electron-store'] } },
  },
});
