/**
 * The ALEX client against mockAlex (real Fastify on loopback, scriptable faults, exact counts).
 * Time is injected: `sleep` records the wait and moves the clock; nothing here waits for real time
 * except the per-attempt timeout test (150 ms, not asserted on).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AppError, BugIndicatingError } from '../../../shared/errors';
import { SerializedResource } from '../fhir/serialize';
import { loadFhirValidator } from '../fhir/validate.testkit';
import { createAlexClient, type AlexClientHandle, type AlexClientOptions } from './client';
import { isAlexOutcomeUnknown } from './errors';
import { startMockAlex, type MockAlex, type MockAlexOptions } from './mock-alex.testkit';
import { IMAGE_IDENTIFIER_SYSTEM, type AlexCallContext, type FhirResource } from './types';

const JPEG_B64 = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5]).toString('base64');

interface Harness {
  mock: MockAlex;
  client: AlexClientHandle;
  clock: { now: number };
  sleeps: number[];
  logs: string[];
}

const open: Harness[] = [];

afterEach(async () => {
  for (const h of open.splice(0)) {
    h.client.close();
    await h.mock.close();
  }
});

async function setup(opts: Partial<AlexClientOptions> = {}, mockOpts: Partial<MockAlexOptions> = {}): Promise<Harness> {
  const clock = { now: Date.parse('2026-11-23T00:00:00Z') };
  const sleeps: number[] = [];
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString());
      cb();
    },
  });
  const mock = await startMockAlex({ clock: () => clock.now, ...mockOpts });
  const client = createAlexClient({
    fhirBaseUrl: mock.fhirBaseUrl,
    tokenUrl: mock.tokenUrl,
    clientId: mock.clientId,
    clientSecret: mock.primarySecret,
    scope: 'api://mock/.default',
    logger: pino({ level: 'debug' }, stream),
    clock: () => clock.now,
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.now += ms;
    },
    timeoutMs: 10_000,
    ...opts,
  });
  const h = { mock, client, clock, sleeps, logs };
  open.push(h);
  return h;
}

/** Another client on the same mock ALEX (its own options), silent. */
function clientOn(mock: MockAlex, over: Partial<AlexClientOptions> = {}): AlexClientHandle {
  return createAlexClient({
    fhirBaseUrl: mock.fhirBaseUrl,
    tokenUrl: mock.tokenUrl,
    clientId: mock.clientId,
    clientSecret: mock.primarySecret,
    scope: 's',
    logger: pino({ level: 'silent' }),
    ...over,
  });
}

const ctx = (over: Partial<AlexCallContext> = {}): AlexCallContext => ({ facilityId: 'F2N060-E', correlationId: '6f1d9a52-3c47-4f7e-9b0a-1a2b3c4d5e6f', ...over });

function media(imageId = '0b6f7f7e-8d4a-4c1e-9a51-2f1c3f9d7a10'): FhirResource {
  return {
    resourceType: 'Media',
    identifier: [{ system: IMAGE_IDENTIFIER_SYSTEM, value: imageId }],
    status: 'completed',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/media-type', code: 'image' }] },
    subject: { reference: 'Patient/pat-1' },
    createdDateTime: '2026-11-23T10:42:00+13:00',
    content: { contentType: 'image/jpeg', data: JPEG_B64, title: 'Left forearm' },
  };
}

function docRef(imageId = '1c6f7f7e-8d4a-4c1e-9a51-2f1c3f9d7a10'): FhirResource {
  return { resourceType: 'DocumentReference', identifier: [{ system: IMAGE_IDENTIFIER_SYSTEM, value: imageId }], status: 'current', subject: { reference: 'https://alexapiuat.medtechglobal.com/fhir/Patient/pat-1' } };
}

async function codeOf(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected a rejection');
}

const fhirCalls = (m: MockAlex, method?: string, path?: string) => m.requests.filter((r) => (!method || r.method === method) && (!path || r.path === path)).length;

