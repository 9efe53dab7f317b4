/**
 * `npm start`: the whole product on this machine, offline, with no credentials —
 * the gateway with the in-process ALEX sandbox, and the companion.
 *
 * - With the Electron binary present: the gateway runs here and the Electron app is started against it.
 * - Without it (e.g. a server or CI machine): it says so, runs the companion core in Node and serves the
 *   same desktop UI from the browser host on loopback, printing the address to open.
 *
 * Flags: --no-enrol (show the enrolment screen; the code to type is printed), --fresh (forget earlier data).
 * Env: CLINICPRO_DATA_DIR (default .data), CLINICPRO_LAUNCH_PORT (default 47900), CLINICPRO_HOST_PORT (default 47910),
 *      CLINICPRO_LAN_HOST / CLINICPRO_LAN_PORT (phone uploads; default 127.0.0.1:47800 — set the PC's LAN address to use a real phone).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { startDevStack } from './browser-host/stack';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const dataDir = resolve(process.env.CLINICPRO_DATA_DIR ?? join(root, '.data'));

/** The Electron binary's path, or null with the reason it is not usable. */
export function findElectronBinary(): { path: string } | { reason: string } {
  try {
    const require = createRequire(import.meta.url);
    const pkgDir = dirname(require.resolve('electron/package.json'));
    const pathFile = join(pkgDir, 'path.txt');
    if (!existsSync(pathFile)) return { reason: 'the Electron binary was not downloaded (no network for it on this machine)' };
    const bin = join(pkgDir, 'dist', readFileSync(pathFile, 'utf8').trim());
    return existsSync(bin) ? { path: bin } : { reason: `the Electron binary is missing at ${bin}` };
  } catch {
    return { reason: 'the electron package is not installed' };
  }
}

async function main(): Promise<void> {
  // Readable warnings for a person at a terminal; the product logs stay JSON.
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn', transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } } });
  if (args.has('--fresh')) await rm(dataDir, { recursive: true, force: true });

  console.log('Building the UI…');
  const build = spawnSync('node', ['scripts/build-renderer.mjs'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) {
    console.error('The UI did not build; see the messages above.');
    process.exit(1);
  }

  const electron = findElectronBinary();
  const staticDir = join(root, 'dist', 'renderer');
  const stack = await startDevStack({
    dataDir,
    staticDir,
    gatewayPort: Number(process.env.GATEWAY_PORT ?? 47700),
    launchPort: Number(process.env.CLINICPRO_LAUNCH_PORT ?? 47900),
    hostPort: Number(process.env.CLINICPRO_HOST_PORT ?? 47910),
    lan: { host: process.env.CLINICPRO_LAN_HOST ?? '127.0.0.1', port: Number(process.env.CLINICPRO_LAN_PORT ?? 47800) },
    mobileAssetsDir: join(staticDir, 'mobile'),
    autoEnrol: !args.has('--no-enrol'),
    logger,
  });
  // Where the launch simulator finds the running stack.
  await writeFile(
    join(dataDir, 'dev-stack.json'),
    JSON.stringify({ sandboxUrl: stack.sandbox.url, launchPort: stack.loopback.port, facility: 'F2N060-E', pid: process.pid }, null, 2),
    { mode: 0o600 },
  );

  const patients = stack.sandbox.patients.map((p) => `${p.nhi} (${p.givenName} ${p.familyName})`).join(', ');
  const lines = [
    '',
    'ClinicPro Images is running (offline, against the ALEX sandbox — no real patient data).',
    `  gateway       ${stack.gatewayUrl}`,
    `  ALEX sandbox  ${stack.sandbox.url}   faults: ${stack.sandbox.url}/_sandbox/faults`,
    `  launch        ${stack.loopback.launchTemplate}`,
    `  enrolment     code ${stack.enrolmentCode}  (gateway URL ${stack.gatewayUrl})`,
    `  patients      ${patients}`,
    `  launch one    npm run launch -- ZZZ0016`,
  ];
  if ('path' in electron) {
    lines.push('', `Starting the desktop app (Electron at ${electron.path})…`);
    const child = spawn(electron.path, [root, '--'], {
      stdio: 'inherit',
      env: { ...process.env, CLINICPRO_DEV_GATEWAY_URL: stack.gatewayUrl, CLINICPRO_DEV_ENROLMENT_CODE: stack.enrolmentCode },
    });
    child.on('exit', () => void stack.close().then(() => process.exit(0)));
  } else {
    lines.push(
      '',
      `No Electron desktop window: ${electron.reason}.`,
      'The same UI is served by the browser host instead. Open:',
      `  ${stack.host.url}`,
    );
  }
  console.log(lines.join('\n'));

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping…');
    stack
      .close()
      .then(() => process.exit(0))
      .catch(() => process.exit(1));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`ClinicPro Images could not start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
