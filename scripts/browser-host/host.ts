/**
 * The browser host (development and tests only; never packaged): serves the built desktop UI on loopback and carries
 * the SAME bridge contract as Electron's preload over the `/bridge` WebSocket (protocol: renderer/README.md). The
 * token rides in the page's fragment, never in a request line, a Referer or a log; Host and Origin are checked on
 * every request (DNS rebinding).
 */
import { timingSafeEqual, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  BRIDGE_EVENTS,
  dispatchBridgeCall,
  type BridgeEventName,
  type BridgeEvents,
  type BridgeHandlers,
  type Unsubscribe,
} from '../../shared/contracts/bridge';

export interface BridgeCore extends BridgeHandlers {
  on<E extends BridgeEventName>(event: E, listener: (payload: BridgeEvents[E]) => void): Unsubscribe;
}

export interface BrowserHostOptions {
  core: BridgeCore;
  /** The Vite output folder (dist/renderer): desktop/index.html, assets/… */
  staticDir: string;
  port?: number;
  /** Default: 256 random bits. */
  token?: string;
  logger: Logger;
}

/** Largest WebSocket message: file bytes travel as base64 (renderer/common/files.ts keeps each call under it). */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export type BrowserHost = Awaited<ReturnType<typeof startBrowserHost>>;

/** The desktop build emits only these (its icon is `data:,`, its fonts the system's). */
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

function contentSecurityPolicy(origin: string): string {
  const ws = origin.replace(/^http/, 'ws');
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self' ${ws}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The host's own loopback names, once it listens; the first is its origin's. */
function hostsOf(server: Server): string[] {
  const port = (server.address() as AddressInfo | null)?.port ?? 'closed';
  return [`127.0.0.1:${port}`, `localhost:${port}`];
}

function securityHeaders(origin: string): Record<string, string> {
  return {
    'Content-Security-Policy': contentSecurityPolicy(origin),
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cache-Control': 'no-store',
  };
}

/** The built desktop UI from `root` (never the phone page, never outside `root`). */
async function serveStatic(root: string, origin: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(req.url ?? '/', origin).pathname);
  } catch {
    // A malformed %-escape (`/%E0%A4%A`, `/%zz`) is the client's mistake, not ours: 400 in plain words.
    res.writeHead(400, { ...securityHeaders(origin), 'Content-Type': 'text/plain; charset=utf-8' }).end('Bad request: the address has a malformed %-escape.');
    return;
  }
  const rel = pathname === '/' || pathname === '/index.html' ? 'desktop/index.html' : pathname.replace(/^\/+/, '');
  const file = normalize(join(root, rel));
  if (!file.startsWith(root) || rel.startsWith('mobile/')) {
    res.writeHead(404, securityHeaders(origin)).end('Not found');
    return;
  }
  const info = await stat(file).catch(() => null);
  if (!info?.isFile()) {
    const notBuilt = 'The desktop UI is not built yet. Run `npm run build:renderer`, then reload.';
    if (rel === 'desktop/index.html') res.writeHead(503, { ...securityHeaders(origin), 'Content-Type': 'text/plain; charset=utf-8' }).end(notBuilt);
    else res.writeHead(404, securityHeaders(origin)).end('Not found');
    return;
  }
  res.writeHead(200, { ...securityHeaders(origin), 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': info.size });
  createReadStream(file).on('error', () => res.destroy()).pipe(res);
}

function createStaticServer(root: string, log: Logger): Server {
  const server = createServer((req, res) => {
    const hosts = hostsOf(server);
    if (!hosts.includes(req.headers.host ?? '')) {
      res.writeHead(421).end('Misdirected request');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    serveStatic(root, `http://${hosts[0]}`, req, res).catch(() => {
      log.warn('static file could not be served');
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  return server;
}

type BridgeMessage = { type?: unknown; token?: unknown; id?: unknown; method?: unknown; arg?: unknown };

/** One browser tab's socket: a hello with the token first, then bridge calls answered with their envelopes. */
function serveBridgeSocket(ws: WebSocket, core: BridgeCore, token: string, clients: Set<WebSocket>, log: Logger): void {
  let authed = false;
  const helloTimer = setTimeout(() => ws.close(4401, 'hello required'), 5_000);
  ws.on('error', () => ws.terminate());
  ws.on('close', () => {
    clearTimeout(helloTimer);
    clients.delete(ws);
  });
  ws.on('message', (data, isBinary) => {
    let msg: BridgeMessage;
    try {
      if (isBinary) throw new Error('binary');
      msg = JSON.parse(String(data)) as BridgeMessage;
    } catch {
      ws.close(4400, 'bad message');
      return;
    }
    if (!authed) {
      if (msg.type === 'hello' && typeof msg.token === 'string' && tokensEqual(msg.token, token)) {
        authed = true;
        clearTimeout(helloTimer);
        clients.add(ws);
        ws.send(JSON.stringify({ type: 'welcome' }));
      } else {
        log.warn('browser-host connection refused: bad hello');
        ws.close(4401, 'unauthorised');
      }
      return;
    }
    if (msg.type !== 'call' || (typeof msg.id !== 'number' && typeof msg.id !== 'string')) {
      ws.close(4400, 'bad message');
      return;
    }
    const id = msg.id;
    dispatchBridgeCall(core, msg.method, msg.arg, () => log.error({ method: String(msg.method).slice(0, 60) }, 'bridge call failed unexpectedly'))
      .then((envelope) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'result', id, envelope }));
      })
      .catch(() => log.error('bridge dispatch failed'));
  });
}

/** The `/bridge` WebSocket: only our own Host and Origin upgrade; every core event goes to every signed-in tab. */
function attachBridge(server: Server, options: BrowserHostOptions, token: string, log: Logger): { close(): void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  const clients = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    const hosts = hostsOf(server);
    const okHost = hosts.includes(req.headers.host ?? '');
    const okOrigin = hosts.map((h) => `http://${h}`).includes(req.headers.origin ?? '');
    const okPath = (req.url ?? '').split('?')[0] === '/bridge';
    if (!okHost || !okOrigin || !okPath) {
      socket.write('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serveBridgeSocket(ws, options.core, token, clients, log));
  });
  const unsubscribers = BRIDGE_EVENTS.map((event) =>
    options.core.on(event, (payload) => {
      const msg = JSON.stringify({ type: 'event', event, payload });
      for (const ws of clients) if (ws.readyState === ws.OPEN) ws.send(msg);
    }),
  );
  return {
    close() {
      for (const u of unsubscribers) u();
      for (const ws of clients) ws.terminate();
      wss.close();
    },
  };
}

export async function startBrowserHost(options: BrowserHostOptions) {
  const token = options.token ?? randomBytes(32).toString('base64url');
  const log = options.logger.child({ component: 'browser-host' });
  const server = createStaticServer(normalize(options.staticDir) + sep, log);
  const bridge = attachBridge(server, options, token, log);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: options.port ?? 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    /** Carries the token in the fragment. */
    url: `${origin}/#token=${token}`,
    origin,
    port,
    token,
    async close(): Promise<void> {
      bridge.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