describe('token: single flight and caching', () => {
  it('50 concurrent calls with a cold cache make exactly 1 token request', async () => {
    const { mock, client } = await setup();
    const results = await Promise.all(Array.from({ length: 50 }, () => client.getPatient(ctx(), 'pat-1')));
    expect(results.every((p) => p.nhi === 'ZZZ0016')).toBe(true);
    expect(mock.tokenRequests).toHaveLength(1);
    expect(fhirCalls(mock)).toBe(50);
  });

  it('1,000 concurrent calls with a cold cache make exactly 1 token request', async () => {
    // A generous per-attempt timeout: 1,000 requests queue on 32 sockets while other test files run.
    const { mock, client } = await setup({ timeoutMs: 60_000 });
    const results = await Promise.allSettled(Array.from({ length: 1000 }, () => client.getPatient(ctx(), 'pat-1')));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1000);
    expect(mock.tokenRequests).toHaveLength(1);
  });

  it('after a token 429 with Retry-After: 60, makes no token request for 60 s and fails fast with ERR_ALEX_THROTTLED', async () => {
    // A short retry budget, so each call fails fast instead of waiting out the Retry-After.
    const { mock, client, clock } = await setup({ retry: { maxTotalMs: 500 } });
    mock.tokenScript.push({ kind: 'respond', status: 429, headers: { 'retry-after': '60' }, body: { error: 'throttled' } });
    const first = await codeOf(client.getPatient(ctx(), 'pat-1'));
    expect(first.code).toBe('ERR_ALEX_THROTTLED');
    expect(first.retryAfterSeconds).toBe(60);
    const start = clock.now;
    for (let s = 1; s < 60; s += 2) {
      clock.now = start + s * 1000;
      const e = await codeOf(client.getPatient(ctx(), 'pat-1'));
      expect(e.code).toBe('ERR_ALEX_THROTTLED');
      expect(e.retryAfterSeconds).toBe(60 - s);
    }
    expect(mock.tokenRequests).toHaveLength(1);
    expect(fhirCalls(mock)).toBe(0);
    clock.now = start + 60_000;
    await expect(client.getPatient(ctx(), 'pat-1')).resolves.toMatchObject({ id: 'pat-1' });
    expect(mock.tokenRequests).toHaveLength(2);
    expect(mock.tokenRequests[1]?.at).toBe(start + 60_000);
  });

  it('waits out a token Retry-After that fits the retry budget, asking again only once it has passed', async () => {
    const { mock, client, clock, sleeps } = await setup();
    const start = clock.now;
    mock.tokenScript.push({ kind: 'respond', status: 429, headers: { 'retry-after': '20' } });
    await expect(client.getPatient(ctx(), 'pat-1')).resolves.toMatchObject({ id: 'pat-1' });
    expect(sleeps).toEqual([20_000]);
    expect(mock.tokenRequests.map((t) => t.at - start)).toEqual([0, 20_000]);
  });

  it('over 24 simulated hours never sends an expired token and refreshes by 80% of the lifetime', async () => {
    const { mock, client, clock } = await setup();
    const start = clock.now;
    let step = 0;
    while (clock.now < start + 24 * 3600_000) {
      await client.getPatient(ctx(), 'pat-1');
      clock.now += 37_000 + (step++ % 7) * 11_000; // uneven steps, 37–103 s
    }
    expect(mock.requests.length).toBeGreaterThan(1000);
    expect(mock.requests.filter((r) => r.tokenExpired || r.tokenUnknown)).toEqual([]);
    const gaps = mock.tokenRequests.slice(1).map((t, i) => (t.at - (mock.tokenRequests[i]?.at ?? 0)) / 1000);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(0.8 * 3599 + 103);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(0.8 * 3599);
    expect(mock.tokenRequests.length).toBeGreaterThanOrEqual(29);
    expect(mock.tokenRequests.length).toBeLessThanOrEqual(31);
  });

  it.each([60, 120, 300, 400, 900])('a %i s token: one token request per lifetime of steady traffic, never an expired token', async (lifetime) => {
    const { mock, client, clock } = await setup({}, { tokenLifetimeSeconds: lifetime });
    const start = clock.now;
    const span = 10 * lifetime * 1000;
    while (clock.now < start + span) {
      await client.getPatient(ctx(), 'pat-1');
      clock.now += (lifetime * 1000) / 30; // 30 calls per lifetime (a call every 2 s for a 60 s token)
      await new Promise((resolve) => setImmediate(resolve)); // let a background refresh land
    }
    expect(mock.requests.filter((r) => r.tokenExpired || r.tokenUnknown)).toEqual([]);
    // Refreshed 5 min before expiry, or at 80% of a lifetime too short for that: one request per
    // refresh interval (12.5 for 10 lifetimes at 80%), not one per call (a 60 s token: ~1.25 a minute).
    const refreshS = lifetime - 300 >= lifetime / 2 ? Math.min(lifetime - 300, 0.8 * lifetime) : 0.8 * lifetime;
    const expected = (10 * lifetime) / refreshS;
    expect(mock.tokenRequests.length).toBeGreaterThanOrEqual(Math.floor(expected) - 1);
    expect(mock.tokenRequests.length).toBeLessThanOrEqual(Math.ceil(expected) + 1);
  });

  it('refreshes in the background while the token is still good; a failed refresh fails no call', async () => {
    const { mock, client, clock } = await setup();
    await client.getPatient(ctx(), 'pat-1');
    const first = mock.requests[0]?.token;
    clock.now += 0.8 * 3599 * 1000;
    mock.tokenScript.push({ kind: 'respond', status: 500, body: 'token service error' });
    await expect(client.getPatient(ctx(), 'pat-1')).resolves.toMatchObject({ id: 'pat-1' });
    expect(mock.requests[1]?.token).toBe(first);
    await vi.waitFor(() => expect(mock.tokenRequests).toHaveLength(2));
    clock.now += 60_000;
    await client.getPatient(ctx(), 'pat-1');
    await vi.waitFor(() => expect(mock.tokenRequests).toHaveLength(3));
    await client.getPatient(ctx(), 'pat-1');
    expect(mock.requests[3]?.token).not.toBe(first);
    expect(mock.requests.filter((r) => r.tokenExpired || r.tokenUnknown)).toEqual([]);
  });

  it('on a 401 drops the token, refreshes once and retries once', async () => {
    const { mock, client } = await setup();
    await client.getPatient(ctx(), 'pat-1');
    mock.revokeTokens();
    await expect(client.getPatient(ctx(), 'pat-1')).resolves.toMatchObject({ id: 'pat-1' });
    expect(mock.tokenRequests).toHaveLength(2);
    expect(fhirCalls(mock)).toBe(3);
  });

  it('20 concurrent calls hitting 401 together share 1 forced refresh', async () => {
    const { mock, client } = await setup();
    await client.getPatient(ctx(), 'pat-1');
    mock.revokeTokens();
    await Promise.all(Array.from({ length: 20 }, () => client.getPatient(ctx(), 'pat-1')));
    expect(mock.tokenRequests).toHaveLength(2);
  });

  it('a 401 that persists after the refresh ends in ERR_ALEX_AUTH after exactly 1 refresh and 1 retry', async () => {
    const { mock, client } = await setup();
    mock.rules.push({ action: { kind: 'respond', status: 401, body: { statusCode: 401, message: 'Unauthorized' } } });
    const e = await codeOf(client.getPatient(ctx(), 'pat-1'));
    expect(e.code).toBe('ERR_ALEX_AUTH');
    expect(mock.tokenRequests).toHaveLength(2);
    expect(fhirCalls(mock)).toBe(2);
  });

  it('rotates to the secondary secret when the primary is refused, and never logs secrets or tokens', async () => {
    const rotating = await setup({ secondaryClientSecret: 'mock-secondary-secret-CANARY-2' }, { acceptedSecrets: ['mock-secondary-secret-CANARY-2'] });
    await expect(rotating.client.getPatient(ctx(), 'pat-1')).resolves.toMatchObject({ id: 'pat-1' });
    expect(rotating.mock.tokenRequests.map((t) => t.secret)).toEqual(['primary', 'secondary']);
    rotating.mock.revokeTokens();
    await rotating.client.getPatient(ctx(), 'pat-1');
    // The working secret is preferred from then on: no failed call.
    expect(rotating.mock.tokenRequests.map((t) => t.secret)).toEqual(['primary', 'secondary', 'secondary']);
    const logText = rotating.logs.join('');
    expect(logText).toContain('token_secret_switched');
    expect(logText).not.toContain('CANARY');
    expect(logText).not.toContain('tok-');
    expect(logText).not.toContain('ZZZ0016');
  });

  it('with both secrets refused, fails with ERR_ALEX_AUTH', async () => {
    const { client } = await setup({ secondaryClientSecret: 'also-wrong' }, { acceptedSecrets: ['something-else'] });
    expect((await codeOf(client.getPatient(ctx(), 'pat-1'))).code).toBe('ERR_ALEX_AUTH');
  });
});

