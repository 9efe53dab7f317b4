/**
 * Building blocks of the end-to-end benchmarks (`npm run bench -- e2e`): the host's conditions, a stack as deployed
 * (gateway and ALEX sandbox in processes of their own) with ALEX latency, a phone session as the phone page drives it,
 * waiting on the core's own state events, and the write limit measured straight against ALEX.
 */
import { fork, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import type { AppState, ImageView } from '../../shared/contracts/bridge';
import { LAN_ROUTES, type ExchangeResponse, type UploadResponse } from '../../shared/contracts/lan';
import { startCompanion } from '../../electron/core';
import { startLoopbackLaunchServer } from '../../electron/loopback/server';
import { MemorySecretStore } from '../../electron/secrets';
import { buildGatewayBundle, GATEWAY_NODE_FLAGS } from '../../gateway/deploy/build';
import { DevFileSettingsStore } from '../browser-host/dev-stores';
import { startBrowserHost } from '../browser-host/host';
import { DEV_FACILITY, DEV_PRACTICE } from '../browser-host/stack';
import { traceHttp, type HttpStep } from './_e2e-trace';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The host's 1-minute load average and core count, printed with every table. */
export function hostLoad(): string {
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0] ?? '?';
  return `load ${load} on ${cpus().length} cores`;
}

/** A gateway or sandbox process, asked over IPC. */
interface Remote<Info> {
  info: Info;
  call<T>(op: string, args?: unknown): Promise<T>;
  close(): Promise<void>;
}

interface SandboxInfo {
  url: string;
  fhirBaseUrl: string;
  tokenUrl: string;
  credentials: { clientId: string; clientSecret: string; scope: string };
  patients: { id: string; nhi: string }[];
}

let bundled: Promise<string> | null = null;

/** _e2e-remote.ts bundled by the production build (dist/bench-e2e/), once per run. */
function remoteBundle(): Promise<string> {
  bundled ??= (async () => {
    const outdir = join(ROOT, 'dist', 'bench-e2e');
    await buildGatewayBundle(outdir, { 'e2e-remote': join(ROOT, 'scripts', 'bench', '_e2e-remote.ts') });
    return join(outdir, 'e2e-remote.mjs');
  })();
  return bundled;
}

/**
 * The gateway and the sandbox stand for machines of their own: unless E2E_REMOTE_PRIORITY=same, every thread of theirs
 * runs ahead of the companion's (its renders included) on this host's cores — started under `chrt -r 60` when this
 * process runs real-time (`chrt -r 50`), else under `nice -n -10`. The command that starts them, and the condition.
 */
export function remotePriority(): { wrap: string[]; label: string } {
  if (process.env.E2E_REMOTE_PRIORITY === 'same') return { wrap: [], label: 'gateway and sandbox at the companion’s priority' };
  const realtime = /SCHED_(RR|FIFO)/.test(spawnSync('chrt', ['-p', String(process.pid)], { encoding: 'utf8' }).stdout ?? '');
  return realtime
    ? { wrap: ['chrt', '-r', '60'], label: 'gateway and sandbox ahead of the companion (round-robin 60 against its 50)' }
    : { wrap: ['nice', '-n', '-10'], label: 'gateway and sandbox ahead of the companion (nice -10)' };
}

