/**
 * The ALEX client against the real ALEX sandbox over HTTP on loopback, with resources from the real
 * FHIR builders. Every sandbox fault kind ends in success exactly once or in the right final error.
 * Time is injected into both sides; the only real waits are the 300 ms per-attempt timeouts of the timeout-fault tests.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../shared/errors';
import { buildDocumentReference, buildMedia, type BuildContext } from '../fhir/builders';
import { startSandbox, type FaultRule, type RunningSandbox } from '../sandbox';
import { makeAttachments } from '../sandbox/test-support';
import { createAlexClient, type AlexClientHandle, type AlexClientOptions } from './client';
import { isAlexOutcomeUnknown } from './errors';
import { IMAGE_IDENTIFIER_SYSTEM, type AlexCallContext } from './types';

interface Harness {
  sandbox: RunningSandbox;
  client: AlexClientHandle;
  clock: { now: number };
  sleeps: number[];
  logs: string[];
}

const open: Harness[] = [];
let files: { jpeg: string; tiff: string; pdf: string };

beforeAll(async () => {
  const a = await makeAttachments();
  files = { jpeg: a.jpeg.toString('base64'), tiff: a.tiff.toString('base64'), pdf: a.pdf.toString('base64') };
});

afterEach(async () => {
  for (const h of open.splice(0)) {
    h.client.close();
    await h.sandbox.close();
  }
});

async function setup(opts: Partial<AlexClientOptions> = {}, faults: FaultRule[] = []): Promise<Harness> {
  const clock = { now: Date.parse('2026-11-23T00:00:00Z') };
  const sleeps: number[] = [];
  const logs: string[] = [];
  const sandbox = await startSandbox({ clock: () => clock.now, sleep: async () => undefined, faults });
  const client = createAlexClient({
    fhirBaseUrl: sandbox.fhirBaseUrl,
    tokenUrl: sandbox.tokenUrl,
    clientId: sandbox.credentials.clientId,
    clientSecret: sandbox.credentials.clientSecret,
    scope: sandbox.credentials.scope,
    logger: pino(
      { level: 'debug' },
      new Writable({
        write(chunk: Buffer, _e, cb) {
          logs.push(chunk.toString());
          cb();
        },
      }),
    ),
    clock: () => clock.now,
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.now += ms;
    },
    // Long enough for a loaded CI box; tests of the timeout fault set 300 ms.
    timeoutMs: 10_000,
    ...opts,
  });
  const h = { sandbox, client, clock, sleeps, logs };
  open.push(h);
  return h;
}

const ctx = (over: Partial<AlexCallContext> = {}): AlexCallContext => ({ facilityId: 'F2N060-E', correlationId: '6f1d9a52-3c47-4f7e-9b0a-1a2b3c4d5e6f', ...over });

let seq = 0;
function imageId(): string {
  seq++;
  return `0b6f7f7e-8d4a-4c1e-9a51-${String(seq).padStart(12, '0')}`;
}

async function buildCtx(h: Harness, id = imageId()): Promise<BuildContext> {
  const seed = h.sandbox.patients.find((p) => p.nhi === 'ZZZ0016');
  if (!seed) throw new Error('seed patient missing');
  const patient = await h.client.getPatient(ctx(), seed.id);
  return {
    imageId: id,
    patient,
    facilityId: 'F2N060-E',
    providerId: h.sandbox.practitioners[0]?.id ?? null,
    capturedAt: '2026-11-22T21:42:00Z',
    metadata: { bodySiteCode: '14975008', laterality: 'left', view: 'close-up', imageType: 'wound', caption: 'Day 3' },
    device: { id: 'dev_abcdefghijklmnopqrstuv', name: 'Consult room 3' },
    alexFhirBaseUrl: 'https://alexapiuat.medtechglobal.com/fhir',
  };
}

async function failure(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected a rejection');
}

const posts = (h: Harness) => h.sandbox.store.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/Media')).length;

describe('ALEX client × sandbox: reads and launch', () => {
  it('reads a patient, finds one by NHI, and answers null for an NHI with no patient', async () => {
    const h = await setup();
    const seed = h.sandbox.patients.find((p) => p.nhi === 'ZZZ0016');
    const p = await h.client.getPatient(ctx(), seed?.id ?? '');
    expect(p).toEqual({ id: seed?.id, nhi: 'ZZZ0016', familyName: seed?.familyName, givenName: seed?.givenName, birthDate: seed?.birthDate, sex: seed?.sex });
    await expect(h.client.findPatientByNhi(ctx(), 'ZAA10AX')).resolves.toMatchObject({ nhi: 'ZAA10AX' });
    await expect(h.client.findPatientByNhi(ctx(), 'ZZZ0059')).resolves.toBeNull();
    expect((await failure(h.client.getPatient(ctx(), 'ffffffffffffffffffffffffffffffff'))).code).toBe('ERR_ALEX_PATIENT_NOT_FOUND');
  });

  it('decodes a launch pair, and refuses a forged one with ERR_LAUNCH_SIGNATURE', async () => {
    const h = await setup();
    const seed = h.sandbox.patients[0];
    const pair = h.sandbox.issueLaunch({ patientId: seed?.id ?? null, facilityCode: 'F2N060-E' });
    const decoded = await h.client.decodeLaunch(ctx(), pair.context, pair.signature);
    expect(decoded).toMatchObject({ patientId: seed?.id, facilityCode: 'F2N060-E', providerId: h.sandbox.practitioners[0]?.id });
    const none = h.sandbox.issueLaunch({ patientId: null, facilityCode: 'F2N060-E', providerId: null });
    await expect(h.client.decodeLaunch(ctx(), none.context, none.signature)).resolves.toMatchObject({ patientId: null, providerId: null });
    expect((await failure(h.client.decodeLaunch(ctx(), pair.context, `${pair.signature.slice(0, -4)}AAA=`))).code).toBe('ERR_LAUNCH_SIGNATURE');
    expect((await failure(h.client.decodeLaunch(ctx(), 'garbage', 'garbage'))).code).toBe('ERR_LAUNCH_SIGNATURE');
  });

  it('an unmapped facility gets ERR_ALEX_FACILITY_NOT_FOUND, not retried', async () => {
    const h = await setup();
    const e = await failure(h.client.findPatientByNhi(ctx({ facilityId: 'F00000-X' }), 'ZZZ0016'));
    expect(e.code).toBe('ERR_ALEX_FACILITY_NOT_FOUND');
    expect(h.sleeps).toEqual([]);
  });

  it('1,000 concurrent reads with a cold cache make exactly 1 token request', async () => {
    const h = await setup({ timeoutMs: 60_000 });
    const id = h.sandbox.patients[0]?.id ?? '';
    const all = await Promise.all(Array.from({ length: 1000 }, () => h.client.getPatient(ctx(), id)));
    expect(all).toHaveLength(1000);
    expect(h.sandbox.store.counters.tokenRequests).toBe(1);
  });
});

describe('ALEX client × sandbox: creates', () => {
  it('creates a Media and an Inbox Scan DocumentReference built by the FHIR builders, and finds both again', async () => {
    const h = await setup();
    const b = await buildCtx(h);
    const m = await h.client.createMedia(ctx(), buildMedia(b, { contentType: 'image/jpeg', data: files.jpeg }));
    const d = await h.client.createDocumentReference(ctx(), buildDocumentReference(b, { contentType: 'application/pdf', data: files.pdf }));
    expect(h.sandbox.store.listMedia({ identifierValue: b.imageId }).map((r) => r.id)).toEqual([m.id]);
    expect(h.sandbox.store.listDocumentReferences({ identifierValue: b.imageId }).map((r) => r.id)).toEqual([d.id]);
    const identifier = { system: IMAGE_IDENTIFIER_SYSTEM, value: b.imageId };
    // ALEX's search freshness is not documented: the strict sandbox shows a new Media only after its lag.
    await expect(h.client.findMediaByIdentifier(ctx(), b.patient.nhi, identifier)).resolves.toBeNull();
    h.clock.now += 60_000;
    await expect(h.client.findMediaByIdentifier(ctx(), b.patient.nhi, identifier)).resolves.toMatchObject({ id: m.id });
    await expect(h.client.getDocumentReference(ctx(), d.id)).resolves.toMatchObject({ id: d.id, status: 'current' });
    await expect(h.client.findMediaByIdentifier(ctx(), b.patient.nhi, { ...identifier, value: imageId() })).resolves.toBeNull();
  });

  it('a DocumentReference without a known GP is refused by ALEX (author[0] required): ERR_ALEX_REJECTED, not retried', async () => {
    const h = await setup();
    const b = { ...(await buildCtx(h)), providerId: null };
    const e = await failure(h.client.createDocumentReference(ctx(), buildDocumentReference(b, { contentType: 'image/tiff', data: files.tiff })));
    expect(e.code).toBe('ERR_ALEX_REJECTED');
    expect(e.detail).toContain('DocumentReference.author');
    expect(h.sandbox.store.listDocumentReferences()).toHaveLength(0);
  });

  it('a Media for a patient ALEX does not know → ERR_ALEX_REJECTED with no patient data in the error', async () => {
    const h = await setup();
    const b = await buildCtx(h);
    const media = buildMedia({ ...b, patient: { ...b.patient, id: 'ffffffffffffffffffffffffffffffff' } }, { contentType: 'image/jpeg', data: files.jpeg });
    const e = await failure(h.client.createMedia(ctx(), media));
    expect(e.code).toBe('ERR_ALEX_REJECTED');
    expect(JSON.stringify(e.toBody())).not.toMatch(/ZZZ0016|ffffffff|Testpatient/);
    expect(posts(h)).toBe(1);
    expect(h.sandbox.store.listMedia()).toHaveLength(0);
  });

  it('an attachment of 1 MB or more is refused by ALEX with 413 → ERR_ALEX_REJECTED, sent once', async () => {
    const h = await setup();
    const b = await buildCtx(h);
    const media = buildMedia(b, { contentType: 'image/jpeg', data: files.jpeg });
    const big = Buffer.concat([Buffer.from(files.jpeg, 'base64'), Buffer.alloc(1_000_000)]).toString('base64');
    (media.content as { data: string }).data = big;
    const e = await failure(h.client.createMedia(ctx(), media));
    expect(e.code).toBe('ERR_ALEX_REJECTED');
    expect(e.detail).toContain('413');
    expect(posts(h)).toBe(1);
  });
});

describe('ALEX client × sandbox: every fault kind', () => {
  const transient: Array<[string, FaultRule]> = [
    ['401 stale token', { kind: 'status401', method: 'POST', pathPrefix: '/FHIR/Media', times: 1 }],
    ['429 with Retry-After', { kind: 'status429', method: 'POST', pathPrefix: '/FHIR/Media', times: 2, retryAfterSeconds: 2 }],
    ['latency', { kind: 'latency', method: 'POST', pathPrefix: '/FHIR/Media', times: 1, latencyMs: 5_000 }],
    ['503 hybrid connection down (no listener: never reached Evolution)', { kind: 'status503', method: 'POST', pathPrefix: '/FHIR/Media', times: 2 }],
  ];

  it.each(transient)('a transient %s (ALEX certainly stored nothing) ends with the Media stored exactly once', async (_name, rule) => {
    const h = await setup();
    const b = await buildCtx(h);
    h.sandbox.faults.add(rule);
    const created = await h.client.createMedia(ctx(), buildMedia(b, { contentType: 'image/jpeg', data: files.jpeg }));
    const stored = h.sandbox.store.listMedia({ identifierValue: b.imageId });
    expect(stored).toHaveLength(1);
    expect(stored[0]?.id).toBe(created.id);
    if (rule.kind === 'status429') expect(h.sleeps).toEqual([2000, 2000]);
    if (rule.kind === 'status401') expect(h.sandbox.store.counters.tokenRequests).toBe(2);
  });

  const ambiguous: Array<[string, FaultRule]> = [
    ['500 plain text', { kind: 'status500', method: 'POST', times: 1 }],
    ['dropped connection', { kind: 'drop', method: 'POST', times: 1 }],
    ['timeout', { kind: 'timeout', method: 'POST', times: 1 }],
    ['stored, then the connection dropped', { kind: 'drop', method: 'POST', times: 1, when: 'after' }],
    ['stored, then a 503 (the answer lost on the way back)', { kind: 'status503', method: 'POST', times: 1, when: 'after' }],
  ];

  it.each(ambiguous)('a %s on a create: sent once, never resent, ERR_ALEX_OUTCOME_UNKNOWN (Media and DocumentReference)', async (_name, rule) => {
    const h = await setup(rule.kind === 'timeout' ? { timeoutMs: 300 } : {});
    const b = await buildCtx(h);
    h.sandbox.faults.add({ ...rule, pathPrefix: '/FHIR/Media' });
    h.sandbox.faults.add({ ...rule, pathPrefix: '/FHIR/DocumentReference' });
    const m = await failure(h.client.createMedia(ctx(), buildMedia(b, { contentType: 'image/jpeg', data: files.jpeg })));
    const d = await failure(h.client.createDocumentReference(ctx(), buildDocumentReference(b, { contentType: 'application/pdf', data: files.pdf })));
    for (const e of [m, d]) {
      expect(e.code).toBe('ERR_ALEX_OUTCOME_UNKNOWN');
      expect(e.retryable).toBe(true);
    }
    expect(posts(h)).toBe(1);
    expect(h.sandbox.store.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/DocumentReference'))).toHaveLength(1);
    expect(h.sandbox.store.requests().filter((r) => r.method === 'GET' && /Media|DocumentReference/.test(r.path))).toHaveLength(0);
    const stored = rule.when === 'after' ? 1 : 0;
    expect(h.sandbox.store.listMedia({ identifierValue: b.imageId })).toHaveLength(stored);
    expect(h.sandbox.store.listDocumentReferences({ identifierValue: b.imageId })).toHaveLength(stored);
  });

  it.each<[string, string, FaultRule]>([
    ['401 that persists', 'ERR_ALEX_AUTH', { kind: 'status401', method: 'POST' }],
    ['429 with a long Retry-After', 'ERR_ALEX_THROTTLED', { kind: 'status429', method: 'POST', retryAfterSeconds: 120 }],
    ['hybrid connection down that persists', 'ERR_ALEX_UNAVAILABLE', { kind: 'status503', method: 'POST' }],
  ])('a %s ends in %s with nothing stored', async (_name, code, rule) => {
    const h = await setup();
    const b = await buildCtx(h);
    h.sandbox.faults.add(rule);
    const e = await failure(h.client.createMedia(ctx(), buildMedia(b, { contentType: 'image/jpeg', data: files.jpeg })));
    expect(e.code).toBe(code);
    expect(isAlexOutcomeUnknown(e)).toBe(false);
    expect(h.sandbox.store.listMedia()).toHaveLength(0);
    expect(posts(h)).toBeLessThanOrEqual(5);
  });

  it('a token endpoint 429 fails fast with ERR_ALEX_THROTTLED and no further token request until Retry-After passes', async () => {
    const h = await setup({ retry: { maxTotalMs: 1_000 } });
    h.sandbox.faults.add({ kind: 'status429', pathPrefix: h.sandbox.tokenPath, times: 1, retryAfterSeconds: 60 });
    const id = h.sandbox.patients[0]?.id ?? '';
    for (let i = 0; i < 5; i++) {
      const e = await failure(h.client.getPatient(ctx(), id));
      expect(e.code).toBe('ERR_ALEX_THROTTLED');
      h.clock.now += 10_000;
    }
    // A faulted request is answered before the sandbox's token handler counts it: count the requests.
    const tokenCalls = () => h.sandbox.store.requests().filter((r) => r.path === h.sandbox.tokenPath).length;
    expect(tokenCalls()).toBe(1);
    h.clock.now += 10_000;
    await expect(h.client.getPatient(ctx(), id)).resolves.toMatchObject({ id });
    expect(tokenCalls()).toBe(2);
  });

  it('a facility whose connection is down opens its breaker; the other facility keeps working', async () => {
    const h = await setup({ retry: { maxAttempts: 1 }, breaker: { openMs: 30_000 } });
    h.sandbox.faults.add({ kind: 'status503', facilityId: 'F99669-C' });
    for (let i = 0; i < 20; i++) await h.client.findPatientByNhi(ctx({ facilityId: 'F99669-C' }), 'ZZZ0016').catch(() => undefined);
    expect(h.client.breakerState('F99669-C')).toBe('open');
    const before = h.sandbox.store.requests().length;
    expect((await failure(h.client.findPatientByNhi(ctx({ facilityId: 'F99669-C' }), 'ZZZ0016'))).detail).toBe('circuit open');
    expect(h.sandbox.store.requests().length).toBe(before);
    await expect(h.client.findPatientByNhi(ctx(), 'ZZZ0016')).resolves.toMatchObject({ nhi: 'ZZZ0016' });
    h.sandbox.faults.clear();
    h.clock.now += 30_000;
    await expect(h.client.findPatientByNhi(ctx({ facilityId: 'F99669-C' }), 'ZZZ0016')).resolves.toMatchObject({ nhi: 'ZZZ0016' });
    expect(h.client.breakerState('F99669-C')).toBe('closed');
  });

  it('100 callers during an outage: ALEX sees one wave, not five; on recovery one probe, then everyone', async () => {
    const h = await setup({ breaker: { openMs: 30_000 } });
    const down = ctx({ facilityId: 'F99669-C' });
    const seen = () => h.sandbox.store.requests().filter((r) => r.facilityId === 'F99669-C').length;
    h.sandbox.faults.add({ kind: 'status503', facilityId: 'F99669-C' });
    const during = await Promise.allSettled(Array.from({ length: 100 }, () => h.client.findPatientByNhi(down, 'ZZZ0016')));
    expect(during.every((r) => r.status === 'rejected' && (r.reason as AppError).code === 'ERR_ALEX_UNAVAILABLE')).toBe(true);
    // Without the breaker each caller would make 5 attempts (500 requests). With it: the first wave (100,
    // all let through before any answer), plus at most one retry per failure seen before the window of 20
    // filled and opened the breaker (19).
    expect(seen()).toBeLessThanOrEqual(100 + 19);
    const afterOutage = seen();
    h.sandbox.faults.clear();
    h.clock.now += 30_000;
    const probe = await Promise.allSettled(Array.from({ length: 100 }, () => h.client.findPatientByNhi(down, 'ZZZ0016')));
    expect(probe.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(seen()).toBe(afterOutage + 1);
    const recovered = await Promise.allSettled(Array.from({ length: 100 }, () => h.client.findPatientByNhi(down, 'ZZZ0016')));
    expect(recovered.filter((r) => r.status === 'fulfilled')).toHaveLength(100);
  });

  it('logs no patient data, secret or token through all of it', async () => {
    const h = await setup();
    const b = await buildCtx(h);
    h.sandbox.faults.add({ kind: 'drop', method: 'POST', times: 1 });
    h.sandbox.faults.add({ kind: 'status401', method: 'GET', times: 1 });
    expect((await failure(h.client.createMedia(ctx(), buildMedia(b, { contentType: 'image/jpeg', data: files.jpeg })))).code).toBe('ERR_ALEX_OUTCOME_UNKNOWN');
    await h.client.findPatientByNhi(ctx(), 'ZZZ0040');
    const text = h.logs.join('');
    expect(text.length).toBeGreaterThan(0);
    for (const secret of [h.sandbox.credentials.clientSecret, 'ZZZ0016', 'ZZZ0040', b.patient.familyName, b.patient.id, files.jpeg.slice(0, 40)]) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toMatch(/Bearer|eyJ/);
  });
});
