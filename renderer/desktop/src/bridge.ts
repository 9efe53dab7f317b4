/**
 * The ONE place the desktop window gets its companion API from: the Electron preload's `window.clinicpro`, else
 * the browser host's WebSocket bridge (protocol, reconnection and the final 4401 refusal: renderer/README.md).
 */
import {
  createBridgeClient,
  type BridgeEnvelope,
  type BridgeEventName,
  type BridgeMethod,
  type CompanionApi,
  type Unsubscribe,
} from '../../../shared/contracts/bridge';
import type { ErrorBody } from '../../../shared/errors/app-error';

declare global {
  interface Window {
    /** Exposed by electron/preload through contextBridge. Absent in a plain browser. */
    clinicpro?: CompanionApi;
  }
}

export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'refused';

export interface BridgeConnection {
  readonly api: CompanionApi;
  status(): ConnectionStatus;
  onStatus(listener: (status: ConnectionStatus) => void): Unsubscribe;
  close(): void;
}

/** The parts of a WebSocket the transport uses (the browser's WebSocket and the `ws` package both fit). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export interface SocketBridgeOptions {
  url: string;
  token: string;
  createSocket: (url: string) => SocketLike;
  setTimer: (fn: () => void, ms: number) => unknown;
  clearTimer: (handle: unknown) => void;
  /** 0 ≤ x < 1; injected so backoff is tested without chance. */
  random: () => number;
}

/** The browser host's close code for "this token will never work". */
const REFUSED_CLOSE_CODE = 4401;
const OPEN = 1;

/** Full-jitter backoff: a random delay up to min(max, initial·2^attempt), never below a quarter of initial. */
export function backoffDelay(attempt: number, random: () => number, initialMs = 500, maxMs = 8_000): number {
  const cap = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 20));
  return Math.max(initialMs / 4, Math.floor(random() * cap));
}

const CONNECTION_LOST: ErrorBody = {
  code: 'ERR_INTERNAL',
  message: 'The window lost its connection to ClinicPro Images while this was being done. It is reconnecting; please try again.',
  action: 'retry',
  retryable: true,
};

const REFUSED: ErrorBody = {
  code: 'ERR_INTERNAL',
  message: 'This window is no longer connected to ClinicPro Images. Close it and open ClinicPro Images again.',
  action: 'support',
  retryable: false,
};

