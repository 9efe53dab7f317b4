import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const HERE = dirname(fileURLToPath(import.meta.url));
const SCRIPT = join(HERE, 'run.mjs');
/** The runner finds the binary as `npm start` does: with the preparation step's `findElectronBinary`. */
const PREPARE = join(HERE, '..', '..', 'scripts', 'setup', 'prepare.mjs');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cpi-electron-runner-'));
  mkdirSync(join(dir, 'test', 'electron'), { recursive: true });
  copyFileSync(SCRIPT, join(dir, 'test', 'electron', 'run.mjs'));
  mkdirSync(join(dir, 'scripts', 'setup'), { recursive: true });
  copyFileSync(PREPARE, join(dir, 'scripts', 'setup', 'prepare.mjs'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('npm run test:electron where Electron cannot run', () => {
  it('says it skipped, why, and claims no pass (exit 0, no "passed" for a CI count to pick up)', () => {
    // The electron package without its binary: what `npm ci` leaves on a machine that cannot download it.
    mkdirSync(join(dir, 'node_modules', 'electron'), { recursive: true });
    writeFileSync(join(dir, 'node_modules', 'electron', 'package.json'), '{"name":"electron"}');
    const r = spawnSync('node', ['test/electron/run.mjs'], { cwd: dir, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      'skipped: no Electron binary (the Electron binary was not downloaded on this machine). Nothing was tested; run it where Electron runs — build/README.md.',
    ]);
    expect(r.stdout).not.toMatch(/\d+ passed/);
  });

  it('names a missing electron package as the reason', () => {
    const r = spawnSync('node', ['test/electron/run.mjs'], { cwd: dir, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('skipped: no Electron binary (the electron package is not installed)');
  });
});
