#!/usr/bin/env node
/**
 * `npm run test:electron`: the real Electron app, driven by Playwright's Electron support (test/electron/).
 * Where no Electron binary exists (it could not be downloaded), it says so and exits 0 WITHOUT claiming a pass:
 * the one line it prints then is "skipped: no Electron binary (…)".
 *
 * With the binary: builds the app (npm run build), rebuilds the native modules for Electron's ABI
 * (@electron/rebuild), runs the specs, and always puts the native modules back for Node (npm rebuild), so the
 * Node tests keep working. The fuse check reads the PACKAGED executable: CLINICPRO_ELECTRON_APP, or the first
 * release/*-unpacked/ electron-builder left (skipped, with the reason, when there is none).
 * Plain Node with no imports from node_modules. Details: build/README.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findElectronBinary } from '../../scripts/setup/prepare.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NATIVE_FOR_ELECTRON = ['better-sqlite3', 'keytar'];

function run(cmd, args) {
  console.log(`test:electron: ${cmd} ${args.join(' ')}`);
  return spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', env: process.env }).status ?? 1;
}

/** On Linux without a display or a session bus, the app runs under xvfb-run and dbus-run-session (with gnome-keyring) when present. */
function wrapForLinux(cmd, args) {
  if (process.platform !== 'linux') return [cmd, args];
  const has = (name) => spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
  let wrapped = [cmd, args];
  if (!process.env.DBUS_SESSION_BUS_ADDRESS && has('dbus-run-session') && has('gnome-keyring-daemon')) {
    const inner = `echo -n test | gnome-keyring-daemon --unlock --components=secrets >/dev/null; exec "$0" "$@"`;
    wrapped = ['dbus-run-session', ['--', 'sh', '-c', inner, wrapped[0], ...wrapped[1]]];
  }
  if (!process.env.DISPLAY && has('xvfb-run')) wrapped = ['xvfb-run', ['-a', wrapped[0], ...wrapped[1]]];
  return wrapped;
}

function main() {
  const electron = findElectronBinary();
  if (!('path' in electron)) {
    console.log(`skipped: no Electron binary (${electron.reason}). Nothing was tested; run it where Electron runs — build/README.md.`);
    return 0;
  }
  if (run('npm', ['run', 'build']) !== 0) return 1;
  const native = NATIVE_FOR_ELECTRON.filter((m) => existsSync(join(ROOT, 'node_modules', m, 'package.json')));
  if (run('npx', ['electron-rebuild', '--force', '--only', native.join(',')]) !== 0) return 1;
  try {
    const [cmd, args] = wrapForLinux('npx', ['playwright', 'test', '--config', 'test/electron/playwright.config.ts', ...process.argv.slice(2)]);
    return run(cmd, args);
  } finally {
    // Back to Node's ABI for the Node tests and npm start.
    run('npm', ['rebuild', ...native]);
  }
}

process.exit(main());
