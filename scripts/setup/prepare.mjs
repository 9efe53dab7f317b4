#!/usr/bin/env node
/**
 * The preparation step of `npm start` and `npm test` (`node scripts/setup/prepare.mjs start|test`): Node, Debian
 * packages, node_modules, the Electron binary, keytar (what each step does: scripts/README.md). Plain Node with no
 * imports from node_modules, because it runs before they exist.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Debian packages, with why each is needed: `build` only while npm ci runs; `start` ⊂ `test`. */
export const DEBIAN_PACKAGES = {
  build: {
    'g++': 'building native modules that have no prebuilt binary here (better-sqlite3, keytar)',
    make: 'building native modules',
    python3: 'building native modules (node-gyp)',
    'pkg-config': 'finding libsecret when keytar is built',
  },
  start: {
    'fonts-dejavu-core': 'the caption text burned into images',
  },
  test: {
    chromium: 'the end-to-end tests (Playwright drives Debian’s Chromium)',
    'redis-server': 'the gateway’s shared-state tests',
    'libheif-examples': 'HEIC test photos (heif-enc)',
    qpdf: 'an independent PDF check',
    'poppler-utils': 'an independent PDF check (pdfinfo)',
    'libsecret-1-dev': 'building keytar, for the real OS-credential-store test',
    'gnome-keyring': 'the real OS-credential-store test',
    dbus: 'the real OS-credential-store test',
    'dbus-x11': 'the real OS-credential-store test',
    'fiu-utils': 'I/O fault injection tests',
    zzuf: 'mutated-image tests',
    iproute2: 'network interface tests',
    'util-linux': 'process and storage tests',
    haproxy: 'the shipped load balancer rules, run for real in the attack tests',
  },
};

/** The packages `npm <purpose>` needs; the build tools only when node_modules must be installed first. */
export function packagesFor(purpose, installing = true) {
  return [
    ...(installing ? Object.keys(DEBIAN_PACKAGES.build) : []),
    ...Object.keys(DEBIAN_PACKAGES.start),
    ...(purpose === 'test' ? Object.keys(DEBIAN_PACKAGES.test) : []),
  ];
}

const say = (line) => console.log(`setup: ${line}`);
const run = (cmd, args, options = {}) => spawnSync(cmd, args, { stdio: 'inherit', cwd: ROOT, ...options });
const hasCommand = (name) => spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;

/** "20.19.0" ≥ "20.19"? */
export function versionAtLeast(version, minimum) {
  const a = version.replace(/^v/, '').split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < b.length; i++) {
    if ((a[i] ?? 0) !== b[i]) return (a[i] ?? 0) > b[i];
  }
  return true;
}

function checkNode() {
  const wanted = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).engines?.node ?? '>=20.19').replace(/^>=\s*/, '');
  if (!versionAtLeast(process.version, wanted)) {
    say(`Node ${process.version} is too old: ClinicPro Images needs Node ${wanted} or newer (Node 20 LTS is fine).`);
    return false;
  }
  say(`Node ${process.version}: fine.`);
  return true;
}

/** The packages dpkg does not list as installed. */
export function missingDebianPackages(names, query = (name) => spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' }).stdout ?? '') {
  return names.filter((name) => !/install ok installed/.test(query(name)));
}

/** How this user can install system packages: '' (root), 'sudo' (without a password), or null. */
function installerPrefix() {
  if (!hasCommand('apt-get')) return null;
  if (process.getuid?.() === 0) return '';
  if (hasCommand('sudo') && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0) return 'sudo';
  return null;
}

function ensureDebianPackages(purpose, installing) {
  const wanted = packagesFor(purpose, installing);
  if (!hasCommand('dpkg-query')) {
    say(`not a Debian system: install the equivalents of ${wanted.join(', ')} yourself.`);
    return true;
  }
  const missing = missingDebianPackages(wanted);
  if (missing.length === 0) {
    say(`Debian packages for ${purpose === 'test' ? 'the tests' : 'running the product'}: all installed.`);
    return true;
  }
  const reasons = { ...DEBIAN_PACKAGES.build, ...DEBIAN_PACKAGES.start, ...DEBIAN_PACKAGES.test };
  for (const name of missing) say(`missing Debian package ${name} (for ${reasons[name]})`);
  const prefix = installerPrefix();
  const command = `${prefix === '' ? '' : 'sudo '}apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (prefix === null) {
    say('this user cannot install system packages. Run this once, then try again:');
    console.log(`\n    sudo apt-get update && ${command}\n`);
    return false;
  }
  say(`installing them: ${prefix ? 'sudo ' : ''}apt-get update && ${command}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const aptGet = (args) => (prefix ? run('sudo', ['apt-get', ...args], { env }) : run('apt-get', args, { env }));
  const update = aptGet(['update', '-qq']);
  const install = update.status === 0 ? aptGet(['install', '-y', '-qq', '--no-install-recommends', ...missing]) : update;
  if (install.status !== 0) {
    say('apt-get did not finish; see its messages above.');
    return false;
  }
  return true;
}

