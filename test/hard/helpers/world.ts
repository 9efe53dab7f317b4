/**
 * The gateway and the ALEX sandbox as two real HTTP servers on 127.0.0.1 with fault proxies between the
 * parts: companion → [gatewayProxy] → gateway → [alexProxy] → sandbox. Every log line of the gateway (and its
 * ALEX client) and of the sandbox is captured at trace level, for the privacy checks.
 */
import { captureLogger } from '../../helpers/capture-logger';
import type { EnrolResponse, LaunchGrant } from '../../../shared/contracts/gateway';
import { Auditor } from '../../../gateway/src/audit';
import { DeviceService } from '../../../gateway/src/auth/devices';
import { loadConfig, type GatewayConfig } from '../../../gateway/src/config';
import { cryptoRandom, systemClock } from '../../../gateway/src/deps';
import { createRuntime, type GatewayRuntime, type RuntimeOptions } from '../../../gateway/src/runtime';
import { startSandbox, type RunningSandbox, type SandboxPatient } from '../../../gateway/src/sandbox';
import { SqliteStore } from '../../../gateway/src/store/sqlite';
import { startFaultProxy, type FaultPlan, type FaultProxy } from '../fault-proxy/proxy';

export const FACILITY = 'F2N060-E';

export { captureLogger };

export interface World {
  sandbox: RunningSandbox;
  gateway: GatewayRuntime;
  config: GatewayConfig;
  /** Direct gateway address (no faults). */
  gatewayDirectUrl: string;
  /** Companion → gateway, through a fault proxy. */
  gatewayProxy: FaultProxy;
  /** Gateway → ALEX sandbox, through a fault proxy. */
  alexProxy: FaultProxy;
  devices: DeviceService;
  logs: { gateway: string[]; sandbox: string[] };
  patient(nhi: string): SandboxPatient;
  enrol(name?: string): Promise<EnrolResponse>;
  launch(device: EnrolResponse, nhi: string): Promise<LaunchGrant>;
  close(): Promise<void>;
}

export interface WorldOptions {
  gatewayPlan?: FaultPlan;
  alexPlan?: FaultPlan;
  random?: () => number;
  alexClient?: RuntimeOptions['alexClient'];
  env?: Record<string, string>;
  /**
   * The gateway's outcome windows (commit/outcome.ts), in seconds. The env settings have a floor of 30 s, right for
   * a real ALEX; a world that runs in real time passes shorter ones here, keeping maxProcessingSeconds above the
   * sandbox's search lag (what the product's rule needs: a stored Media shows before absence is concluded).
   */
  alexOutcome?: GatewayConfig['alexOutcome'];
  /** The sandbox's search lag (default 60 s). */
  sandboxSearchLagSeconds?: number;
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const logs = { gateway: [] as string[], sandbox: [] as string[] };
  const random = options.random ?? Math.random;
  const sandbox = await startSandbox({
    host: '127.0.0.1',
    port: 0,
    tokenThrottle: false,
    logger: captureLogger(logs.sandbox),
    random,
    ...(options.sandboxSearchLagSeconds === undefined ? {} : { searchLagSeconds: options.sandboxSearchLagSeconds }),
  });
  if (options.alexOutcome && options.alexOutcome.maxProcessingSeconds <= (options.sandboxSearchLagSeconds ?? 60)) {
    throw new Error('alexOutcome.maxProcessingSeconds must exceed the sandbox search lag, or a stored Media could be taken as absent');
  }
  const alexProxy = await startFaultProxy({ target: sandbox.url, random, ...(options.alexPlan ? { plan: options.alexPlan } : {}) });
  // The gateway builds absolute Patient references from the base it calls: the proxy's.
  sandbox.faults.clear();
  const loaded = loadConfig({
    LOG_LEVEL: 'trace',
    GATEWAY_DATA_DIR: '/nonexistent-not-used',
    ALEX_BASE_URL: `${alexProxy.url}/FHIR`,
    ALEX_TOKEN_URL: `${alexProxy.url}${sandbox.tokenPath}`,
    ALEX_CLIENT_ID: sandbox.credentials.clientId,
    ALEX_CLIENT_SECRET: sandbox.credentials.clientSecret,
    ALEX_SCOPE: sandbox.credentials.scope,
    RATE_LIMIT_DEVICE_BURST: '100000',
    RATE_LIMIT_DEVICE_PER_MINUTE: '1000000',
    RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '100000',
    ...options.env,
  });
  const config: GatewayConfig = options.alexOutcome ? { ...loaded, alexOutcome: options.alexOutcome } : loaded;
  const store = new SqliteStore(':memory:');
  const gateway = await createRuntime({ config, logger: captureLogger(logs.gateway), store, ...(options.alexClient ? { alexClient: options.alexClient } : {}) });
  const gatewayDirectUrl = await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  const gatewayProxy = await startFaultProxy({ target: gatewayDirectUrl, random, ...(options.gatewayPlan ? { plan: options.gatewayPlan } : {}) });
  const devices = new DeviceService(store, systemClock, cryptoRandom, config.rateLimit, new Auditor(store, systemClock, cryptoRandom));

  const patient = (nhi: string): SandboxPatient => {
    const p = sandbox.patients.find((x) => x.nhi === nhi);
    if (!p) throw new Error(`no sandbox patient ${nhi}`);
    return p;
  };
  const post = async (path: string, body: unknown, auth?: string): Promise<Response> =>
    fetch(`${gatewayDirectUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
      body: JSON.stringify(body),
    });
  return {
    sandbox,
    gateway,
    config,
    gatewayDirectUrl,
    gatewayProxy,
    alexProxy,
    devices,
    logs,
    patient,
    async enrol(name = 'Consult room 1') {
      const { code } = await devices.issueEnrolmentCode(FACILITY, 'Test Practice', 72);
      const res = await post('/v1/devices/enrol', { enrolmentCode: code, deviceName: name });
      if (res.status !== 201) throw new Error(`enrol failed: ${res.status}`);
      return (await res.json()) as EnrolResponse;
    },
    async launch(device, nhi) {
      const pair = sandbox.issueLaunch({ patientId: patient(nhi).id, facilityCode: device.facilityId });
      const res = await post('/v1/launch/verify', pair, `Device ${device.deviceId}.${device.deviceSecret}`);
      if (res.status !== 200) throw new Error(`launch failed: ${res.status}`);
      return (await res.json()) as LaunchGrant;
    },
    async close() {
      await gatewayProxy.close();
      await gateway.close();
      await alexProxy.close();
      await sandbox.close();
    },
  };
}