describe('headers', () => {
  it('sends Bearer, mt-facilityid, mt-correlationid and FHIR JSON content types', async () => {
    const { mock, client } = await setup();
    await client.createMedia(ctx({ facilityId: 'F99669-C' }), media());
    const r = mock.requests[0];
    expect(r).toMatchObject({ method: 'POST', path: '/Media', facilityId: 'F99669-C', correlationId: '6f1d9a52-3c47-4f7e-9b0a-1a2b3c4d5e6f', accept: 'application/fhir+json' });
    expect(r?.contentType).toContain('application/fhir+json');
    expect(r?.token).toMatch(/^tok-/);
  });

  it('refuses a facility id or correlation id that is not a safe header value, sending nothing', async () => {
    const { mock, client } = await setup();
    expect((await codeOf(client.getPatient(ctx({ facilityId: 'F1\r\nX-Evil: 1' }), 'pat-1'))).code).toBe('ERR_REQUEST_INVALID');
    expect((await codeOf(client.getPatient(ctx({ correlationId: '' }), 'pat-1'))).code).toBe('ERR_REQUEST_INVALID');
    expect(mock.requests).toHaveLength(0);
    expect(mock.tokenRequests).toHaveLength(0);
  });
});

describe('retry policy', () => {
  it('retries 503 at most 5 attempts with full-jitter exponential backoff, then ERR_ALEX_UNAVAILABLE', async () => {
    const { mock, client, sleeps } = await setup();
    mock.rules.push({ action: { kind: 'respond', status: 503, body: 'Hybrid connection down' } });
    const e = await codeOf(client.getPatient(ctx(), 'pat-1'));
    expect(e.code).toBe('ERR_ALEX_UNAVAILABLE');
    expect(e.retryable).toBe(true);
    expect(fhirCalls(mock)).toBe(5);
    // random() = 0.5 → half of min(maxDelay, 250·2^(n-1)).
    expect(sleeps).toEqual([125, 250, 500, 1000]);
  });

  it.each([
    [400, 'ERR_ALEX_REJECTED'],
    [403, 'ERR_ALEX_FORBIDDEN'],
    [404, 'ERR_ALEX_PATIENT_NOT_FOUND'],
    [409, 'ERR_ALEX_REJECTED'],
    [413, 'ERR_ALEX_REJECTED'],
    [422, 'ERR_ALEX_REJECTED'],
    [500, 'ERR_ALEX_ERROR'],
  ])('never retries a %i on a read (→ %s)', async (status, code) => {
    const { mock, client, sleeps } = await setup();
    mock.rules.push({ action: { kind: 'respond', status, body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', diagnostics: 'Patient ZZZ0016 Canary' }] } } });
    const e = await codeOf(client.getPatient(ctx(), 'pat-1'));
    expect(e.code).toBe(code);
    expect(fhirCalls(mock)).toBe(1);
    expect(sleeps).toEqual([]);
    expect(JSON.stringify(e.toBody())).not.toMatch(/ZZZ0016|Canary/);
  });

  it.each([400, 403, 409, 413, 422])('never retries a %i on a create', async (status) => {
    const { mock, client } = await setup();
    mock.rules.push({ method: 'POST', action: { kind: 'respond', status, body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', expression: ['Media.content'] }] } } });
    const e = await codeOf(client.createMedia(ctx(), media()));
    expect(e.retryable).toBe(false);
    expect(fhirCalls(mock, 'POST')).toBe(1);
    expect(fhirCalls(mock, 'GET')).toBe(0);
    expect(mock.media).toHaveLength(0);
  });

  it('maps 403 "Practice Facility not found" to ERR_ALEX_FACILITY_NOT_FOUND', async () => {
    const { mock, client } = await setup();
    mock.rules.push({ action: { kind: 'respond', status: 403, body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'forbidden', diagnostics: 'Practice Facility not found' }] } } });
    expect((await codeOf(client.getPatient(ctx(), 'pat-1'))).code).toBe('ERR_ALEX_FACILITY_NOT_FOUND');
  });

  it('honours Retry-After on 429', async () => {
    const { mock, client, sleeps } = await setup();
    mock.rules.push({ times: 1, action: { kind: 'respond', status: 429, headers: { 'retry-after': '3' } } });
    await expect(client.getPatient(ctx(), 'pat-1')).resolves.toMatchObject({ id: 'pat-1' });
    expect(sleeps).toEqual([3000]);
    expect(fhirCalls(mock)).toBe(2);
  });

  it('does not start a retry the total budget cannot hold: Retry-After 45 s → ERR_ALEX_THROTTLED at once', async () => {
    const { mock, client, sleeps } = await setup();
    mock.rules.push({ action: { kind: 'respond', status: 429, headers: { 'retry-after': '45' } } });
    const e = await codeOf(client.getPatient(ctx(), 'pat-1'));
    expect(e.code).toBe('ERR_ALEX_THROTTLED');
    expect(e.retryAfterSeconds).toBe(45);
    expect(sleeps).toEqual([]);
    expect(fhirCalls(mock)).toBe(1);
  });

  it('caps the total time: long backoffs stop before maxTotalMs', async () => {
    const { mock, client, sleeps } = await setup({ random: () => 0.999, retry: { baseDelayMs: 4000, maxDelayMs: 20_000, maxTotalMs: 15_000 } });
    mock.rules.push({ action: { kind: 'respond', status: 502 } });
    await codeOf(client.getPatient(ctx(), 'pat-1'));
    expect(sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(15_000);
    expect(fhirCalls(mock)).toBe(sleeps.length + 1);
    expect(fhirCalls(mock)).toBeLessThan(5);
  });

  it('retries reads after a connection reset and after a timeout', async () => {
    const { mock, client } = await setup({ timeoutMs: 150 });
    mock.rules.push({ times: 1, action: { kind: 'reset' } });
    await expect(client.getPatient(ctx(), 'pat-1')).resolves.toMatchObject({ id: 'pat-1' });
    mock.rules.push({ times: 1, action: { kind: 'hang' } });
    await expect(client.getPatient(ctx(), 'pat-1')).resolves.toMatchObject({ id: 'pat-1' });
    mock.rules.push({ action: { kind: 'hang' } });
    const e = await codeOf(client.getPatient(ctx(), 'pat-1'));
    expect(e.code).toBe('ERR_ALEX_TIMEOUT');
  });

  it('stops waiting when the call is cancelled', async () => {
    const { mock, client } = await setup();
    const ac = new AbortController();
    mock.rules.push({ action: { kind: 'respond', status: 503 } });
    const c = clientOn(mock, {
      sleep: async () => {
        ac.abort();
        throw Object.assign(new Error('cancelled'), { name: 'AbortError' });
      },
    });
    await expect(c.getPatient(ctx({ signal: ac.signal }), 'pat-1')).rejects.toMatchObject({ name: 'AbortError' });
    expect(fhirCalls(mock)).toBe(1);
    c.close();
    void client;
  });
});

describe('creates: exactly once', () => {
  it('creates a Media and returns its id and location', async () => {
    const { mock, client } = await setup();
    const r = await client.createMedia(ctx(), media());
    expect(r.id).toBe(mock.media[0]?.id);
    expect(r.location).toContain(`/Media/${r.id}`);
  });

  it.each([
    ['a reset after ALEX stored it', { kind: 'process-then-reset' } as const],
    ['a 500 after ALEX stored it', { kind: 'process-then-status', status: 500 } as const],
    ['a 502 after ALEX stored it', { kind: 'process-then-status', status: 502 } as const],
    ['a 503 after ALEX stored it (the Hybrid Connection dropped)', { kind: 'process-then-status', status: 503 } as const],
    ['a 504 after ALEX stored it', { kind: 'process-then-status', status: 504 } as const],
    ['a reset before ALEX stored it', { kind: 'reset' } as const],
  ])('after %s: no resend, no search, ERR_ALEX_OUTCOME_UNKNOWN (the commit service proves the outcome)', async (_name, action) => {
    const { mock, client } = await setup();
    mock.rules.push({ method: 'POST', times: 1, action });
    const e = await codeOf(client.createMedia(ctx(), media()));
    expect(e.code).toBe('ERR_ALEX_OUTCOME_UNKNOWN');
    expect(e.retryable).toBe(true);
    expect(isAlexOutcomeUnknown(e)).toBe(true);
    expect(fhirCalls(mock, 'POST')).toBe(1);
    expect(fhirCalls(mock, 'GET')).toBe(0);
    expect(mock.media.length).toBeLessThanOrEqual(1);
  });

  it('after a timeout once ALEX stored it: not resent, outcome unknown', async () => {
    const { mock, client } = await setup({ timeoutMs: 200 });
    // The mock stores, then never answers: the client's 200 ms timeout fires.
    mock.rules.push({ method: 'POST', times: 1, action: { kind: 'process-then-hang' } });
    const e = await codeOf(client.createMedia(ctx(), media()));
    expect(e.code).toBe('ERR_ALEX_OUTCOME_UNKNOWN');
    expect(fhirCalls(mock, 'POST')).toBe(1);
    expect(mock.media).toHaveLength(1);
  });

  it('retries a create answered 429 (throttled at the door: certainly not stored) without searching', async () => {
    const { mock, client } = await setup();
    mock.rules.push({ method: 'POST', times: 2, action: { kind: 'respond', status: 429, headers: { 'retry-after': '1' } } });
    await client.createMedia(ctx(), media());
    expect(fhirCalls(mock, 'POST')).toBe(3);
    expect(fhirCalls(mock, 'GET')).toBe(0);
    expect(mock.media).toHaveLength(1);
  });

  it('does not resend a create answered 503 (the connection may have dropped after it was stored)', async () => {
    const { mock, client } = await setup();
    mock.rules.push({ method: 'POST', times: 2, action: { kind: 'respond', status: 503, headers: {} } });
    const e = await codeOf(client.createMedia(ctx(), media()));
    expect(e.code).toBe('ERR_ALEX_OUTCOME_UNKNOWN');
    expect(fhirCalls(mock, 'POST')).toBe(1);
    expect(mock.media).toHaveLength(0);
  });

  it('retries a create whose connection was refused (never sent), up to 5 attempts; the outcome is known: not stored', async () => {
    const { mock, sleeps } = await setup();
    const refusedBase = mock.fhirBaseUrl.replace(/:\d+\//, ':1/');
    const c = clientOn(mock, {
      fhirBaseUrl: refusedBase,
      random: () => 0.5,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    const e = await codeOf(c.createMedia(ctx(), media()));
    expect(e.code).toBe('ERR_ALEX_UNAVAILABLE');
    expect(isAlexOutcomeUnknown(e)).toBe(false);
    expect(c.stats().attempts).toBe(5);
    c.close();
  });

  it('a DocumentReference interrupted after it was stored is not resent and not searched for (no documented search)', async () => {
    const { mock, client } = await setup();
    mock.rules.push({ method: 'POST', times: 1, action: { kind: 'process-then-status', status: 502 } });
    const e = await codeOf(client.createDocumentReference(ctx(), docRef()));
    expect(e.code).toBe('ERR_ALEX_OUTCOME_UNKNOWN');
    expect(mock.documents).toHaveLength(1);
    expect(fhirCalls(mock, 'GET')).toBe(0);
    const id = mock.documents[0]?.id as string;
    await expect(client.getDocumentReference(ctx(), id)).resolves.toMatchObject({ id });
    await expect(client.getDocumentReference(ctx(), 'nope')).resolves.toBeNull();
  });

  it('refuses a resource without identifier, of the wrong type, or with a bad NHI, sending nothing', async () => {
    const { mock, client } = await setup();
    const noId = { ...media(), identifier: [] };
    expect((await codeOf(client.createMedia(ctx(), noId))).code).toBe('ERR_IDEMPOTENCY_KEY_MISSING');
    expect((await codeOf(client.createMedia(ctx(), docRef()))).code).toBe('ERR_REQUEST_INVALID');
    expect((await codeOf(client.findMediaByIdentifier(ctx(), 'ABC1234', { system: IMAGE_IDENTIFIER_SYSTEM, value: 'x' }))).code).toBe('ERR_REQUEST_INVALID');
    expect(mock.requests).toHaveLength(0);
  });

  it('with a FHIR validator, refuses an invalid resource before sending anything', async () => {
    const { mock } = await setup();
    const c = clientOn(mock, {
      fhirValidator: await loadFhirValidator(),
    });
    await expect(c.createMedia(ctx(), { ...media(), status: 'finished', colour: 'blue' })).rejects.toBeInstanceOf(BugIndicatingError);
    expect(mock.requests).toHaveLength(0);
    const created = await c.createMedia(ctx(), media());
    expect(mock.media.map((m) => m.id)).toEqual([created.id]);
    c.close();
  });

  it('creates from a resource already serialized exactly as from the object, validator included', async () => {
    const { mock } = await setup();
    const c = clientOn(mock, {
      fhirValidator: await loadFhirValidator(),
    });
    const frozen = SerializedResource.of(media());
    expect(frozen.json.equals(Buffer.from(JSON.stringify(media())))).toBe(true);
    expect(frozen.identifier).toEqual({ system: IMAGE_IDENTIFIER_SYSTEM, value: '0b6f7f7e-8d4a-4c1e-9a51-2f1c3f9d7a10' });
    const created = await c.createMedia(ctx(), frozen);
    expect(mock.media.map((m) => m.id)).toEqual([created.id]);
    const { id: _id, meta: _meta, ...stored } = mock.media[0] as FhirResource;
    expect(stored).toEqual(media());
    // Invalid, wrong type or without identifier: refused before anything is sent.
    await expect(c.createMedia(ctx(), SerializedResource.of({ ...media(), status: 'finished', colour: 'blue' }))).rejects.toBeInstanceOf(BugIndicatingError);
    expect((await codeOf(c.createMedia(ctx(), SerializedResource.of({ ...media(), identifier: [] })))).code).toBe('ERR_IDEMPOTENCY_KEY_MISSING');
    expect((await codeOf(c.createMedia(ctx(), SerializedResource.of(docRef())))).code).toBe('ERR_REQUEST_INVALID');
    expect(mock.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    c.close();
  });

  it('keeps at most 2 creates in flight per facility', async () => {
    const { mock, client } = await setup();
    mock.rules.push({ method: 'POST', action: { kind: 'delay', ms: 20 } });
    const ids = Array.from({ length: 10 }, (_, i) => `0b6f7f7e-8d4a-4c1e-9a51-2f1c3f9d7a${String(i).padStart(2, '0')}`);
    await Promise.all([...ids.map((id) => client.createMedia(ctx(), media(id))), ...ids.slice(0, 4).map((id) => client.createMedia(ctx({ facilityId: 'F99669-C' }), media(id)))]);
    expect(mock.media).toHaveLength(14);
    expect(mock.maxConcurrentPosts.get('F2N060-E')).toBe(2);
    expect(mock.maxConcurrentPosts.get('F99669-C')).toBe(2);
  });
});

describe('connections to ALEX', () => {
  const practices = Array.from({ length: 20 }, (_, i) => `F${70_001 + i}-B`);
  const imageId = (p: number, n: number) => `0b6f7f7e-8d4a-4c1e-9a51-2f1c3f9d${String(p).padStart(2, '0')}${String(n).padStart(2, '0')}`;

  it('lets every practice have its 2 creates in flight at once: 20 practices, 40 creates at ALEX together', async () => {
    const { mock, client } = await setup();
    mock.rules.push({ method: 'POST', action: { kind: 'delay', ms: 300 } });
    await Promise.all(practices.flatMap((facilityId, p) => [0, 1, 2].map((n) => client.createMedia(ctx({ facilityId }), media(imageId(p, n))))));
    expect(mock.media).toHaveLength(60);
    expect(mock.maxConcurrentPostsAll).toBe(40);
    expect(Math.max(...mock.maxConcurrentPosts.values())).toBe(2);
  });

  it("a read (here a patient's, as for a launch) never waits behind other practices' creates", async () => {
    // Two sockets per pool: both taken by creates that ALEX holds for a long time.
    const { mock, client } = await setup({ maxSockets: 2 });
    mock.rules.push({ method: 'POST', action: { kind: 'delay', ms: 2_000 } });
    let createsDone = false;
    const creates = Promise.all(practices.slice(0, 2).map((facilityId, p) => client.createMedia(ctx({ facilityId }), media(imageId(p, 0))))).then(() => {
      createsDone = true;
    });
    while (mock.requests.filter((r) => r.method === 'POST').length < 2) await new Promise((r) => setTimeout(r, 5));
    await expect(client.getPatient(ctx(), 'pat-1')).resolves.toMatchObject({ id: 'pat-1' });
    expect(createsDone).toBe(false);
    await creates;
    expect(mock.media).toHaveLength(2);
  });

  it('reports its connections per pool and the creates waiting for a write slot', async () => {
    const { mock, client } = await setup({ maxSockets: 2 });
    mock.rules.push({ method: 'POST', action: { kind: 'delay', ms: 1_000 } });
    // 3 practices' creates for 2 sockets; a practice's 3rd create waits for its write slot.
    const creates = Promise.all([
      ...practices.slice(0, 3).map((facilityId, p) => client.createMedia(ctx({ facilityId }), media(imageId(p, 0)))),
      ...[1, 2].map((n) => client.createMedia(ctx({ facilityId: practices[0] }), media(imageId(0, n)))),
    ]);
    while (mock.requests.filter((r) => r.method === 'POST').length < 2) await new Promise((r) => setTimeout(r, 5));
    const busy = client.stats();
    expect(busy.connections.create).toEqual({ active: 2, idle: 0, waiting: 2 });
    expect(busy.createsWaiting).toBe(1);
    expect(busy.connections.read).toMatchObject({ active: 0, waiting: 0 });
    expect(busy.connections.read.idle).toBe(1); // the token's, kept open
    await creates;
    const after = client.stats();
    expect(after.connections.create).toEqual({ active: 0, idle: 2, waiting: 0 });
    expect(after.createsWaiting).toBe(0);
  });
});

describe('circuit breaker', () => {
  it('opens at 50% failures over 20 calls, fails fast while open, then lets exactly 1 probe through', async () => {
    const { mock, client, clock } = await setup({ retry: { maxAttempts: 1 }, breaker: { windowSize: 20, failureRatio: 0.5, openMs: 10_000 } });
    for (let i = 0; i < 20; i++) {
      if (i % 2 === 0) mock.rules.push({ times: 1, action: { kind: 'respond', status: 503 } });
      await client.getPatient(ctx(), 'pat-1').catch(() => undefined);
    }
    expect(client.breakerState('F2N060-E')).toBe('open');
    const before = mock.requests.length;
    const e = await codeOf(client.getPatient(ctx(), 'pat-1'));
    expect(e.code).toBe('ERR_ALEX_UNAVAILABLE');
    expect(e.retryable).toBe(true);
    expect(mock.requests.length).toBe(before);
    // Another practice is not affected.
    await expect(client.getPatient(ctx({ facilityId: 'F99669-C' }), 'pat-1')).resolves.toMatchObject({ id: 'pat-1' });

    clock.now += 10_000;
    expect(client.breakerState('F2N060-E')).toBe('half-open');
    mock.rules.push({ times: 1, action: { kind: 'delay', ms: 20 } });
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => client.getPatient(ctx(), 'pat-1')));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(mock.requests.filter((r) => r.facilityId === 'F2N060-E').length).toBe(before + 1);
    expect(client.breakerState('F2N060-E')).toBe('closed');
  });

  it('a failed probe opens it again; 9 failures in 20 or 20 non-retryable answers keep it closed', async () => {
    const { mock, client, clock } = await setup({ retry: { maxAttempts: 1 }, breaker: { openMs: 5_000 } });
    for (let i = 0; i < 20; i++) {
      if (i < 9) mock.rules.push({ times: 1, action: { kind: 'respond', status: 502 } });
      await client.getPatient(ctx(), 'pat-1').catch(() => undefined);
    }
    expect(client.breakerState('F2N060-E')).toBe('closed');
    mock.rules.push({ times: 20, action: { kind: 'respond', status: 422 } });
    for (let i = 0; i < 20; i++) await client.getPatient(ctx(), 'pat-1').catch(() => undefined);
    expect(client.breakerState('F2N060-E')).toBe('closed');
    mock.rules.push({ times: 20, action: { kind: 'respond', status: 503 } });
    for (let i = 0; i < 20; i++) await client.getPatient(ctx(), 'pat-1').catch(() => undefined);
    expect(client.breakerState('F2N060-E')).toBe('open');
    clock.now += 5_000;
    mock.rules.push({ times: 1, action: { kind: 'respond', status: 503 } });
    await codeOf(client.getPatient(ctx(), 'pat-1'));
    expect(client.breakerState('F2N060-E')).toBe('open');
    expect((await client.ready()).ok).toBe(false);
  });
});

describe('patients and launch', () => {
  it('reads a patient into the banner summary', async () => {
    const { client } = await setup();
    await expect(client.getPatient(ctx(), 'pat-1')).resolves.toEqual({ id: 'pat-1', nhi: 'ZZZ0016', familyName: 'Testpatient', givenName: 'Canary', birthDate: '1961-05-21', sex: 'female' });
  });

  it('finds by NHI, returns null on an empty search holding an OperationOutcome, refuses two patients with one NHI', async () => {
    const { mock, client } = await setup();
    await expect(client.findPatientByNhi(ctx(), 'zzz0016')).resolves.toMatchObject({ id: 'pat-1' });
    await expect(client.findPatientByNhi(ctx(), 'ZZZ0024')).resolves.toBeNull();
    mock.patients.push({ ...mock.patients[0], id: 'pat-2' });
    const e = await codeOf(client.findPatientByNhi(ctx(), 'ZZZ0016'));
    expect(e.code).toBe('ERR_ALEX_PATIENT_NOT_FOUND');
    expect(e.detail).toBe('more than one patient has this NHI');
  });

  it('refuses an invalid NHI or patient id before asking ALEX', async () => {
    const { mock, client } = await setup();
    expect((await codeOf(client.findPatientByNhi(ctx(), 'ZZZ0017'))).code).toBe('ERR_REQUEST_INVALID');
    expect((await codeOf(client.getPatient(ctx(), '../Practitioner/1'))).code).toBe('ERR_ALEX_PATIENT_NOT_FOUND');
    expect(mock.requests).toHaveLength(0);
  });

  it('refuses a Patient without a valid NHI', async () => {
    const { mock, client } = await setup();
    mock.patients.push({ resourceType: 'Patient', id: 'pat-9', name: [{ family: 'X', given: ['Y'] }], birthDate: '1990-01-01' });
    const e = await codeOf(client.getPatient(ctx(), 'pat-9'));
    expect(e.code).toBe('ERR_ALEX_PATIENT_NOT_FOUND');
  });

  it('decodes a launch pair and maps a refused pair to ERR_LAUNCH_SIGNATURE', async () => {
    const { mock, client } = await setup();
    mock.launches.set('ctx+/=abc/sig==', { patientId: 'pat-1', facilityCode: 'F2N060-E', providerId: null, createdTime: '2026-11-23T00:00:00Z' });
    await expect(client.decodeLaunch(ctx(), 'ctx+/=abc', 'sig==')).resolves.toEqual({ patientId: 'pat-1', facilityCode: 'F2N060-E', providerId: null, createdTime: '2026-11-23T00:00:00Z' });
    expect((await codeOf(client.decodeLaunch(ctx(), 'forged', 'sig'))).code).toBe('ERR_LAUNCH_SIGNATURE');
    expect(mock.requests.every((r) => r.path.startsWith('/vendorforms/api/getlaunchcontextstring/'))).toBe(true);
  });

  it('is ready when a token can be had', async () => {
    const { client } = await setup();
    await expect(client.ready()).resolves.toEqual({ ok: true });
  });
});

describe('large bodies', () => {
  const bodyOf = (size: number): Buffer => Buffer.from(Array.from({ length: size }, (_, i) => (i * 31 + 7) % 251));

  it('a 1 MB image reaches ALEX whole, with its Content-Length', async () => {
    const received: { length: number; declared: string | undefined; body: Buffer }[] = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        received.push({ length: body.length, declared: req.headers['content-length'], body });
        res.writeHead(201, { 'content-type': 'application/fhir+json', location: `${url}/Media/m-1/_history/1` });
        res.end(JSON.stringify({ resourceType: 'Media', id: 'm-1' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
    const { mock } = await setup();
    const client = clientOn(mock, { fhirBaseUrl: url });
    try {
      const big = media();
      (big.content as { data: string }).data = bodyOf(1_000_000).toString('base64');
      const resource = SerializedResource.of(big);
      expect(resource.json.length).toBeGreaterThan(1_000_000);
      const r = await client.createMedia(ctx(), resource);
      expect(r).toMatchObject({ id: 'm-1' });
      expect(received).toHaveLength(1);
      expect(received[0]!.declared).toBe(String(resource.json.length));
      expect(received[0]!.body.equals(resource.json)).toBe(true);
    } finally {
      client.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
