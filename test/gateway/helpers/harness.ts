/**
 * A real gateway wired to the real in-process ALEX sandbox (over HTTP on loopback), with an injected
 * clock shared by both, and a chosen store. Helpers enrol a device, launch for a patient and build
 * commit bodies from real image bytes.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { CommitRequest, EnrolResponse, LaunchGrant } from '../../../shared/contracts/gateway';
import { Auditor } from '../../../gateway/src/audit';
import type { ProofReplayCache } from '../../../gateway/src/auth/replay';
import { DeviceService } from '../../../gateway/src/auth/devices';
import { loadConfig, type GatewayConfig } from '../../../gateway/src/config';
import { cryptoRandom } from '../../../gateway/src/deps';
import { ManualClock } from '../../../gateway/src/deps.testkit';
import { createLogger } from '../../../gateway/src/logger';
import { createRuntime, type GatewayRuntime } from '../../../gateway/src/runtime';
import type { RunningSandbox, SandboxOptions, SandboxPatient } from '../../../gateway/src/sandbox';
import { makeAttachments } from '../../../gateway/src/sandbox/test-support';
import { SqliteStore } from '../../../gateway/src/store/sqlite';
import type { GatewayStore } from '../../../gateway/src/store/types';

export const FACILITY = 'F2N060-E';
export const OTHER_FACILITY = 'F99669-C';

export interface Harness {
  runtime: GatewayRuntime;
  app: FastifyInstance;
  sandbox: RunningSandbox;
  store: GatewayStore;
  clock: ManualClock;
  config: GatewayConfig;
  devices: DeviceService;
  /** Every log line the gateway (and its ALEX client) wrote. */
  logs: string[];
  attachments: { jpeg: Buffer; png: Buffer; tiff: Buffer; pdf: Buffer };
  patient(nhi?: string): SandboxPatient;
  enrol(facility?: string, name?: string): Promise<EnrolResponse>;
  auth(device: EnrolResponse): string;
  launch(device: EnrolResponse, nhi?: string): Promise<LaunchGrant>;
  commitBody(grant: LaunchGrant, targets: { media?: boolean; document?: boolean; imageId?: string }): CommitRequest;
  commit(device: EnrolResponse, body: unknown, key?: string | null): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  store?: GatewayStore;
  /** The DPoP replay cache (default: the runtime's, in memory without REDIS_URL). */
  proofReplayCache?: ProofReplayCache;
  env?: Record<string, string>;
  /** The sandbox's sleep (its latency faults wait on it); default: none, every fault answers at once. */
  sandboxSleep?: (ms: number) => Promise<void>;
  /** The ALEX client's per-attempt timeout (default 2 s). */
  alexTimeoutMs?: number;
  /** Sandbox assumptions to switch on (default none: the strict sandbox). */
  sandboxAssumptions?: SandboxOptions['assumptions'];
  /** What the sandbox's faults draw their probabilities from (default Math.random). */
  sandboxRandom?: () => number;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const clock = new ManualClock(Date.now());
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  const config = loadConfig({ LOG_LEVEL: 'trace', GATEWAY_DATA_DIR: '/nonexistent-not-used', RATE_LIMIT_DEVICE_BURST: '100000', ...options.env });
  const logger = createLogger({ level: 'trace', destination: sink });
  const store = options.store ?? new SqliteStore(':memory:');
  const runtime = await createRuntime({
    config,
    logger,
    clock,
    store,
    ...(options.proofReplayCache ? { proofReplayCache: options.proofReplayCache } : {}),
    sandbox: { clock: () => clock.now(), sleep: options.sandboxSleep ?? (async () => undefined), tokenThrottle: false, ...(options.sandboxAssumptions ? { assumptions: options.sandboxAssumptions } : {}), ...(options.sandboxRandom ? { random: options.sandboxRandom } : {}) },
    alexClient: { sleep: async () => undefined, timeoutMs: options.alexTimeoutMs ?? 2_000 },
  });
  const sandbox = runtime.sandbox;
  if (!sandbox) throw new Error('expected the in-process sandbox');
  const devices = new DeviceService(store, clock, cryptoRandom, config.rateLimit, new Auditor(store, clock, cryptoRandom));
  const attachments = await makeAttachments();
  const app = runtime.app;

  const patient = (nhi = 'ZZZ0016'): SandboxPatient => {
    const p = sandbox.patients.find((x) => x.nhi === nhi);
    if (!p) throw new Error(`no sandbox patient ${nhi}`);
    return p;
  };
  const auth = (d: EnrolResponse): string => `Device ${d.deviceId}.${d.deviceSecret}`;

  const h: Harness = {
    runtime,
    app,
    sandbox,
    store,
    clock,
    config,
    devices,
    logs,
    attachments,
    patient,
    auth,
    async enrol(facility = FACILITY, name = 'Consult room 1') {
      const { code } = await devices.issueEnrolmentCode(facility, 'Test Practice', 72);
      const res = await app.inject({ method: 'POST', url: '/v1/devices/enrol', payload: { enrolmentCode: code, deviceName: name } });
      if (res.statusCode !== 201) throw new Error(`enrol failed: ${res.body}`);
      return res.json<EnrolResponse>();
    },
    async launch(device, nhi = 'ZZZ0016') {
      const pair = sandbox.issueLaunch({ patientId: patient(nhi).id, facilityCode: device.facilityId });
      const res = await app.inject({ method: 'POST', url: '/v1/launch/verify', headers: { authorization: auth(device) }, payload: pair });
      if (res.statusCode !== 200) throw new Error(`launch failed: ${res.body}`);
      return res.json<LaunchGrant>();
    },
    commitBody(grant, targets) {
      const body: CommitRequest = {
        imageId: targets.imageId ?? randomUUID(),
        grantId: grant.grantId,
        patientId: grant.patient.id,
        capturedAt: new Date(clock.now()).toISOString(),
        metadata: { bodySiteCode: '89545001', laterality: 'left', view: 'close-up', imageType: 'lesion', caption: 'Left cheek lesion' },
      };
      if (targets.media !== false) body.media = { contentType: 'image/jpeg', data: attachments.jpeg.toString('base64') };
      if (targets.document) body.document = { contentType: 'image/tiff', data: attachments.tiff.toString('base64') };
      return body;
    },
    commit(device, body, key) {
      const headers: Record<string, string> = { authorization: auth(device) };
      const imageId = (body as { imageId?: unknown }).imageId;
      if (key !== null) headers['idempotency-key'] = key ?? String(imageId);
      return app.inject({ method: 'POST', url: '/v1/commits', headers, payload: body as object });
    },
    close: () => runtime.close(),
  };
  return h;
}

/** Sandbox create counts: what reached ALEX. */
export function creates(sandbox: RunningSandbox): { media: number; documents: number } {
  const c = sandbox.store.counters;
  return { media: c.mediaCreated, documents: c.documentReferencesCreated };
}

