/** The Electron main process entry and composition root (bundled to dist/electron/main.cjs). */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as electron from 'electron';
import pino from 'pino';
import { startCompanion } from '../core/compose';
import { advertiseCompanion } from '../discovery/advertiser';
import { detectLanAddress } from '../lan/interfaces';
import { startLoopbackLaunchServer } from '../loopback/server';
import { openSecretStore, SecretStoreUnavailableError } from '../secrets';
import { ElectronStoreSettingsStore } from './settings-store';
import { startShell } from './shell';

const LAUNCH_PORT = 47900;
const LAN_PORT = 47800;

export async function main(): Promise<void> {
  const log = pino(
    {
      level: process.env.CLINICPRO_LOG_LEVEL ?? 'info',
      redact: { paths: ['*.context', '*.signature', '*.token', '*.nhi', '*.patient', '*.name', '*.birthDate', '*.data'], censor: '[redacted]' },
    },
    pino.destination({ dest: join(electron.app.getPath('userData'), 'logs', 'companion.log'), mkdir: true, sync: false }),
  );
  const secrets = openSecretStore({
    packaged: electron.app.isPackaged,
    developmentFile: join(electron.app.getPath('userData'), 'DEVELOPMENT-ONLY-secrets.json'),
    warn: (message) => {
      console.error(message);
      log.warn(message);
    },
  });
  await startShell({
    electron,
    logger: log,
    rendererDir: join(__dirname, '..', 'renderer'),
    preloadPath: join(__dirname, 'preload.cjs'),
    iconPath: join(__dirname, '..', '..', 'build', 'icon.png'),
    argv: process.argv,
    execPath: process.execPath,
    startCompanion,
    startLoopback: startLoopbackLaunchServer,
    secrets: () => secrets,
    settingsStore: () => new ElectronStoreSettingsStore(),
    launchPort: Number(process.env.CLINICPRO_LAUNCH_PORT ?? LAUNCH_PORT),
    lanPort: Number(process.env.CLINICPRO_LAN_PORT ?? LAN_PORT),
    lanHost: () => detectLanAddress(process.env.CLINICPRO_LAN_HOST)?.address,
    advertise: advertiseCompanion,
    deviceShortId: createHash('sha256').update(hostname()).digest('hex').slice(0, 8),
    ...(process.env.CLINICPRO_DEV_GATEWAY_URL ? { devGatewayUrl: process.env.CLINICPRO_DEV_GATEWAY_URL } : {}),
  });
}

if (process.versions.electron) {
  main().catch((err: unknown) => {
    const detail = err instanceof SecretStoreUnavailableError ? err.message : 'Please restart the PC. If it happens again, call ClinicPro support.';
    electron.dialog.showErrorBox('ClinicPro Images could not start', detail);
    electron.app.exit(1);
  });
}
