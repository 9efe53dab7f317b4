#!/usr/bin/env node
// Builds the desktop UI (vite.config.ts) and, when present, the phone page (renderer/mobile/vite.config.ts)
// into dist/renderer/. Used by `npm run build:renderer`, `npm start` and the end-to-end runner.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';

rmSync('dist/renderer', { recursive: true, force: true });
const run = (args) => {
  const r = spawnSync('npx', ['vite', 'build', '--logLevel', 'warn', ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run([]);
if (existsSync('renderer/mobile/vite.config.ts')) run(['--config', 'renderer/mobile/vite.config.ts']);
