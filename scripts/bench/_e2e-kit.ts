/**
 * Building blocks of the end-to-end benchmarks (`npm run bench -- e2e`): the host's conditions, a stack with
 * ALEX latency, a phone session as the phone page drives it, and waiting on the core's own state events.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { AppState, ImageView } from '../../shared/contracts/bridge';
import { LAN_ROUTES, type ExchangeResponse, type UploadResponse } from '../../shared/contracts/lan';
import { startDevStack, type DevStack } from '../browser-host/stack';

/** The host's 1-minute load average and core count, printed with every table. */
export function hostLoad(): string {
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0] ?? '?';
  return `load ${load} on ${cpus().length} cores`;
}

export interface BenchStack {
  stack: DevStack;
  close(): Promise<void>;
}

/** A fresh stack (temp folders, ephemeral ports, silent logs) against the sandbox. */
export async function benchStack(staticDir?: string): Promise<BenchStack> {
  const dir = await mkdtemp(join(tmpdir(), 'cpi-bench-e2e-'));
  const stack = await startDevStack({
    dataDir: join(dir, 'data'),
    staticDir: staticDir ?? dir,
    autoEnrol: true,
    memorySecrets: true,
    lan: { host: '127.0.0.1', port: 0 },
    logger: pino({ level: 'silent' }),
  });
  return {
    stack,
    async close() {
      await stack.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** ALEX answering each matching call after `ms` (the sandbox's latency fault, for every call from now on). */
export function alexLatency(stack: DevStack, ms: number, match: { method?: string; pathPrefix: string }): void {
  stack.sandbox.faults.add({ kind: 'latency', latencyMs: ms, ...match });
}

/** Resolves with the first state (and its time) for which `test` holds, now or at a later change. */
export function waitForState(stack: DevStack, test: (s: AppState) => boolean, timeoutMs = 600_000): Promise<{ state: AppState; at: number }> {
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
export function watchImages(stack: DevStack, onImage: (img: ImageView, at: number) => void): () => void {
  return stack.companion.core.on('state', (s: AppState) => {
    const at = performance.now();
    for (const img of s.images) onImage(img, at);
  });
}

/** A phone joined to the working patient's QR session, uploading as the phone page does (token exchange, multipart). */
export interface Phone {
  upload(photo: Buffer, name: string, bodySiteCode: string): Promise<string>;
}

export async function joinPhone(stack: DevStack): Promise<Phone> {
  const { core } = stack.companion;
  const phone = await core['phone.start']({});
  const qr = new URL(phone.qrUrl);
  const token = new URLSearchParams(qr.hash.slice(1)).get('t') ?? '';
  const origin = `${qr.protocol}//${qr.host}`;
  const res = await fetch(`${origin}${LAN_ROUTES.exchange}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
  if (res.status !== 200) throw new Error(`token exchange refused: HTTP ${res.status}`);
  const exchange = (await res.json()) as ExchangeResponse;
  return {
    async upload(photo, name, bodySiteCode) {
      const form = new FormData();
      form.set('clientUploadId', crypto.randomUUID());
      form.set('bodySiteCode', bodySiteCode);
      form.set('file', new Blob([photo], { type: name.toLowerCase().endsWith('.heic') ? 'image/heic' : 'image/jpeg' }), name);
      const up = await fetch(`${origin}${LAN_ROUTES.upload}`, { method: 'POST', headers: { authorization: `Bearer ${exchange.credential}` }, body: form });
      if (up.status !== 200) throw new Error(`upload refused: HTTP ${up.status}`);
      return ((await up.json()) as UploadResponse).imageId;
    },
  };
}

/** A sandbox access token, for timing ALEX round trips directly (the limit a gateway cannot beat). */
export async function sandboxToken(stack: DevStack): Promise<string> {
  const c = stack.sandbox.credentials;
  const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: c.clientId, client_secret: c.clientSecret, scope: c.scope });
  const res = await fetch(stack.sandbox.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
  if (res.status !== 200) throw new Error(`sandbox token refused: HTTP ${res.status}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** The time of one direct ALEX read of a patient (token ready, connection warm): one ALEX round trip. */
export async function alexRoundTripMs(stack: DevStack, token: string, patientId: string): Promise<number> {
  const url = `${stack.sandbox.fhirBaseUrl}/Patient/${patientId}`;
  const headers = { authorization: `Bearer ${token}`, 'mt-facilityid': 'F2N060-E', accept: 'application/fhir+json' };
  const t0 = performance.now();
  const res = await fetch(url, { headers });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`sandbox patient read: HTTP ${res.status}`);
  return performance.now() - t0;
}

/** One HTTP step seen in this process (client or server side), from Node's diagnostics channels. */
export interface HttpStep {
  at: number;
  side: 'client-start' | 'client-done' | 'server-start' | 'server-done';
  method: string;
  path: string;
  port: number;
}

/** Records every HTTP request this process sends and serves (the companion, gateway and sandbox share it). */
export function traceHttp(): { steps: HttpStep[]; stop(): void } {
  const steps: HttpStep[] = [];
  type Req = { method?: string; path?: string; url?: string; host?: string; socket?: { localPort?: number; remotePort?: number } };
  const note = (side: HttpStep['side'], req: Req, port: number): void => {
    steps.push({ at: performance.now(), side, method: req.method ?? '?', path: (req.path ?? req.url ?? '').split('?')[0] ?? '', port });
  };
  const subs: [string, (m: unknown) => void][] = [
    ['http.client.request.start', (m) => note('client-start', (m as { request: Req }).request, 0)],
    ['http.client.response.finish', (m) => note('client-done', (m as { request: Req }).request, 0)],
    ['http.server.request.start', (m) => note('server-start', (m as { request: Req }).request, (m as { request: Req }).request.socket?.localPort ?? 0)],
    ['http.server.response.finish', (m) => note('server-done', (m as { request: Req }).request, (m as { request: Req }).request.socket?.localPort ?? 0)],
  ];
  for (const [name, fn] of subs) subscribe(name, fn);
  return { steps, stop: () => subs.forEach(([name, fn]) => unsubscribe(name, fn)) };
}
