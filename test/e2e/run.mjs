#!/usr/bin/env node
// Runs the Playwright end-to-end suite in Debian's Chromium after building the renderer.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const specs = existsSync('test/e2e') ? readdirSync('test/e2e', { recursive: true }).filter((f) => String(f).endsWith('.spec.ts')) : [];
if (specs.length === 0) {
  console.log('e2e: no end-to-end specs yet');
  process.exit(0);
}
if (!existsSync(chromium)) {
  console.error(`e2e: Chromium not found at ${chromium}. Install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH.`);
  process.exit(1);
}
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: process.env });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run('node', ['scripts/build-renderer.mjs']);
run('npx', ['playwright', 'test']);
