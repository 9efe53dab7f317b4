/**
 * The shipped HAProxy rules in a real HAProxy (issue #26, item 1). The frontend's `http-request` lines are
 * taken verbatim from gateway/deploy/compose/haproxy.cfg into a loopback HAProxy (plain HTTP, one server)
 * that connects to the real gateway from 127.0.0.2, the only address in GATEWAY_TRUSTED_PROXIES. Clients
 * speak from their own loopback addresses (127.0.0.x) with spoofed X-Forwarded-For headers:
 * - rotating values → the client's own address is limited after the budget;
 * - a fixed value naming another address → that address still enrols.
 * Needs Debian's `haproxy`; without it the check says so and is skipped.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenOnLoopback } from '../gateway/helpers/dpop';
import { startHarness, type Harness } from '../gateway/helpers/harness';

const HAVE_HAPROXY = spawnSync('haproxy', ['-v']).status === 0;
if (!HAVE_HAPROXY) console.log('hard haproxy: haproxy is not installed (apt-get install haproxy): skipped');

const BUDGET = 20;
const SHIPPED = readFileSync(new URL('../../gateway/deploy/compose/haproxy.cfg', import.meta.url), 'utf8');

/** The shipped frontend's http-request rules, verbatim. */
function shippedRequestRules(): string[] {
  const frontend = SHIPPED.split(/^frontend /m)[1]?.split(/^backend /m)[0] ?? '';
  return frontend.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('http-request '));
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Resolves once something accepts connections on the port (HAProxy has bound it), or rejects when HAProxy exits. */
function whenListening(port: number, proc: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`haproxy exited with ${code}`)));
    const attempt = (): void => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => setTimeout(attempt, 20));
    };
    attempt();
  });
}

function enrolThrough(port: number, localAddress: string, forwardedFor: string, enrolmentCode: string): Promise<number> {
  const body = Buffer.from(JSON.stringify({ enrolmentCode, deviceName: 'Through HAProxy' }));
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, localAddress, method: 'POST', path: '/v1/devices/enrol', agent: false, headers: { 'content-type': 'application/json', 'content-length': String(body.length), 'x-forwarded-for': forwardedFor } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const badCode = (): string => randomBytes(6).toString('hex').toUpperCase().replace(/(.{4})(.{4})(.{4})/, '$1-$2-$3');
const randomIp = (): string => [...randomBytes(4)].map((b, i) => (i === 0 ? (b % 200) + 11 : b)).join('.');

describe.skipIf(!HAVE_HAPROXY)('the shipped HAProxy rules in front of the gateway', () => {
  let h: Harness;
  let haproxy: ChildProcess | null = null;
  let dir = '';
  let lbPort = 0;

  beforeAll(async () => {
    h = await startHarness({ env: { GATEWAY_TRUSTED_PROXIES: '127.0.0.2/32', RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: String(BUDGET) } });
    const gwPort = Number(new URL(await listenOnLoopback(h.app)).port);
    lbPort = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'cpi-haproxy-'));
    const rules = shippedRequestRules();
    expect(rules.length).toBeGreaterThan(0);
    const cfg = [
      'global',
      '    maxconn 256',
      'defaults',
      '    mode http',
      '    timeout connect 5s',
      '    timeout client 30s',
      '    timeout server 30s',
      'frontend https',
      `    bind 127.0.0.1:${lbPort}`,
      ...rules.map((r) => `    ${r}`),
      '    default_backend gateways',
      'backend gateways',
      `    server gw1 127.0.0.1:${gwPort} source 127.0.0.2`,
      '',
    ].join('\n');
    writeFileSync(join(dir, 'haproxy.cfg'), cfg);
    haproxy = spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
    await whenListening(lbPort, haproxy);
  });
  afterAll(async () => {
    if (haproxy && haproxy.exitCode === null) {
      const exited = new Promise((resolve) => haproxy?.once('exit', resolve));
      haproxy.kill('SIGTERM');
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    await h?.close();
  });

  it('100 rotating spoofed X-Forwarded-For values → the real client address is limited after the budget', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 100; i++) statuses.push(await enrolThrough(lbPort, '127.0.0.7', `${randomIp()}, ${randomIp()}`, badCode()));
    expect(statuses.slice(0, BUDGET).every((s) => s === 400)).toBe(true);
    expect(statuses.slice(BUDGET).every((s) => s === 429)).toBe(true);
    console.log(`hard haproxy-spoof: ${JSON.stringify({ requests: 100, limited429: statuses.filter((s) => s === 429).length })}`);
  });

  it('a fixed spoofed value naming another address cannot lock that address out', async () => {
    for (let i = 0; i < 50; i++) await enrolThrough(lbPort, '127.0.0.8', '127.0.0.9', badCode());
    const { code } = await h.devices.issueEnrolmentCode('F2N060-E', 'Kauri Health', 1);
    expect(await enrolThrough(lbPort, '127.0.0.9', '127.0.0.9', code)).toBe(201);
  });
});