/**
 * node_modules: 'missing', 'stale' (package-lock.json is newer than npm's record of the last install),
 * 'linked' (a symbolic link: shared with another checkout, never reinstalled from here) or 'fresh'.
 */
export function nodeModulesState(root = ROOT) {
  const dir = join(root, 'node_modules');
  const link = lstatSync(dir, { throwIfNoEntry: false });
  if (link === undefined) return 'missing';
  if (link.isSymbolicLink()) return 'linked';
  const record = join(dir, '.package-lock.json');
  if (!existsSync(record)) return 'missing';
  return statSync(join(root, 'package-lock.json')).mtimeMs > statSync(record).mtimeMs ? 'stale' : 'fresh';
}

function ensureNodeModules() {
  const state = nodeModulesState();
  if (state === 'fresh') {
    say('node_modules: up to date with package-lock.json.');
    return true;
  }
  if (state === 'linked') {
    say('node_modules is a link to a shared folder: not reinstalling it from here.');
    return true;
  }
  say(`node_modules ${state === 'missing' ? 'is missing' : 'is older than package-lock.json'}: running npm ci (a few minutes the first time)…`);
  // The Electron binary is fetched afterwards, on its own, so a machine that cannot download it still installs.
  const ci = run('npm', ['ci', '--no-audit', '--no-fund'], { env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' } });
  if (ci.status !== 0) {
    say('npm ci failed; see its messages above.');
    return false;
  }
  ensureElectronBinary();
  return true;
}

/** The Electron binary's path, or the reason there is none. */
export function findElectronBinary() {
  const dir = join(ROOT, 'node_modules', 'electron');
  const pathFile = join(dir, 'path.txt');
  if (!existsSync(join(dir, 'package.json'))) return { reason: 'the electron package is not installed' };
  if (!existsSync(pathFile)) return { reason: 'the Electron binary was not downloaded on this machine' };
  const bin = join(dir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(bin) ? { path: bin } : { reason: `the Electron binary is missing at ${bin}` };
}

function ensureElectronBinary() {
  if (!existsSync(join(ROOT, 'node_modules', 'electron', 'install.js'))) return;
  if ('path' in findElectronBinary()) {
    say('Electron binary: present (npm start opens the desktop window).');
    return;
  }
  if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) {
    say('Electron binary: not fetched (ELECTRON_SKIP_BINARY_DOWNLOAD is set); npm start serves the UI from the browser host.');
    return;
  }
  say('Electron binary: fetching it (once)…');
  const r = spawnSync('node', ['install.js'], { cwd: join(ROOT, 'node_modules', 'electron'), encoding: 'utf8', timeout: 180_000 });
  if (r.status === 0 && 'path' in findElectronBinary()) say('Electron binary: fetched.');
  else say('Electron binary: could not be downloaded on this machine; npm start serves the UI from the browser host instead.');
}

function reportCredentialStore() {
  if (!existsSync(join(ROOT, 'node_modules'))) return;
  if (existsSync(join(ROOT, 'node_modules', 'keytar', 'build', 'Release', 'keytar.node'))) {
    say('OS credential store: keytar is built.');
    return;
  }
  say(
    'OS credential store: keytar is not built here (it needs libsecret-1-dev). A development run of the app keeps its ' +
      'secrets in a DEVELOPMENT ONLY file and says so; the real keytar test is skipped. Installed builds always use the OS store.',
  );
}

function checkFixtures() {
  const dir = resolve(ROOT, '..', 'shared', 'fixtures', 'photos');
  if (existsSync(dir)) {
    say(`test photos: ${dir}.`);
    return true;
  }
  say(`the tests read the team's shared photo fixtures from ${dir} (read-only), and it is not there. Put the shared folder beside this checkout.`);
  return false;
}

export function prepare(purpose) {
  say(`preparing for npm ${purpose}.`);
  if (!checkNode()) return false;
  const state = nodeModulesState();
  if (!ensureDebianPackages(purpose, state === 'missing' || state === 'stale')) return false;
  if (!ensureNodeModules()) return false;
  reportCredentialStore();
  if (purpose === 'test' && !checkFixtures()) return false;
  say('ready.');
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const purpose = process.argv[2];
  if (purpose !== 'start' && purpose !== 'test') {
    console.error('usage: node scripts/setup/prepare.mjs start|test');
    process.exit(2);
  }
  process.exit(prepare(purpose) ? 0 : 1);
}
