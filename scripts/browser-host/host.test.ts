/**
 * The browser host over real sockets, in front of the real stack (gateway + ALEX sandbox + companion core).
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { AppState, BridgeEnvelope } from '../../shared/contracts/bridge';
import { startDevStack, type DevStack } from './stack';

let dir: string;
let stack: DevStack;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cpi-host-'));
  const staticDir = join(dir, 'static');
  await mkdir(join(staticDir, 'desktop'), { recursive: true });
  await writeFile(join(staticDir, 'desktop', 'index.html'), '<!doctype html><title>desktop</title>');
  await writeFile(join(dir, 'secret.txt'), 'outside the static root');
  stack = await startDevStack({ dataDir: join(dir, 'data'), staticDir, autoEnrol: true, memorySecrets: true, lan: false, logger: pino({ level: 'silent' }) });
}, 60_000);

afterAll(async () => {
  await stack?.close();
  await rm(dir, { recursive: true, force: true });
});

function httpGet(path: string, host = `127.0.0.1:${stack.host.port}`): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: stack.host.port, path, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

interface Client {
  ws: WebSocket;
  call(method: string, arg?: unknown): Promise<BridgeEnvelope>;
  events: Array<{ event: string; payload: unknown }>;
  closed: Promise<number>;
}

function connect(token: string, origin = stack.host.origin): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${stack.host.port}/bridge`, { origin });
    const pending = new Map<number, (e: BridgeEnvelope) => void>();
    const events: Client['events'] = [];
    let next = 1;
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    ws.on('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.on('error', reject);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', token })));
    ws.on('message', (raw) => {
      const msg = JSON.parse(String(raw)) as { type: string; id?: number; envelope?: BridgeEnvelope; event?: string; payload?: unknown };
      if (msg.type === 'welcome') {
        resolve({
          ws,
          events,
          closed,
          call: (method, arg) =>
            new Promise((r) => {
              const id = next++;
              pending.set(id, r);
              ws.send(JSON.stringify({ type: 'call', id, method, arg }));
            }),
        });
      } else if (msg.type === 'result' && msg.id !== undefined && msg.envelope) pending.get(msg.id)?.(msg.envelope);
      else if (msg.type === 'event') events.push({ event: msg.event ?? '', payload: msg.payload });
    });
    void closed.then((code) => reject(new Error(`closed ${code}`)));
  });
}

describe('browser host', () => {
  it('serves the desktop page with a strict CSP and no token in any request', async () => {
    const res = await httpGet('/');
    expect(res.status).toBe(200);
    expect(res.body).toContain('desktop');
    expect(String(res.headers['content-security-policy'])).toContain("script-src 'self'");
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(stack.host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{43}$/);
  });

  it('refuses a foreign Host, path traversal and files outside the build', async () => {
    expect((await httpGet('/', 'evil.example')).status).toBe(421);
    expect((await httpGet('/../secret.txt')).status).toBe(404);
    expect((await httpGet('/%2e%2e/secret.txt')).status).toBe(404);
    expect((await httpGet('/nope.js')).status).toBe(404);
  });

  it('answers a malformed %-escape with 400 and a plain message, not a server error', async () => {
    for (const path of ['/%E0%A4%A', '/%zz', '/assets/%', '/%C0%AF..%2Fsecret.txt']) {
      const res = await httpGet(path);
      expect(res.status, path).toBe(400);
      expect(res.body).toBe('Bad request: the address has a malformed %-escape.');
    }
  });

  it('closes a socket that does not say hello with the right token, and refuses foreign origins', async () => {
    await expect(connect('wrong-token')).rejects.toThrow(/closed 4401/);
    await expect(connect(stack.host.token, 'http://evil.example')).rejects.toThrow(/HTTP 403/);
  });

  it('carries bridge calls to the real core and validates their arguments', async () => {
    const client = await connect(stack.host.token);
    const state = await client.call('app.getState', {});
    expect(state.ok).toBe(true);
    expect((state as { value: AppState }).value.enrolment).toMatchObject({ enrolled: true, practiceName: 'Sandbox Medical Centre' });
    const bad = await client.call('images.updateMetadata', { ids: ['not-a-uuid'], patch: {} });
    expect(bad).toMatchObject({ ok: false, error: { code: 'ERR_REQUEST_INVALID' } });
    const unknown = await client.call('fs.readFile', { path: '/etc/passwd' });
    expect(unknown).toMatchObject({ ok: false, error: { code: 'ERR_REQUEST_INVALID' } });
    client.ws.close();
  });

  it('delivers a launch from the loopback listener and pushes the verified patient to the UI', async () => {
    const client = await connect(stack.host.token);
    const url = stack.launchUrlFor('ZZZ0016');
    const res = await fetch(`http://127.0.0.1:${stack.loopback.port}/launch${url.slice(url.indexOf('?'))}`);
    expect(res.status).toBe(200);
    const seen = () => client.events.some((e) => e.event === 'state' && (e.payload as AppState).patient?.nhi === 'ZZZ0016');
    for (let i = 0; i < 200 && !seen(); i++) await new Promise((r) => setTimeout(r, 25));
    expect(seen()).toBe(true);
    client.ws.close();
  });

  it('carries find-by-NHI like every other method: a pending candidate first, the working patient only after confirming', async () => {
    const client = await connect(stack.host.token);
    const bad = await client.call('patient.confirm', { lookupId: '../../etc' });
    expect(bad).toMatchObject({ ok: false, error: { code: 'ERR_REQUEST_INVALID' } });
    const invalid = await client.call('patient.lookup', { nhi: 'ZZZ0017' });
    expect(invalid).toMatchObject({ ok: false, error: { code: 'ERR_LOOKUP_NHI_INVALID', action: 'fix-input' } });

    const found = await client.call('patient.lookup', { nhi: 'ZZZ0032' });
    expect(found).toMatchObject({ ok: true, value: { patient: { nhi: 'ZZZ0032' } } });
    const { lookupId } = (found as { value: { lookupId: string } }).value;
    const before = (await client.call('app.getState', {})) as { value: AppState };
    expect(before.value.pendingLookup?.lookupId).toBe(lookupId);
    expect(before.value.patient?.nhi).not.toBe('ZZZ0032');

    expect(await client.call('patient.confirm', { lookupId })).toEqual({ ok: true, value: { status: 'ready' } });
    const seen = () => client.events.some((e) => e.event === 'state' && (e.payload as AppState).patient?.nhi === 'ZZZ0032' && (e.payload as AppState).pendingLookup === undefined);
    for (let i = 0; i < 200 && !seen(); i++) await new Promise((r) => setTimeout(r, 25));
    expect(seen()).toBe(true);
    expect(await client.call('patient.confirm', { lookupId })).toMatchObject({ ok: false, error: { code: 'ERR_LOOKUP_ENDED' } });
    client.ws.close();
  });
});
