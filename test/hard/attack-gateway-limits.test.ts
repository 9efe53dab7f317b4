/**
 * The gateway's failure budgets, attacked (issue #26, items 1 and 2).
 * - Spoofed X-Forwarded-For: a client that rotates the header, or names another address in it, through a
 *   load balancer that appends to the header (HAProxy's `option forwardfor` without a delete first) or
 *   connecting directly → its own address is limited, and the address it names is not locked out.
 * - One stranger behind a practice's public address: thousands of bad enrolment codes, forged credentials
 *   and unknown routes from that address → the practice's enrolled PCs keep launching and committing, and
 *   the stranger is limited.
 * Real gateway (Fastify, `inject` with the peer address a socket would have), real sandbox, SQLite.
 * Size: HARD_SCALE=full → 100 spoofed values, 2,000 bad codes; default 100 and 200.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { creates, startHarness, type Harness } from '../gateway/helpers/harness';
import { scaled } from './helpers/scale';

const LB = '10.0.0.5';
const SPOOFS = 100;
const BAD_CODES = scaled(2_000, 200);
const BUDGET = 20;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { GATEWAY_TRUSTED_PROXIES: `${LB}/32`, RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: String(BUDGET) } });
});
afterAll(async () => {
  await h?.close();
});

const code = (r: { json<T>(): T }): string => r.json<{ error: { code: string } }>().error.code;
const badCode = (): string => randomBytes(6).toString('hex').toUpperCase().replace(/(.{4})(.{4})(.{4})/, '$1-$2-$3');
const enrolFrom = (remoteAddress: string, forwardedFor: string | null, enrolmentCode = badCode()) =>
  h.app.inject({
    method: 'POST',
    url: '/v1/devices/enrol',
    remoteAddress,
    headers: forwardedFor === null ? {} : { 'x-forwarded-for': forwardedFor },
    payload: { enrolmentCode, deviceName: 'Attacker' },
  });
const randomIp = (): string => [...randomBytes(4)].map((b, i) => (i === 0 ? (b % 200) + 11 : b)).join('.');

describe('X-Forwarded-For is believed only from the configured load balancer', () => {
  it(`${SPOOFS} rotating spoofed X-Forwarded-For values through an appending load balancer → the real client address is limited`, async () => {
    const client = '203.0.113.7';
    const statuses: number[] = [];
    // An appending proxy turns the client's own header into "<spoof>, <client>".
    for (let i = 0; i < SPOOFS; i++) statuses.push((await enrolFrom(LB, `${randomIp()}, ${client}`)).statusCode);
    expect(statuses.slice(0, BUDGET).every((s) => s === 400)).toBe(true);
    expect(statuses.slice(BUDGET).every((s) => s === 429)).toBe(true);
    console.log(`hard spoofed-xff: ${JSON.stringify({ requests: SPOOFS, refused400: statuses.filter((s) => s === 400).length, limited429: statuses.filter((s) => s === 429).length })}`);
  });

  it(`${SPOOFS} rotating X-Forwarded-For values sent straight to the gateway (not from the load balancer) → ignored, the socket address is limited`, async () => {
    const statuses: number[] = [];
    for (let i = 0; i < SPOOFS; i++) statuses.push((await enrolFrom('198.51.100.20', randomIp())).statusCode);
    expect(statuses.filter((s) => s === 429)).toHaveLength(SPOOFS - BUDGET);
  });

  it('a fixed spoofed value naming another address cannot lock that address out', async () => {
    const victim = '198.51.100.9';
    for (let i = 0; i < SPOOFS; i++) await enrolFrom(LB, `${victim}, 203.0.113.66`);
    await enrolFrom('198.51.100.21', victim); // and straight to the gateway
    const { code: good } = await h.devices.issueEnrolmentCode('F2N060-E', 'Kauri Health', 1);
    // The victim's own request arrives through the load balancer, which names it.
    const res = await enrolFrom(LB, victim, good);
    expect(res.statusCode).toBe(201);
  });

  it('the load balancer itself, when it names no client, is known by its own address', async () => {
    const r = await enrolFrom(LB, null);
    expect([r.statusCode, code(r)]).toEqual([400, 'ERR_ENROL_CODE_INVALID']);
  });
});

describe('a stranger behind the practice address cannot lock out its enrolled PCs', () => {
  it(`${BAD_CODES} bad enrolment codes, forged credentials and unknown routes from the practice address → its PCs keep launching and committing`, async () => {
    const practice = '127.0.0.1'; // the harness's launch and commit helpers speak from here
    const pcs = [await h.enrol('F2N060-E', 'Room 1'), await h.enrol('F2N060-E', 'Room 2')];
    const forged = `Device dev_${'A'.repeat(22)}.${'B'.repeat(43)}`;
    let limited = 0;
    for (let i = 0; i < BAD_CODES; i++) {
      const kind = i % 4;
      const r =
        kind === 0 || kind === 1
          ? await enrolFrom(practice, null)
          : kind === 2
            ? await h.app.inject({ method: 'GET', url: '/v1/devices/me', headers: { authorization: forged }, remoteAddress: practice })
            : await h.app.inject({ method: 'GET', url: `/v1/${randomBytes(4).toString('hex')}`, remoteAddress: practice });
      if (r.statusCode === 429) limited++;
    }
    // The stranger is limited…
    expect(limited).toBeGreaterThan(BAD_CODES / 2);
    // …and every PC of the practice still launches and commits, from the same address.
    const before = creates(h.sandbox).media;
    for (const pc of pcs) {
      const grant = await h.launch(pc, 'ZZZ0016');
      const res = await h.commit(pc, h.commitBody(grant, { media: true }));
      expect(res.statusCode, res.body).toBe(201);
    }
    expect(creates(h.sandbox).media - before).toBe(pcs.length);
    console.log(`hard practice-lockout: ${JSON.stringify({ attempts: BAD_CODES, strangerLimited: limited, pcsCommitted: pcs.length })}`);
  });
});

describe('the NHI lookup has its own per-device budget, and every lookup is audited', () => {
  it('a device walking NHIs is limited after 10 lookups (429, Retry-After) before ALEX is asked; another device is not; it refills with time', async () => {
    h.clock.advance(120_000); // the stranger above spent this address's enrolment budget
    const walker = await h.enrol('F2N060-E', 'Room 9');
    const other = await h.enrol('F2N060-E', 'Room 10');
    const lookup = (d: { deviceId: string; deviceSecret: string }, nhi: string) =>
      h.app.inject({ method: 'POST', url: '/v1/launch/lookup', headers: { authorization: h.auth(d as never) }, payload: { nhi } });
    const nhis = ['ZZZ0016', 'ZZZ0024', 'ZZZ0032', 'ZAA10AX'];
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await lookup(walker, nhis[i % nhis.length] as string)).statusCode);
    expect(statuses.slice(0, 10).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(10).every((s) => s === 429)).toBe(true);
    const limited = await lookup(walker, 'ZZZ0016');
    expect(limited.json<{ error: { code: string } }>().error.code).toBe('ERR_RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await lookup(other, 'ZZZ0016')).statusCode).toBe(200);
    const audit = (await h.store.listAudit({ deviceId: walker.deviceId, limit: 1000 })).filter((a) => a.action === 'launch.lookup');
    expect(audit.filter((a) => a.outcome === 'granted')).toHaveLength(10);
    expect(audit.filter((a) => a.outcome === 'rejected' && a.errorCode === 'ERR_RATE_LIMITED')).toHaveLength(31);
    h.clock.advance(3600_000);
    expect((await lookup(walker, 'ZZZ0016')).statusCode).toBe(200);
  });
});
