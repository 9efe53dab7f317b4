import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { missingDebianPackages, nodeModulesState, packagesFor, versionAtLeast } from './prepare.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cpi-prepare-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('what npm start / npm test need', () => {
  it('the tests need everything npm start needs, plus Chromium and Redis', () => {
    expect(packagesFor('test')).toEqual(expect.arrayContaining([...packagesFor('start'), 'chromium', 'redis-server', 'qpdf']));
    expect(packagesFor('start')).not.toContain('chromium');
    // The compilers only while node_modules is being installed (native modules without a prebuilt binary).
    expect(packagesFor('start', true)).toContain('g++');
    expect(packagesFor('start', false)).not.toContain('g++');
    expect(packagesFor('test', false)).toEqual(expect.arrayContaining(['chromium', 'fonts-dejavu-core']));
    // keytar's headers are wanted for the real credential-store test, never required to install.
    expect(packagesFor('start')).not.toContain('libsecret-1-dev');
  });

  it('lists only the packages dpkg does not show as installed', () => {
    const status: Record<string, string> = { a: 'install ok installed', b: 'deinstall ok config-files', c: '' };
    expect(missingDebianPackages(['a', 'b', 'c'], (n) => status[n] ?? '')).toEqual(['b', 'c']);
  });

  it('compares Node versions as numbers', () => {
    expect(versionAtLeast('v20.19.0', '20.19')).toBe(true);
    expect(versionAtLeast('v20.20.2', '20.19')).toBe(true);
    expect(versionAtLeast('v20.9.0', '20.19')).toBe(false);
    expect(versionAtLeast('v22.1.0', '20.19')).toBe(true);
    expect(versionAtLeast('v18.20.0', '20.19')).toBe(false);
  });
});

describe('node_modules', () => {
  it('is missing, stale (lockfile newer than the last install), fresh, or a shared link never reinstalled', () => {
    writeFileSync(join(dir, 'package-lock.json'), '{}');
    expect(nodeModulesState(dir)).toBe('missing');
    mkdirSync(join(dir, 'node_modules'));
    expect(nodeModulesState(dir)).toBe('missing');
    writeFileSync(join(dir, 'node_modules', '.package-lock.json'), '{}');
    utimesSync(join(dir, 'package-lock.json'), new Date(2026, 0, 1), new Date(2026, 0, 1));
    utimesSync(join(dir, 'node_modules', '.package-lock.json'), new Date(2026, 0, 2), new Date(2026, 0, 2));
    expect(nodeModulesState(dir)).toBe('fresh');
    utimesSync(join(dir, 'package-lock.json'), new Date(2026, 0, 3), new Date(2026, 0, 3));
    expect(nodeModulesState(dir)).toBe('stale');
    const other = join(dir, 'elsewhere');
    rmSync(join(dir, 'node_modules'), { recursive: true });
    mkdirSync(other);
    symlinkSync(other, join(dir, 'node_modules'));
    expect(nodeModulesState(dir)).toBe('linked');
  });
});

/** A copy of the repository's manifest and the script, so the script's own ROOT is this temp folder. */
function scratchRepo(): string {
  const repo = join(dir, 'repo');
  mkdirSync(join(repo, 'scripts', 'setup'), { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(repo, 'package.json'));
  writeFileSync(join(repo, 'package-lock.json'), '{}');
  copyFileSync(join(ROOT, 'scripts', 'setup', 'prepare.mjs'), join(repo, 'scripts', 'setup', 'prepare.mjs'));
  return repo;
}

/** A MOCK `npm` first on PATH: records its arguments and ELECTRON_SKIP_BINARY_DOWNLOAD, and installs an empty node_modules. */
function mockNpm(): { bin: string; log: string } {
  const bin = join(dir, 'mock-bin');
  const log = join(dir, 'mock-npm.log');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'npm'),
    `#!/bin/sh\necho "$* skip=$ELECTRON_SKIP_BINARY_DOWNLOAD" >> "${log}"\nmkdir -p node_modules && echo '{}' > node_modules/.package-lock.json\n`,
  );
  chmodSync(join(bin, 'npm'), 0o755);
  return { bin, log };
}

describe('prepare.mjs start, as npm start runs it', () => {
  it('runs npm ci (Electron binary fetched separately) when node_modules is missing, and not again once installed', () => {
    const repo = scratchRepo();
    const npm = mockNpm();
    const env = { ...process.env, PATH: `${npm.bin}:${process.env.PATH ?? ''}` };
    const first = spawnSync('node', ['scripts/setup/prepare.mjs', 'start'], { cwd: repo, env, encoding: 'utf8' });
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain('setup: node_modules is missing: running npm ci');
    expect(first.stdout).toContain('setup: ready.');
    expect(readFileSync(npm.log, 'utf8')).toBe('ci --no-audit --no-fund skip=1\n');
    const second = spawnSync('node', ['scripts/setup/prepare.mjs', 'start'], { cwd: repo, env, encoding: 'utf8' });
    expect(second.status).toBe(0);
    expect(second.stdout).toContain('setup: node_modules: up to date with package-lock.json.');
    expect(readFileSync(npm.log, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('never reinstalls a node_modules that is a link to a shared folder, even one that looks incomplete', () => {
    const repo = scratchRepo();
    const shared = join(dir, 'shared-node_modules');
    mkdirSync(shared);
    writeFileSync(join(shared, 'marker'), 'kept');
    symlinkSync(shared, join(repo, 'node_modules'));
    const npm = mockNpm();
    const r = spawnSync('node', ['scripts/setup/prepare.mjs', 'start'], { cwd: repo, env: { ...process.env, PATH: `${npm.bin}:${process.env.PATH ?? ''}` }, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('node_modules is a link to a shared folder: not reinstalling it from here.');
    expect(readdirSync(dir)).not.toContain('mock-npm.log');
    expect(readdirSync(shared)).toEqual(['marker']);
  });

  it('refuses an unknown purpose with its usage', () => {
    const r = spawnSync('node', [join(ROOT, 'scripts', 'setup', 'prepare.mjs'), 'deploy'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('usage: node scripts/setup/prepare.mjs start|test');
  });
});
