/**
 * Starting the real Electron app for a spec: an isolated data folder (`--user-data-dir`), its own loopback ports,
 * pointed at a development gateway with the in-process ALEX sandbox (scripts/browser-host/stack.ts, loopback only).
 * A second launch runs the same binary with the same data folder, as Windows does when Evolution opens a
 * `clinicpro-images://` link while the app runs.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { _electron, type ElectronApplication, type Page } from '@playwright/test';
import pino from 'pino';
import { startDevStack, type DevStack } from '../../scripts/browser-host/stack';

export const ROOT = process.cwd();
export const AROHA = { nhi: 'ZZZ0016', name: 'TESTPATIENT, Aroha' };
export const WIREMU = { nhi: 'ZZZ0024', name: 'TESTPATIENT, Wiremu' };
export const FIXTURE_PHOTO = join(ROOT, '..', 'shared', 'fixtures', 'photos', 'photo-1600-portrait.png');

/** The development Electron binary (node_modules/electron), or null. */
export function electronBinary(): string | null {
  const dir = join(ROOT, 'node_modules', 'electron');
  const pathFile = join(dir, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const bin = join(dir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(bin) ? bin : null;
}

/** The packaged executable electron-builder made (CLINICPRO_ELECTRON_APP, or release/<platform>-unpacked/), or null. */
export function packagedExecutable(): string | null {
  const fromEnv = process.env.CLINICPRO_ELECTRON_APP;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : null;
  const release = join(ROOT, 'release');
  if (!existsSync(release)) return null;
  for (const dir of readdirSync(release).filter((d) => d.endsWith('-unpacked'))) {
    for (const name of ['ClinicPro Images.exe', 'clinicpro-images', 'ClinicPro Images']) {
      const p = join(release, dir, name);
      if (existsSync(p)) return p;
    }
  }
  return null;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export interface RunningApp {
  app: ElectronApplication;
  window: Page;
  stack: DevStack;
  userDataDir: string;
  /** Runs the binary again with `args` after `--`, as a second launch; resolves with its exit code. */
  secondLaunch(argsAfterSeparator: string[]): Promise<number | null>;
  close(): Promise<void>;
}

export async function startApp(): Promise<RunningApp> {
  const bin = electronBinary();
  if (!bin) throw new Error('no Electron binary: run this through npm run test:electron');
  const dir = await mkdtemp(join(tmpdir(), 'cpi-electron-'));
  const userDataDir = join(dir, 'user-data');
  await mkdir(userDataDir, { recursive: true });
  const stack = await startDevStack({
    dataDir: join(dir, 'stack'),
    staticDir: join(ROOT, 'dist', 'renderer'),
    autoEnrol: false,
    memorySecrets: true,
    lan: false,
    logger: pino({ level: 'silent' }),
  });
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    CLINICPRO_DEV_GATEWAY_URL: stack.gatewayUrl,
    CLINICPRO_LAUNCH_PORT: String(await freePort()),
    CLINICPRO_LAN_PORT: String(await freePort()),
    CLINICPRO_LAN_HOST: '127.0.0.1',
    // Linux: protocol registration (xdg-mime) and the keyring stay inside the test folder.
    XDG_CONFIG_HOME: join(dir, 'xdg-config'),
    XDG_DATA_HOME: join(dir, 'xdg-data'),
  };
  const dataArg = `--user-data-dir=${userDataDir}`;
  const app = await _electron.launch({ executablePath: bin, args: [ROOT, dataArg], env, cwd: ROOT });
  const window = await app.firstWindow();
  const actual = await app.evaluate(({ app: a }) => a.getPath('userData'));
  if (actual !== userDataDir) throw new Error(`the app ignored --user-data-dir (it uses ${actual}); stopping before it touches real data`);
  return {
    app,
    window,
    stack,
    userDataDir,
    secondLaunch(argsAfterSeparator) {
      const child = spawn(bin, [ROOT, dataArg, '--', ...argsAfterSeparator], { env, stdio: 'ignore' });
      return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    },
    async close() {
      await app.close().catch(() => undefined);
      await stack.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Enrols the app through its first-run screen with a fresh code from the development gateway. */
export async function enrolThroughUi(running: RunningApp): Promise<void> {
  const page = running.window;
  await page.getByLabel('Enrolment code').fill(await running.stack.newEnrolmentCode());
  await page.getByLabel('Name for this PC').fill('Electron test PC');
  await page.getByRole('button', { name: 'Enrol this PC' }).click();
}
