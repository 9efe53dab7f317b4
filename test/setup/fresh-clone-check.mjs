#!/usr/bin/env node
/**
 * The README's set-up, checked on a fresh clone (run by .ci/run; `npm run test:fresh-clone`):
 *   1. `git clone` this repository's committed HEAD into a temporary folder (the shared photo fixtures linked
 *      beside it, as they sit beside this checkout);
 *   2. `npm start` there with the libsecret-1 headers hidden (PKG_CONFIG_LIBDIR → an empty folder), so keytar
 *      cannot build and `npm ci` must still succeed; wait for the printed browser-host address, GET the page,
 *      and stop it;
 *   3. `npm run test:prepare` there: npm test's own preparation passes, and does not install a second time.
 * The whole suite is not run a second time. npm reads packages from its cache first (--prefer-offline).
 * Plain Node, no imports from node_modules. Exit 0 only when every step passed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** npm ci compiles better-sqlite3 from source where no prebuilt binary can be fetched: minutes on 2 busy cores. */
const START_TIMEOUT_MS = Number(process.env.FRESH_CLONE_START_TIMEOUT_MS ?? 30 * 60_000);

function say(line) {
  console.log(`fresh clone: ${line}`);
}

async function freePort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

function cloneInto(base) {
  const repo = join(base, 'repo');
  const r = spawnSync('git', ['clone', '--quiet', '--no-hardlinks', ROOT, repo], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('git clone failed');
  const fixtures = resolve(ROOT, '..', 'shared');
  if (existsSync(fixtures)) symlinkSync(fixtures, join(base, 'shared'));
  return repo;
}

async function setupEnv(base) {
  const emptyPkgConfig = join(base, 'no-pkg-config');
  mkdirSync(emptyPkgConfig);
  const ports = { GATEWAY_PORT: 0, SANDBOX_PORT: 0, CLINICPRO_LAUNCH_PORT: 0, CLINICPRO_LAN_PORT: 0, CLINICPRO_HOST_PORT: 0 };
  for (const k of Object.keys(ports)) ports[k] = String(await freePort());
  return {
    ...process.env,
    ...ports,
    PKG_CONFIG_LIBDIR: emptyPkgConfig,
    npm_config_prefer_offline: 'true',
    CLINICPRO_LAN_HOST: '127.0.0.1',
    CLINICPRO_DATA_DIR: join(base, 'data'),
    LOG_LEVEL: 'error',
  };
}

/** Runs `npm start`, waits for the browser-host address, GETs the page; stops the process group either way. */
async function checkStart(repo, env) {
  say(`npm start (libsecret headers hidden: PKG_CONFIG_LIBDIR=${env.PKG_CONFIG_LIBDIR})…`);
  const child = spawn('npm', ['start'], { cwd: repo, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`no browser-host address within ${START_TIMEOUT_MS / 60_000} min`)), START_TIMEOUT_MS);
    const onData = (chunk) => {
      process.stdout.write(chunk);
      output += chunk.toString();
      const m = /^\s+(http:\/\/127\.0\.0\.1:\d+\/#token=\S+)$/m.exec(output);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (c) => process.stderr.write(c));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${code}) before serving the UI`));
    });
  });
  try {
    const page = new URL(url);
    page.hash = '';
    const res = await fetch(page);
    const html = await res.text();
    if (res.status !== 200 || !/<html/i.test(html) || !/ClinicPro Images/.test(html)) throw new Error(`GET ${page} answered ${res.status} without the desktop page`);
    say(`npm start served the desktop UI (GET ${page} → 200, ${html.length} bytes).`);
    if (/ALEX sandbox\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1] !== env.SANDBOX_PORT) throw new Error('the printout does not show the ALEX sandbox on SANDBOX_PORT');
    say(`the printout names every port (sandbox on SANDBOX_PORT=${env.SANDBOX_PORT}).`);
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* stopped */
    }
  }
}

function checkTestPreparation(repo, env) {
  say('npm run test:prepare (the preparation step of npm test)…');
  const r = spawnSync('npm', ['run', '--silent', 'test:prepare'], { cwd: repo, env, encoding: 'utf8' });
  process.stdout.write(r.stdout ?? '');
  process.stderr.write(r.stderr ?? '');
  if (r.status !== 0) throw new Error(`npm test's preparation failed (exit ${r.status})`);
  if (/running npm ci/.test(r.stdout)) throw new Error('npm test reinstalled node_modules that npm start had just installed');
  if (existsSync(join(repo, 'node_modules', 'keytar', 'build', 'Release', 'keytar.node'))) throw new Error('keytar was built although the libsecret headers were hidden');
  say('npm test\'s preparation passed without reinstalling; keytar was left out (no libsecret headers) and npm ci still succeeded.');
}

async function main() {
  const base = mkdtempSync(join(tmpdir(), 'cpi-fresh-clone-'));
  try {
    const repo = cloneInto(base);
    const env = await setupEnv(base);
    await checkStart(repo, env);
    checkTestPreparation(repo, env);
    say('passed.');
    return true;
  } catch (err) {
    say(`FAILED: ${err instanceof Error ? err.message : String(err)}`);
    return false;
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

process.exit((await main()) ? 0 : 1);