/** E2E_GATEWAY_CPU_PROF=<dir>: the gateway processes write a CPU profile there when they close. */
async function startRemote<Info>(role: 'gateway' | 'sandbox', env: Record<string, string>): Promise<Remote<Info>> {
  const prof = role === 'gateway' && process.env.E2E_GATEWAY_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.E2E_GATEWAY_CPU_PROF}`] : [];
  const [execPath = process.execPath, ...wrap] = [...remotePriority().wrap, process.execPath];
  const execArgv = [...wrap, ...GATEWAY_NODE_FLAGS, ...prof];
  const child = fork(await remoteBundle(), [], { env: { ...process.env, ...env, E2E_ROLE: role }, execPath, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let next = 1;
  child.on('message', (a: { id: number; ok: boolean; value?: unknown; error?: string }) => {
    const w = waiting.get(a.id);
    waiting.delete(a.id);
    if (a.ok) w?.resolve(a.value);
    else w?.reject(new Error(a.error));
  });
  child.once('exit', (code) => waiting.forEach((w) => w.reject(new Error(`the ${role} process exited (${code})`))));
  const call = <T>(op: string, args?: unknown): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, op, args });
    });
  const info = await new Promise<Info>((resolve, reject) => waiting.set(0, { resolve: resolve as (v: unknown) => void, reject }));
  return {
    info,
    call,
    async close() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await call('close').catch(() => undefined);
      child.disconnect();
      await exited;
    },
  };
}

export type BenchStack = Awaited<ReturnType<typeof benchStack>>;

/**
 * A fresh stack as deployed: the ALEX sandbox and the gateway each in a process of its own, the companion core (with
 * its loopback launch listener, LAN server and, given `staticDir`, the browser host) in this one. Temp folders,
 * ephemeral ports, silent logs.
 */
export async function benchStack(staticDir?: string) {
  const dir = await mkdtemp(join(tmpdir(), 'cpi-bench-e2e-'));
  const sandbox = await startRemote<SandboxInfo>('sandbox', {});
  const sb = sandbox.info;
  const gateway = await startRemote<{ url: string }>('gateway', {
    GATEWAY_PORT: '0',
    GATEWAY_HOST: '127.0.0.1',
    GATEWAY_DATA_DIR: join(dir, 'gateway'),
    LOG_LEVEL: 'silent',
    METRICS_PORT: '0',
    ALEX_BASE_URL: sb.fhirBaseUrl,
    ALEX_TOKEN_URL: sb.tokenUrl,
    ALEX_CLIENT_ID: sb.credentials.clientId,
    ALEX_CLIENT_SECRET: sb.credentials.clientSecret,
    ALEX_SCOPE: sb.credentials.scope,
  });
  const logger = pino({ level: 'silent' });
  let launchInto: ((url: string) => Promise<unknown>) | null = null;
  const loopback = await startLoopbackLaunchServer({ port: 0, logger, onLaunch: async (url) => void (await launchInto?.(url)) });
  const companionDir = join(dir, 'companion');
  const companion = await startCompanion({
    dataDir: companionDir,
    secrets: new MemorySecretStore(),
    settingsStore: new DevFileSettingsStore(join(companionDir, 'settings.json')),
    logger,
    loopbackLaunchPort: loopback.port,
    lan: { bindHost: '127.0.0.1', port: 0 },
  });
  const { core } = companion;
  launchInto = (url) => core['launch.open']({ url });
  const gatewayUrl = gateway.info.url;
  await core['settings.set']({ patch: { gatewayUrl } });
  const enrolmentCode = await gateway.call<string>('mintCode', { facilityId: DEV_FACILITY, practiceName: DEV_PRACTICE });
  await core['enrolment.enrol']({ gatewayUrl, enrolmentCode, deviceName: 'Bench PC' });
  const host = staticDir ? await startBrowserHost({ core, staticDir, port: 0, logger }) : null;
  return {
    companion,
    sandbox,
    gateway,
    loopback,
    get host() {
      if (!host) throw new Error('this stack was started without the desktop UI');
      return host;
    },
    /** A launch pair from the sandbox for this NHI, as Evolution gets one, in the custom-scheme URL. */
    async launchUrlFor(nhi: string): Promise<string> {
      const patient = sb.patients.find((p) => p.nhi === nhi);
      if (!patient) throw new Error(`no sandbox patient with NHI ${nhi}`);
      const pair = await sandbox.call<{ context: string; signature: string }>('issueLaunch', { patientId: patient.id, facilityCode: DEV_FACILITY });
      return `clinicpro-images://launch?context=${encodeURIComponent(pair.context)}&signature=${encodeURIComponent(pair.signature)}`;
    },
    async close() {
      await host?.close();
      await loopback.close();
      await companion.close();
      await gateway.close();
      await sandbox.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** ALEX answering each matching call after `ms` (the sandbox's latency fault, for every call from now on). */
export async function alexLatency(stack: BenchStack, ms: number, match: { method?: string; pathPrefix: string }): Promise<void> {
  await stack.sandbox.call('addFault', { kind: 'latency', latencyMs: ms, ...match });
}

/** Resolves with the first state (and its time) for which `test` holds, now or at a later change. */
export function waitForState(stack: BenchStack, test: (s: AppState) => boolean, timeoutMs = 600_000): Promise<{ state: AppState; at: number }> {
  const { core } = stack.companion;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error('timed out waiting for the companion'));
    }, timeoutMs);
    let done = false;
    const check = (s: AppState): void => {
      if (done || !test(s)) return;
      done = true;
      clearTimeout(timer);
      off();
      resolve({ state: s, at: performance.now() });
    };
    const off = core.on('state', check);
    // The state may already hold: look at it now, not only at the next change.
    void core['app.getState']({}).then(check);
  });
}

/** Calls `onImage` with each image view and the time, on every state change, until the returned stop is called. */
export function watchImages(stack: BenchStack, onImage: (img: ImageView, at: number) => void): () => void {
  return stack.companion.core.on('state', (s: AppState) => {
    const at = performance.now();
    for (const img of s.images) onImage(img, at);
  });
}

/** A phone joined to the working patient's QR session, uploading as the phone page does (token exchange, multipart). */
export interface Phone {
  /** As the phone page does when photos are taken: the PC numbers them; returns their clientUploadIds. */
  hold(count: number): Promise<string[]>;
  /** Resolves with the image id once the PC has the photo (`clientUploadId`: one held before). */
  upload(photo: Buffer, name: string, bodySiteCode: string, clientUploadId?: string): Promise<string>;
}