/** The bridge over a WebSocket, with reconnection. */
export function connectSocketBridge(options: SocketBridgeOptions): BridgeConnection {
  const listeners = new Map<BridgeEventName, Set<(payload: unknown) => void>>();
  const statusListeners = new Set<(s: ConnectionStatus) => void>();
  const inFlight = new Map<number, (env: BridgeEnvelope) => void>();
  const waiting: { id: number; msg: string; resolve: (env: BridgeEnvelope) => void }[] = [];
  let status: ConnectionStatus = 'connecting';
  let socket: SocketLike | null = null;
  let attempt = 0;
  let timer: unknown = null;
  let nextId = 1;
  let closed = false;

  const setStatus = (s: ConnectionStatus): void => {
    if (s === status) return;
    status = s;
    for (const l of [...statusListeners]) l(s);
  };

  /** Calls cut off mid-way lose the connection; calls not yet sent are refused. */
  const failAll = (refuseWaiting: boolean): void => {
    const pending = [...inFlight.values()];
    inFlight.clear();
    for (const resolve of pending) resolve({ ok: false, error: CONNECTION_LOST });
    if (refuseWaiting) for (const w of waiting.splice(0)) w.resolve({ ok: false, error: REFUSED });
  };

  const flush = (): void => {
    while (waiting.length > 0 && socket && socket.readyState === OPEN && status === 'connected') {
      const w = waiting.shift()!;
      inFlight.set(w.id, w.resolve);
      socket.send(w.msg);
    }
  };

  const reconnect = (): void => {
    setStatus('reconnecting');
    if (closed || timer !== null) return;
    const delay = backoffDelay(attempt, options.random);
    attempt += 1;
    timer = options.setTimer(() => {
      timer = null;
      open();
    }, delay);
  };

  function open(): void {
    if (closed) return;
    let s: SocketLike;
    try {
      s = options.createSocket(options.url);
    } catch {
      return reconnect();
    }
    socket = s;
    s.onopen = () => s.send(JSON.stringify({ type: 'hello', token: options.token }));
    s.onmessage = (ev) => {
      let msg: { type?: unknown; id?: unknown; envelope?: unknown; event?: unknown; payload?: unknown };
      try {
        msg = JSON.parse(String(ev.data)) as typeof msg;
      } catch {
        return;
      }
      if (msg.type === 'welcome') {
        attempt = 0;
        setStatus('connected');
        flush();
      } else if (msg.type === 'result' && typeof msg.id === 'number') {
        const resolve = inFlight.get(msg.id);
        inFlight.delete(msg.id);
        resolve?.(msg.envelope as BridgeEnvelope);
      } else if (msg.type === 'event' && typeof msg.event === 'string') {
        for (const l of [...(listeners.get(msg.event as BridgeEventName) ?? [])]) l(msg.payload);
      }
    };
    s.onerror = () => undefined; // onclose follows and decides
    s.onclose = (ev) => {
      if (socket !== s) return;
      socket = null;
      const refused = !closed && ev.code === REFUSED_CLOSE_CODE;
      failAll(refused);
      if (closed) return;
      if (refused) setStatus('refused');
      else reconnect();
    };
  }

  const call = (method: BridgeMethod, arg: unknown): Promise<BridgeEnvelope> =>
    new Promise((resolve) => {
      if (status === 'refused' || closed) return resolve({ ok: false, error: REFUSED });
      const id = nextId++;
      waiting.push({ id, msg: JSON.stringify({ type: 'call', id, method, arg }), resolve });
      flush();
    });

  const subscribe = (event: BridgeEventName, listener: (payload: unknown) => void): Unsubscribe => {
    let set = listeners.get(event);
    if (!set) listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  };

  open();
  return {
    api: createBridgeClient(call, subscribe),
    status: () => status,
    onStatus(listener) {
      statusListeners.add(listener);
      return () => statusListeners.delete(listener);
    },
    close() {
      closed = true;
      if (timer !== null) options.clearTimer(timer);
      timer = null;
      socket?.close(1000, 'closed');
      socket = null;
      failAll(true);
    },
  };
}

/** The one-time `#token=…`, removed from the address bar and history (not left on screen, in a bookmark or a screenshot). */
export function takeTokenFromLocation(
  location: Pick<Location, 'hash' | 'pathname' | 'search'>,
  history: Pick<History, 'replaceState'>,
): string | null {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const token = params.get('token');
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);
  return token && /^[A-Za-z0-9_-]{16,200}$/.test(token) ? token : null;
}

/** The ws:// (or wss://) address of the bridge on the page's own host. */
export function bridgeSocketUrl(location: Pick<Location, 'protocol' | 'host'>): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/bridge`;
}

/** A connection whose status never changes: Electron's preload (always connected), or a page without a token. */
function fixedConnection(api: CompanionApi, status: ConnectionStatus): BridgeConnection {
  return { api, status: () => status, onStatus: () => () => undefined, close: () => undefined };
}

function createBridge(): BridgeConnection {
  if (window.clinicpro) return fixedConnection(window.clinicpro, 'connected');
  const token = takeTokenFromLocation(window.location, window.history);
  const refuse = (): Promise<BridgeEnvelope> => Promise.resolve({ ok: false, error: REFUSED });
  if (!token) return fixedConnection(createBridgeClient(refuse, () => () => undefined), 'refused');
  return connectSocketBridge({
    url: bridgeSocketUrl(window.location),
    token,
    createSocket: (url) => new WebSocket(url) as unknown as SocketLike,
    setTimer: (fn, ms) => window.setTimeout(fn, ms),
    clearTimer: (h) => window.clearTimeout(h as number),
    random: Math.random,
  });
}

let singleton: BridgeConnection | null = null;

/** The window's connection to the companion core (created on first use). */
export function getBridge(): BridgeConnection {
  singleton ??= createBridge();
  return singleton;
}
