/**
 * A TCP fault proxy for HTTP on loopback: it sits between two parts of the product (companion → gateway,
 * gateway → ALEX) and, per request, passes the bytes through or adds latency, resets the connection, cuts the
 * response short, blackholes it (accepts and never answers), or is "down" for a while. Decisions draw from an
 * injected random source, so a run is repeatable; the clock for `down` is injected too.
 *
 * It works on bytes, not HTTP: a "request" starts when the client sends a chunk that begins with an HTTP method
 * (keep-alive connections get a fresh draw for every request). Test and benchmark tool only — never packaged.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export type FaultKind = 'latency' | 'reset-before' | 'reset-after' | 'partial' | 'blackhole';

/** Probabilities (0..1) per request; at most one terminal fault is drawn per request, latency adds on top. */
export interface FaultPlan {
  /** Delay the request by `latencyMs` before it reaches the target. */
  latency?: { probability: number; ms: number };
  /** Reset the client connection before the request reaches the target (nothing happened there). */
  resetBefore?: number;
  /** Let the target answer, then reset the client connection instead of forwarding the answer (it DID happen). */
  resetAfter?: number;
  /** Forward only the first 1..`bytes` bytes of the answer, then close. */
  partial?: { probability: number; bytes: number };
  /** Accept the request and never answer (the client must time out). */
  blackhole?: number;
}

export interface FaultProxyOptions {
  /** Where requests go, e.g. `http://127.0.0.1:4010` (host and port are used; loopback only). */
  target: string;
  /** Listen port (0: ephemeral). */
  port?: number;
  plan?: FaultPlan;
  random?: () => number;
  now?: () => number;
  /** How latency waits (default setTimeout). */
  sleep?: (ms: number) => Promise<void>;
}

export interface FaultProxyStats {
  connections: number;
  requests: number;
  refusedWhileDown: number;
  faults: Record<FaultKind, number>;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  setPlan(plan: FaultPlan): void;
  /** Refuse (reset) every new connection for `ms` milliseconds by the injected clock, or until `up()`. */
  down(ms?: number): void;
  up(): void;
  /** Reset every open connection now (a network blip). */
  dropAll(): void;
  stats(): FaultProxyStats;
  close(): Promise<void>;
}

const METHOD = /^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /;

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  if (target.hostname !== '127.0.0.1' && target.hostname !== 'localhost') throw new Error('the fault proxy only forwards to loopback');
  const targetPort = Number(target.port || 80);
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let plan: FaultPlan = options.plan ?? {};
  let downUntil = 0;
  const sockets = new Set<Socket>();
  const stats: FaultProxyStats = {
    connections: 0,
    requests: 0,
    refusedWhileDown: 0,
    faults: { latency: 0, 'reset-before': 0, 'reset-after': 0, partial: 0, blackhole: 0 },
  };

  const draw = (): { latencyMs: number; terminal: Exclude<FaultKind, 'latency'> | null; partialBytes: number } => {
    const latencyMs = plan.latency && random() < plan.latency.probability ? plan.latency.ms : 0;
    const choices: [Exclude<FaultKind, 'latency'>, number][] = [
      ['reset-before', plan.resetBefore ?? 0],
      ['reset-after', plan.resetAfter ?? 0],
      ['partial', plan.partial?.probability ?? 0],
      ['blackhole', plan.blackhole ?? 0],
    ];
    let r = random();
    for (const [kind, p] of choices) {
      if (r < p) return { latencyMs, terminal: kind, partialBytes: 1 + Math.floor(random() * Math.max(1, plan.partial?.bytes ?? 64)) };
      r -= p;
    }
    return { latencyMs, terminal: null, partialBytes: 0 };
  };

  const track = (s: Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  };

  const onConnection = (client: Socket): void => {
    track(client);
    stats.connections++;
    if (now() < downUntil) {
      stats.refusedWhileDown++;
      client.resetAndDestroy();
      return;
    }
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    track(upstream);
    let mode: { terminal: Exclude<FaultKind, 'latency'> | null; partialBytes: number } = { terminal: null, partialBytes: 0 };
    // Client → target, in order, with per-request latency; a chain keeps chunks ordered across awaits.
    let chain: Promise<void> = Promise.resolve();
    client.on('data', (chunk: Buffer) => {
      client.pause();
      chain = chain.then(async () => {
        if (METHOD.test(chunk.subarray(0, 8).toString('latin1'))) {
          stats.requests++;
          const d = draw();
          if (d.latencyMs > 0) {
            stats.faults.latency++;
            await sleep(d.latencyMs);
          }
          if (d.terminal) stats.faults[d.terminal]++;
          mode = d;
          if (d.terminal === 'reset-before') {
            client.resetAndDestroy();
            upstream.destroy();
            return;
          }
        }
        if (mode.terminal === 'blackhole' && !upstream.destroyed) upstream.destroy(); // the request never arrives
        if (!upstream.destroyed && mode.terminal !== 'blackhole') upstream.write(chunk);
        if (!client.destroyed) client.resume();
      });
    });
    upstream.on('data', (chunk: Buffer) => {
      if (client.destroyed) return;
      if (mode.terminal === 'reset-after') {
        client.resetAndDestroy();
        upstream.destroy();
        return;
      }
      if (mode.terminal === 'partial') {
        client.write(chunk.subarray(0, Math.min(chunk.length, mode.partialBytes)));
        client.end();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    client.on('end', () => {
      void chain.then(() => upstream.end());
    });
    upstream.on('end', () => {
      if (mode.terminal !== 'blackhole') client.end();
    });
    upstream.on('close', () => {
      if (mode.terminal !== 'blackhole' && !client.destroyed) client.destroy();
    });
    client.on('close', () => upstream.destroy());
  };

  const server: Server = createServer(onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    setPlan(p) {
      plan = p;
    },
    down(ms = Number.POSITIVE_INFINITY) {
      downUntil = now() + ms;
      for (const s of sockets) s.resetAndDestroy();
    },
    up() {
      downUntil = 0;
    },
    dropAll() {
      for (const s of sockets) s.resetAndDestroy();
    },
    stats: () => ({ ...stats, faults: { ...stats.faults } }),
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
