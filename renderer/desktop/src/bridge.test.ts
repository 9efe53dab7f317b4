/**
 * The desktop's WebSocket bridge client against the REAL browser host in front of the real stack
 * (gateway + ALEX sandbox + companion core) on loopback. Reconnect timers are injected and fired by hand.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { AppState } from '../../../shared/contracts/bridge';
import { AppError } from '../../../shared/errors/app-error';
import { startBrowserHost, type BrowserHost } from '../../../scripts/browser-host/host';
import { startDevStack, type DevStack } from '../../../scripts/browser-host/stack';
import { backoffDelay, bridgeSocketUrl, connectSocketBridge, takeTokenFromLocation, type BridgeConnection, type ConnectionStatus, type SocketLike } from './bridge';

let dir: string;
let staticDir: string;
let stack: DevStack;
let host: BrowserHost;
const silent = pino({ level: 'silent' });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cpi-bridge-'));
  staticDir = join(dir, 'static');
  await mkdir(join(staticDir, 'desktop'), { recursive: true });
  await writeFile(join(staticDir, 'desktop', 'index.html'), '<!doctype html><title>desktop</title>');
  stack = await startDevStack({ dataDir: join(dir, 'data'), staticDir, autoEnrol: true, memorySecrets: true, lan: false, logger: silent });
  host = stack.host;
}, 60_000);

afterAll(async () => {
  await stack?.close();
  if (host !== stack?.host) await host?.close();
  await rm(dir, { recursive: true, force: true });
});

interface Timers {
  setTimer: (fn: () => void, ms: number) => unknown;
  clearTimer: (h: unknown) => void;
  delays: number[];
  /** Run every pending timer now. */
  fire(): void;
}
function manualTimers(): Timers {
  let pending: { fn: () => void; id: number }[] = [];
  let id = 0;
  const t: Timers = {
    delays: [],
    setTimer(fn, ms) {
      t.delays.push(ms);
      pending.push({ fn, id: ++id });
      return id;
    },
    clearTimer(h) {
      pending = pending.filter((p) => p.id !== h);
    },
    fire() {
      const run = pending;
      pending = [];
      for (const p of run) p.fn();
    },
  };
  return t;
}

function connect(token: string, timers = manualTimers()): { conn: BridgeConnection; timers: Timers } {
  const conn = connectSocketBridge({
    url: `ws://127.0.0.1:${host.port}/bridge`,
    token,
    createSocket: (url) => new WebSocket(url, { origin: host.origin }) as unknown as SocketLike,
    setTimer: timers.setTimer,
    clearTimer: timers.clearTimer,
    random: () => 0.5,
  });
  return { conn, timers };
}

function statusReached(conn: BridgeConnection, want: ConnectionStatus): Promise<void> {
  if (conn.status() === want) return Promise.resolve();
  return new Promise((resolve) => {
    const off = conn.onStatus((s) => {
      if (s === want) {
        off();
        resolve();
      }
    });
  });
}

describe('WebSocket bridge client', () => {
  it('says hello with the token, then calls methods and receives state snapshots', async () => {
    const { conn } = connect(host.token);
    // A call made before the socket is open waits for the connection instead of failing.
    const state = await conn.api.app.getState();
    expect(conn.status()).toBe('connected');
    expect(state.enrolment.enrolled).toBe(true);
    expect(state.patient).toBeNull();

    const snapshots: AppState[] = [];
    const off = conn.api.on('state', (s) => snapshots.push(s));
    const got = new Promise<AppState>((resolve) => {
      const off2 = conn.api.on('state', (s) => {
        off2();
        resolve(s);
      });
    });
    await conn.api.settings.set({ patch: { roomLabel: 'Consult room 7' } });
    const next = await got;
    expect(next.revision).toBeGreaterThan(state.revision);
    expect((await conn.api.settings.get()).roomLabel).toBe('Consult room 7');
    off();
    conn.close();
  });

  it('turns a refused call into a coded, plain-language error', async () => {
    const { conn } = connect(host.token);
    // No patient launched: adding a photo is refused by the core, nothing is added.
    const err = await conn.api.images.addFiles({ files: [{ name: 'a.jpg', dataBase64: 'AAAA' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('ERR_NO_PATIENT');
    expect((err as AppError).message).toMatch(/Launch from Medtech Evolution/);
    expect((await conn.api.app.getState()).images).toHaveLength(0);
    // A malformed argument never reaches the core.
    const bad = await conn.api.images.remove({ ids: ['not-an-id'] }).catch((e: unknown) => e);
    expect((bad as AppError).code).toBe('ERR_REQUEST_INVALID');
    conn.close();
  });

  it('stops for good when the token is refused, and says so instead of retrying', async () => {
    const { conn, timers } = connect('x'.repeat(43));
    await statusReached(conn, 'refused');
    const err = await conn.api.app.getState().catch((e: unknown) => e);
    expect((err as AppError).message).toMatch(/Close it and open ClinicPro Images again/);
    expect(timers.delays).toHaveLength(0);
    conn.close();
  });

  it('reconnects after the host goes away; a call made while it was down is answered once back', async () => {
    const { conn, timers } = connect(host.token);
    await statusReached(conn, 'connected');
    const port = host.port;
    const token = host.token;
    await host.close();
    await statusReached(conn, 'reconnecting');
    expect(timers.delays).toHaveLength(1);

    // While down: a call waits; a reconnect attempt to a closed port fails and backs off again.
    const waiting = conn.api.app.getState();
    timers.fire();
    await new Promise<void>((resolve) => {
      const check = (): void => (timers.delays.length >= 2 ? resolve() : void setImmediate(check));
      check();
    });

    host = await startBrowserHost({ core: stack.companion.core, staticDir, port, token, logger: silent });
    timers.fire();
    await statusReached(conn, 'connected');
    const state = await waiting;
    expect(state.enrolment.enrolled).toBe(true);
    conn.close();
  });
});

describe('bridge helpers', () => {
  it('reads the token from the fragment and removes it from the address bar', () => {
    const calls: unknown[][] = [];
    const history = { replaceState: (...args: unknown[]) => void calls.push(args) };
    const token = takeTokenFromLocation({ hash: '#token=abcdefghijklmnop_-0123456789', pathname: '/', search: '' }, history);
    expect(token).toBe('abcdefghijklmnop_-0123456789');
    expect(calls).toEqual([[null, '', '/']]);
  });

  it('refuses a missing or malformed token but still clears the fragment', () => {
    const calls: unknown[][] = [];
    const history = { replaceState: (...args: unknown[]) => void calls.push(args) };
    expect(takeTokenFromLocation({ hash: '#token=<script>', pathname: '/', search: '' }, history)).toBeNull();
    expect(takeTokenFromLocation({ hash: '', pathname: '/', search: '' }, history)).toBeNull();
    expect(calls).toHaveLength(1);
  });

  it('uses the page host for the socket address', () => {
    expect(bridgeSocketUrl({ protocol: 'http:', host: '127.0.0.1:47910' })).toBe('ws://127.0.0.1:47910/bridge');
    expect(bridgeSocketUrl({ protocol: 'https:', host: 'localhost:1' })).toBe('wss://localhost:1/bridge');
  });

  it('backs off with capped full jitter', () => {
    expect(backoffDelay(0, () => 0.999, 500, 8000)).toBe(499);
    expect(backoffDelay(3, () => 0.999, 500, 8000)).toBe(3996);
    expect(backoffDelay(10, () => 0.999, 500, 8000)).toBe(7992);
    // Never a hot loop, even when the random draw is 0.
    expect(backoffDelay(5, () => 0, 500, 8000)).toBe(125);
  });
});
