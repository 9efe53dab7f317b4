/**
 * The whole product on one machine, offline: gateway (with the in-process ALEX sandbox) + companion core
 * (imaging, outbox, LAN server, loopback launch listener) + the browser host serving the desktop UI.
 * `npm start` runs it; the end-to-end tests start one per test with temp folders and ephemeral ports.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { startCompanion } from '../../electron/core';
import { startLoopbackLaunchServer } from '../../electron/loopback/server';
import { MemorySecretStore, type SecretStore } from '../../electron/secrets';
import { hashEnrolmentCode, newEnrolmentCode } from '../../gateway/src/auth/credentials';
import { loadConfig } from '../../gateway/src/config';
import { cryptoRandom } from '../../gateway/src/deps';
import { createRuntime, type GatewayRuntime } from '../../gateway/src/runtime';
import type { RunningSandbox, SandboxOptions } from '../../gateway/src/sandbox';
import type { BridgeHandlers } from '../../shared/contracts/bridge';
import { DevFileSecretStoreForDevelopmentOnly, DevFileSettingsStore } from './dev-stores';
import { startBrowserHost } from './host';

export const DEV_FACILITY = 'F2N060-E';
export const DEV_PRACTICE = 'Sandbox Medical Centre';

export interface DevStackOptions {
  /** Holds gateway/ and companion/. */
  dataDir: string;
  /** dist/renderer */
  staticDir: string;
  gatewayPort?: number;
  hostPort?: number;
  /** Fixed in production; 0 (ephemeral) in tests. */
  launchPort?: number;
  /** LAN server bind address and port; false: no phone capture. */
  lan?: { host: string; port: number } | false;
  /** dist/renderer/mobile */
  mobileAssetsDir?: string;
  /** Enrol the companion with the gateway at start (a fresh code is minted either way). */
  autoEnrol?: boolean;
  /** Keep secrets in memory (tests) instead of the development secrets file. */
  memorySecrets?: boolean;
  sandbox?: SandboxOptions;
  logger?: Logger;
  roomLabel?: string;
}

export type DevStack = Awaited<ReturnType<typeof startDevStack>>;

/** The gateway on loopback with the in-process ALEX sandbox, which outlives gateway restarts (it stands for Medtech). */
async function startDevGateway(dir: string, options: DevStackOptions, logger: Logger) {
  const env = { GATEWAY_PORT: String(options.gatewayPort ?? 0), GATEWAY_HOST: '127.0.0.1', GATEWAY_DATA_DIR: dir, LOG_LEVEL: logger.level };
  const config = loadConfig(env);
  const log = logger.child({ component: 'gateway' });
  let gateway = await createRuntime({ config, logger: log, ...(options.sandbox ? { sandbox: options.sandbox } : {}) });
  const sandbox = gateway.sandbox;
  if (!sandbox) throw new Error('the development stack runs against the in-process ALEX sandbox');
  await gateway.app.listen({ host: '127.0.0.1', port: config.port });
  const port = (gateway.app.server.address() as { port: number }).port;
  const { clientId, clientSecret, scope } = sandbox.credentials;
  const alex = { baseUrl: sandbox.fhirBaseUrl, tokenUrl: sandbox.tokenUrl, clientId, clientSecrets: [clientSecret], scope };
  return {
    sandbox,
    url: `http://127.0.0.1:${port}`,
    get runtime(): GatewayRuntime {
      return gateway;
    },
    async mintCode(): Promise<string> {
      const code = newEnrolmentCode(cryptoRandom);
      const now = Date.now();
      await gateway.store.putEnrolmentCode({
        codeHash: hashEnrolmentCode(code),
        facilityId: DEV_FACILITY,
        practiceName: DEV_PRACTICE,
        createdAt: now,
        expiresAt: now + 24 * 3600 * 1000,
        usedAt: null,
        usedByDeviceId: null,
      });
      return code;
    },
    async stop(): Promise<void> {
      await gateway.app.close();
      gateway.alex.close();
    },
    /** Back on the same port, with the same store. */
    async restart(): Promise<void> {
      gateway = await createRuntime({ config: { ...config, port, alex }, logger: log, store: gateway.store });
      await gateway.app.listen({ host: '127.0.0.1', port });
    },
  };
}

