/**
 * The fault proxy in front of a real HTTP server on 127.0.0.1: each fault kind does what it says, as a plain
 * node:http client sees it (fresh and keep-alive connections).
 */
import { Agent, createServer, request, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy } from './proxy';

let server: Server;
let target: string;
let hits = 0;
beforeAll(async () => {
  server = createServer((req, res) => {
    hits++;
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'text/plain');
      res.end('x'.repeat(2000));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  target = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

/** One request on a fresh connection: status and body length, or the socket error code. */
function get(url: string, timeoutMs = 2000, agent: Agent | false = false): Promise<{ status?: number; length?: number; error?: string }> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', agent, timeout: timeoutMs }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => (n += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, length: n }));
      res.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
      res.on('aborted', () => resolve({ error: 'aborted' }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.end('body');
  });
}

describe('fault proxy', () => {
  it('passes requests through untouched with no plan', async () => {
    const p = await startFaultProxy({ target });
    expect(await get(p.url)).toEqual({ status: 200, length: 2000 });
    expect(p.stats().requests).toBe(1);
    await p.close();
  });

  it('reset-before never reaches the target; reset-after does, and the client sees a reset either way', async () => {
    const p = await startFaultProxy({ target, plan: { resetBefore: 1 } });
    const before = hits;
    expect((await get(p.url)).error).toBe('ECONNRESET');
    expect(hits).toBe(before);
    p.setPlan({ resetAfter: 1 });
    expect((await get(p.url)).error).toBe('ECONNRESET');
    expect(hits).toBe(before + 1);
    expect(p.stats().faults).toMatchObject({ 'reset-before': 1, 'reset-after': 1 });
    await p.close();
  });

  it('partial answers are cut short; blackhole never answers; down refuses until up', async () => {
    let t = 0;
    const p = await startFaultProxy({ target, plan: { partial: { probability: 1, bytes: 40 } }, now: () => t });
    const partial = await get(p.url);
    expect(partial.status === undefined || (partial.length ?? 0) < 2000).toBe(true);
    p.setPlan({ blackhole: 1 });
    expect((await get(p.url, 300)).error).toBe('TIMEOUT');
    p.setPlan({});
    p.down(1000);
    expect((await get(p.url)).error).toBe('ECONNRESET');
    t = 1001; // the outage is over by the injected clock
    expect(await get(p.url)).toEqual({ status: 200, length: 2000 });
    expect(p.stats().refusedWhileDown).toBe(1);
    await p.close();
  });

  it('draws per request on a keep-alive connection', async () => {
    let i = 0;
    const seq = [0.9, 0.9, 0.1, 0.9]; // latency draw, terminal draw per request
    const p = await startFaultProxy({ target, plan: { latency: { probability: 0.5, ms: 1 } }, random: () => seq[i++ % seq.length] ?? 0 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    for (let k = 0; k < 2; k++) expect(await get(p.url, 2000, agent)).toEqual({ status: 200, length: 2000 });
    agent.destroy();
    expect(p.stats()).toMatchObject({ connections: 1, requests: 2 });
    expect(p.stats().faults.latency).toBe(1);
    await p.close();
  });
});
