/**
 * `npm run bench`: every benchmark, one after another, each printing its own table
 * (median, p95, peak memory, and a ratio against a baseline run in the same process where one is named).
 * Benchmarks never fail on a time; their numbers go in the issue notes.
 * Run one alone: `npm run bench -- gateway` (names: the files in this folder).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'index.ts' && !f.startsWith('_'))
  .sort();

// The end-to-end and phone-page benchmarks drive the built UI: a fresh clone has none yet.
if (!existsSync('dist/renderer/index.html') || !existsSync('dist/renderer/mobile/index.html')) {
  const built = spawnSync(process.execPath, ['scripts/build-renderer.mjs'], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error('bench: the desktop and phone pages did not build (node scripts/build-renderer.mjs)');
}

for (const file of files) {
  const name = file.replace(/\.ts$/, '');
  if (only.length > 0 && !only.includes(name)) continue;
  const mod = (await import(`./${file}`)) as Record<string, unknown>;
  const run = Object.entries(mod).find(([k, v]) => /^run.*Bench$/.test(k) && typeof v === 'function')?.[1] as (() => Promise<void>) | undefined;
  if (!run) {
    console.log(`bench: ${file} exports no run…Bench function; skipped`);
    continue;
  }
  console.log(`\n=== ${name} ===`);
  await run();
}
