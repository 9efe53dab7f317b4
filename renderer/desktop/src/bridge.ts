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

interface SocketBridgeOptions {
  url: string;
  token: string;
  createSocket: (url: string) => SocketLike;
  setTimer: (fn: () => void, ms: number) => unknown;
  clearTimer: (handle: unknown) => void;
  /** 0 ≤ x < 1; injected so backoff is tested without chance. */
  random: () => number;
}

type HostMessage = { type?: unknown; id?: unknown; envelope?: unknown; event?: unknown; payload?: unknown };

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

/** Listeners, each called from a copy so that it may unsubscribe while being called. */
function listenerSet<T>() {
  const set = new Set<(value: T) => void>();
  return {
    add(listener: (value: T) => void): Unsubscribe {
      set.add(listener);
      return () => set.delete(listener);
    },
    emit(value: T): void {
      for (const l of [...set]) l(value);
    },
  };
}

/** The calls in order: waiting until the bridge is connected, then in flight until their result comes back. */
function callQueue() {
  const calls = new Map<number, { msg: string; sent: boolean; resolve: (env: BridgeEnvelope) => void }>();
  let nextId = 1;
  const settle = (id: number, env: BridgeEnvelope): void => {
    calls.get(id)?.resolve(env);
    calls.delete(id);
  };
  return {
    settle,
    add: (method: BridgeMethod, arg: unknown): Promise<BridgeEnvelope> =>
      new Promise((resolve) => {
        const id = nextId++;
        calls.set(id, { msg: JSON.stringify({ type: 'call', id, method, arg }), sent: false, resolve });
      }),
    sendWaiting(send: (msg: string) => void): void {
      for (const c of [...calls.values()].filter((x) => !x.sent)) {
        c.sent = true;
        send(c.msg);
      }
    },
    /** Calls cut off mid-way lose the connection; calls not yet sent are refused, or else wait for the next one. */
    failAll(refuseWaiting: boolean): void {
      for (const [id, c] of calls) if (c.sent || refuseWaiting) settle(id, { ok: false, error: c.sent ? CONNECTION_LOST : REFUSED });
    },
  };
}

/** The bridge over a WebSocket, with reconnection. */
export function connectSocketBridge(options: SocketBridgeOptions): BridgeConnection {
  const listeners = new Map<BridgeEventName, ReturnType<typeof listenerSet<unknown>>>();
  const statusListeners = listenerSet<ConnectionStatus>();
  const calls = callQueue();
  let status: ConnectionStatus = 'connecting';
  let socket: SocketLike | null = null;
  let attempt = 0;
  let timer: unknown = null;
  let closed = false;

  const setStatus = (s: ConnectionStatus): void => {
    if (s === status) return;
    status = s;
    statusListeners.emit(s);
  };
  const flush = (): void => {
    if (socket?.readyState === OPEN && status === 'connected') calls.sendWaiting((msg) => socket?.send(msg));
  };
  const reconnect = (): void => {
    setStatus('reconnecting');
    if (closed || timer !== null) return;
    timer = options.setTimer(() => {
      timer = null;
      open();
    }, backoffDelay(attempt++, options.random));
  };
  const receive = (msg: HostMessage): void => {
    if (msg.type === 'welcome') {
      attempt = 0;
      setStatus('connected');
      flush();
    } else if (msg.type === 'result' && typeof msg.id === 'number') {
      calls.settle(msg.id, msg.envelope as BridgeEnvelope);
    } else if (msg.type === 'event' && typeof msg.event === 'string') {
      listeners.get(msg.event as BridgeEventName)?.emit(msg.payload);
    }
  };
  const dropped = (s: SocketLike, code: number): void => {
    if (socket !== s) return;
    socket = null;
    const refused = !closed && code === REFUSED_CLOSE_CODE;
    calls.failAll(refused);
    if (closed) return;
    if (refused) setStatus('refused');
    else reconnect();
  };
  function open(): void {
    if (closed) return;
    socket = openSocket(options, receive, dropped);
    if (!socket) reconnect();
  }

  const call = (method: BridgeMethod, arg: unknown): Promise<BridgeEnvelope> => {
    if (status === 'refused' || closed) return Promise.resolve({ ok: false, error: REFUSED });
    const result = calls.add(method, arg);
    flush();
    return result;
  };
  const subscribe = (event: BridgeEventName, listener: (payload: unknown) => void): Unsubscribe => {
    if (!listeners.has(event)) listeners.set(event, listenerSet<unknown>());
    return listeners.get(event)!.add(listener);
  };

  open();
  return {
    api: createBridgeClient(call, subscribe),
    status: () => status,
    onStatus: statusListeners.add,
    close() {
      closed = true;
      if (timer !== null) options.clearTimer(timer);
      timer = null;
      socket?.close(1000, 'closed');
      socket = null;
      calls.failAll(true);
    },
  };
}

/** A socket that says hello with the token and hands on each message and its close; null when none can be made. */
function openSocket(options: SocketBridgeOptions, onMessage: (msg: HostMessage) => void, onClose: (s: SocketLike, code: number) => void): SocketLike | null {
  let s: SocketLike;
  try {
    s = options.createSocket(options.url);
  } catch {
    return null;
  }
  s.onopen = () => s.send(JSON.stringify({ type: 'hello', token: options.token }));
  s.onmessage = (ev) => {
    let msg: HostMessage;
    try {
      msg = JSON.parse(String(ev.data)) as HostMessage;
    } catch {
      return;
    }
    onMessage(msg);
  };
  s.onerror = () => undefined; // onclose follows and decides
  s.onclose = (ev) => onClose(s, ev.code);
  return s;
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

/** The window's connection to the companion core. */
export function getBridge(): BridgeConnection {
  singleton ??= createBridge();
  return singleton;
}