/** The loopback launch listener, then the companion core (the core must know the listener's port to accept its URLs). */
async function startDevCompanion(dir: string, options: DevStackOptions, logger: Logger) {
  let launchInto: ((url: string) => Promise<unknown>) | null = null;
  const loopback = await startLoopbackLaunchServer({
    port: options.launchPort ?? 0,
    logger: logger.child({ component: 'loopback-launch' }),
    onLaunch: async (url) => {
      if (!launchInto) throw new Error('companion not ready');
      await launchInto(url);
    },
  });
  const secrets: SecretStore = options.memorySecrets ? new MemorySecretStore() : new DevFileSecretStoreForDevelopmentOnly(join(dir, 'dev-secrets.json'));
  const lan = options.lan === false ? false : { bindHost: options.lan?.host ?? '127.0.0.1', port: options.lan?.port ?? 0 };
  const companion = await startCompanion({
    dataDir: dir,
    secrets,
    settingsStore: new DevFileSettingsStore(join(dir, 'settings.json')),
    logger: logger.child({ component: 'companion' }),
    loopbackLaunchPort: loopback.port,
    lan: lan && options.mobileAssetsDir ? { ...lan, mobileAssetsDir: options.mobileAssetsDir } : lan,
  });
  launchInto = (url) => companion.core['launch.open']({ url });
  return { loopback, secrets, companion };
}

/** Points the companion at this run's gateway (a fresh port each run), enrolling it when asked. */
async function connectToGateway(core: BridgeHandlers, gatewayUrl: string, options: DevStackOptions, mintCode: () => Promise<string>): Promise<void> {
  const state = await core['app.getState']({});
  if (state.enrolment.enrolled) {
    if (state.enrolment.gatewayUrl !== gatewayUrl) await core['settings.set']({ patch: { gatewayUrl } });
    return;
  }
  await core['settings.set']({ patch: { gatewayUrl, ...(options.roomLabel ? { roomLabel: options.roomLabel } : {}) } });
  if (options.autoEnrol) await core['enrolment.enrol']({ gatewayUrl, enrolmentCode: await mintCode(), deviceName: 'Development PC' });
}

/** Asks the sandbox for a launch pair for this NHI, as Evolution would, and builds the custom-scheme URL. */
function launchUrl(sandbox: RunningSandbox, nhi: string, o: { facilityCode?: string; providerId?: string | null; createdTime?: Date }): string {
  const patient = sandbox.patients.find((p) => p.nhi === nhi);
  if (!patient) throw new Error(`no sandbox patient with NHI ${nhi}`);
  const pair = sandbox.issueLaunch({
    patientId: patient.id,
    facilityCode: o.facilityCode ?? DEV_FACILITY,
    ...(o.providerId === undefined ? {} : { providerId: o.providerId }),
    ...(o.createdTime ? { createdTime: o.createdTime } : {}),
  });
  return `clinicpro-images://launch?context=${encodeURIComponent(pair.context)}&signature=${encodeURIComponent(pair.signature)}`;
}

export async function startDevStack(options: DevStackOptions) {
  const logger = options.logger ?? pino({ level: process.env.LOG_LEVEL ?? 'info' });
  const gatewayDir = join(options.dataDir, 'gateway');
  const companionDir = join(options.dataDir, 'companion');
  await mkdir(gatewayDir, { recursive: true });
  await mkdir(companionDir, { recursive: true });
  const gw = await startDevGateway(gatewayDir, options, logger);
  const { loopback, secrets, companion } = await startDevCompanion(companionDir, options, logger);
  const enrolmentCode = await gw.mintCode();
  await connectToGateway(companion.core, gw.url, options, () => gw.mintCode());
  const host = await startBrowserHost({ core: companion.core, staticDir: options.staticDir, port: options.hostPort ?? 0, logger });
  const { sandbox } = gw;
  return {
    get gateway(): GatewayRuntime {
      return gw.runtime;
    },
    gatewayUrl: gw.url,
    sandbox,
    companion,
    host,
    loopback,
    secrets,
    /** A fresh one-time enrolment code (for the enrolment screen when not auto-enrolled). */
    enrolmentCode,
    newEnrolmentCode: () => gw.mintCode(),
    launchUrlFor: (nhi: string, o: Parameters<typeof launchUrl>[2] = {}): string => launchUrl(sandbox, nhi, o),
    /** Stop the gateway only (to show the outbox waiting); `restartGateway` brings it back on the same port. */
    stopGateway: () => gw.stop(),
    restartGateway: () => gw.restart(),
    async close(): Promise<void> {
      await host.close();
      await loopback.close();
      await companion.close();
      await gw.runtime.close().catch(() => undefined);
      await sandbox.close().catch(() => undefined);
    },
  };
}