export async function joinPhone(stack: BenchStack): Promise<Phone> {
  const { core } = stack.companion;
  const phone = await core['phone.start']({});
  const qr = new URL(phone.qrUrl);
  const token = new URLSearchParams(qr.hash.slice(1)).get('t') ?? '';
  const origin = `${qr.protocol}//${qr.host}`;
  const res = await fetch(`${origin}${LAN_ROUTES.exchange}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
  if (res.status !== 200) throw new Error(`token exchange refused: HTTP ${res.status}`);
  const exchange = (await res.json()) as ExchangeResponse;
  const auth = { authorization: `Bearer ${exchange.credential}` };
  return {
    async hold(count) {
      const ids = Array.from({ length: count }, () => crypto.randomUUID());
      const res = await fetch(`${origin}${LAN_ROUTES.hold}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ clientUploadIds: ids }) });
      if (res.status !== 200) throw new Error(`hold refused: HTTP ${res.status}`);
      return ids;
    },
    async upload(photo, name, bodySiteCode, clientUploadId = crypto.randomUUID()) {
      const form = new FormData();
      form.set('clientUploadId', clientUploadId);
      form.set('bodySiteCode', bodySiteCode);
      form.set('file', new Blob([photo], { type: name.toLowerCase().endsWith('.heic') ? 'image/heic' : 'image/jpeg' }), name);
      const up = await fetch(`${origin}${LAN_ROUTES.upload}`, { method: 'POST', headers: auth, body: form });
      if (up.status !== 200) throw new Error(`upload refused: HTTP ${up.status}`);
      return ((await up.json()) as UploadResponse).imageId;
    },
  };
}

/** A sandbox access token, for timing ALEX round trips directly (the limit a gateway cannot beat). */
export async function sandboxToken(stack: BenchStack): Promise<string> {
  const { credentials: c, tokenUrl } = stack.sandbox.info;
  const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: c.clientId, client_secret: c.clientSecret, scope: c.scope });
  const res = await fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
  if (res.status !== 200) throw new Error(`sandbox token refused: HTTP ${res.status}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** The time of one direct ALEX read of a patient (token ready, connection warm): one ALEX round trip. */
export async function alexRoundTripMs(stack: BenchStack, token: string, patientId: string): Promise<number> {
  const url = `${stack.sandbox.info.fhirBaseUrl}/Patient/${patientId}`;
  const headers = { authorization: `Bearer ${token}`, 'mt-facilityid': DEV_FACILITY, accept: 'application/fhir+json' };
  const t0 = performance.now();
  const res = await fetch(url, { headers });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`sandbox patient read: HTTP ${res.status}`);
  return performance.now() - t0;
}

/**
 * The write limit measured: the first photo's two creates, as the gateway sent them (same bodies), posted straight to
 * the sandbox from this process, `pairs` times over `slots` connections at once (a slot takes the next create when
 * its last is answered). Returns the time until all are answered: the least any client could wait for them.
 */
export async function directCreatesMs(stack: BenchStack, since: number, pairs: number, slots: number): Promise<number> {
  const first = await stack.sandbox.call<{ media: object | null; documentReference: object | null }>('firstCreates', { since });
  if (!first.media || !first.documentReference) throw new Error('the first photo’s creates are not in the sandbox');
  const token = await sandboxToken(stack);
  const base = stack.sandbox.info.fhirBaseUrl;
  const bodies = [JSON.stringify(first.media), JSON.stringify(first.documentReference)];
  const headers = { authorization: `Bearer ${token}`, 'mt-facilityid': DEV_FACILITY, 'content-type': 'application/fhir+json', accept: 'application/fhir+json' };
  const queue: [string, string][] = Array.from({ length: pairs * 2 }, (_, i) => (i % 2 === 0 ? ['Media', bodies[0] ?? ''] : ['DocumentReference', bodies[1] ?? '']));
  const slot = async (): Promise<void> => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const res = await fetch(`${base}/${next[0]}`, { method: 'POST', headers, body: next[1] });
      await res.arrayBuffer();
      if (res.status !== 201) throw new Error(`direct ${next[0]} create: HTTP ${res.status}`);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: slots }, slot));
  return performance.now() - t0;
}

/** HTTP steps of this process (the companion) and, asked at the end, of the gateway and sandbox processes. */
export function traceAllHttp(stack: BenchStack): { stop(since: number): Promise<(HttpStep & { where: string })[]> } {
  const own = traceHttp();
  return {
    async stop(since) {
      own.stop();
      const [gw, sb] = await Promise.all([stack.gateway.call<HttpStep[]>('steps', { since }), stack.sandbox.call<HttpStep[]>('steps', { since })]);
      return [...own.steps.map((x) => ({ ...x, where: 'companion' })), ...gw.map((x) => ({ ...x, where: 'gateway' })), ...sb.map((x) => ({ ...x, where: 'sandbox' }))]
        .filter((x) => x.at >= since)
        .sort((a, b) => a.at - b.at);
    },
  };
}
