/**
 * Exactly once against an ALEX we do not control (issue 25), through the real gateway and the strict
 * sandbox over HTTP. A create that ALEX stores long after the gateway stopped waiting (25 s, 60 s, 3 min:
 * beyond every client timeout), alone and with a gateway restart between, and a create stored whose answer
 * was lost with the lookup refused (403): exactly one resource per image at the sandbox; the companion is
 * told "committed", "waiting" (ERR_ALEX_OUTCOME_UNKNOWN) or "a person must look" (ERR_COMMIT_UNCONFIRMED) —
 * never a final failure for an image that is in Medtech, never two records. Time is the shared injected
 * clock; the sandbox's slow create waits on a gate the test opens, never on a timer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { CommitRequest, CommitResponse, EnrolResponse, LaunchGrant } from '../../shared/contracts/gateway';
import { SqliteStore } from '../../gateway/src/store/sqlite';
import { startHarness, type Harness } from './helpers/harness';
import { startSecondGateway, type SecondGateway } from './helpers/second-gateway';

const MAX_PROCESSING_MS = 300_000;
const UNCONFIRMED_AFTER_MS = 600_000;

/** The sandbox's sleep: every wait parks until the test opens it (the clock is moved by the test). */
class Gate {
  private waiting: (() => void)[] = [];
  sleep = (): Promise<void> => new Promise((resolve) => this.waiting.push(resolve));
  open(): void {
    const all = this.waiting;
    this.waiting = [];
    for (const resolve of all) resolve();
  }
  get parked(): number {
    return this.waiting.length;
  }
}

type Target = 'media' | 'document';

interface World {
  h: Harness;
  gate: Gate;
  device: EnrolResponse;
  grant: LaunchGrant;
  dir: string;
  /** The gateway the companion talks to now (the harness's, or a restarted one on the same store file). */
  commit(body: CommitRequest): Promise<LightMyRequestResponse>;
  confirm(imageId: string): Promise<LightMyRequestResponse>;
  restart(): void;
  close(): Promise<void>;
}

async function world(): Promise<World> {
  const gate = new Gate();
  const dir = mkdtempSync(join(tmpdir(), 'gw-eo-'));
  const h = await startHarness({ store: new SqliteStore(join(dir, 'gateway.sqlite')), sandboxSleep: gate.sleep, alexTimeoutMs: 300 });
  const device = await h.enrol();
  const grant = await h.launch(device);
  let second: SecondGateway | null = null;
  const app = () => second?.app ?? h.app;
  return {
    h,
    gate,
    device,
    grant,
    dir,
    commit: (body) => app().inject({ method: 'POST', url: '/v1/commits', headers: { authorization: h.auth(device), 'idempotency-key': body.imageId }, payload: body }),
    confirm: (imageId) => app().inject({ method: 'POST', url: `/v1/commits/${imageId}/confirm`, headers: { authorization: h.auth(device) } }),
    restart() {
      // A new gateway process on the same store file: all it knows is what was made durable.
      second = startSecondGateway(h, new SqliteStore(join(dir, 'gateway.sqlite')));
    },
    async close() {
      gate.open();
      await second?.close();
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let w: World | null = null;
afterEach(async () => {
  await w?.close();
  w = null;
});

const code = (r: LightMyRequestResponse): string | undefined => r.json<{ error?: { code: string } }>().error?.code;
const stored = (h: Harness, target: Target, imageId: string) =>
  target === 'media' ? h.sandbox.store.listMedia({ identifierValue: imageId }) : h.sandbox.store.listDocumentReferences({ identifierValue: imageId });
/** Creates that reached ALEX (faulted ones included). */
const creates = (h: Harness, target: Target): number => h.sandbox.store.requests().filter((r) => r.method === 'POST' && r.path === pathPrefix(target)).length;
const body = (x: World, target: Target): CommitRequest => x.h.commitBody(x.grant, target === 'media' ? { media: true } : { media: false, document: true });
const pathPrefix = (target: Target): string => (target === 'media' ? '/FHIR/Media' : '/FHIR/DocumentReference');

async function auditOf(h: Harness, imageId: string): Promise<string[]> {
  return (await h.store.listAudit({ limit: 10_000 })).filter((a) => a.imageId === imageId).map((a) => `${a.action}:${a.outcome}`);
}

describe.each<[string, Target]>([
  ['Media', 'media'],
  ['Inbox Scan DocumentReference', 'document'],
])('%s stored long after the gateway stopped waiting', (_name, target) => {
  it.each<[string, number, boolean]>([
    ['25 s', 25_000, false],
    ['60 s', 60_000, false],
    ['3 min', 180_000, false],
    ['25 s, with a gateway restart between', 25_000, true],
    ['3 min, with a gateway restart between', 180_000, true],
  ])('stored after %s: one resource, never resent, never a failure', async (_label, delayMs, restart) => {
    const x = (w = await world());
    x.h.sandbox.faults.add({ kind: 'slowCreate', method: 'POST', pathPrefix: pathPrefix(target), storeAfterMs: delayMs, times: 1 });
    const b = body(x, target);

    // The create goes out; ALEX holds it; the gateway's wait ends: nothing proven, nothing resent.
    const first = await x.commit(b);
    expect(first.statusCode, first.body).toBe(409);
    expect(code(first)).toBe('ERR_ALEX_OUTCOME_UNKNOWN');
    expect(first.json<{ error: { retryable: boolean; retryAfterSeconds: number } }>().error).toMatchObject({ retryable: true });
    expect(x.gate.parked).toBe(1);
    // The companion asks again before ALEX has stored it: still waiting, still one create sent.
    x.h.clock.advance(Math.min(delayMs, 20_000) - 1_000);
    expect(code(await x.commit(b))).toBe('ERR_ALEX_OUTCOME_UNKNOWN');
    expect(creates(x.h, target)).toBe(1);

    // ALEX stores it, late; the search shows it once its lag has passed.
    x.h.clock.advance(delayMs);
    x.gate.open();
    await expect.poll(() => stored(x.h, target, b.imageId).length).toBe(1);
    if (restart) x.restart();
    x.h.clock.advance(60_000);

    if (target === 'media') {
      // Media has a documented search: the gateway finds it and says committed.
      const found = await x.commit(b);
      expect(found.statusCode, found.body).toBe(201);
      expect(found.json<CommitResponse>().media?.id).toBe(stored(x.h, target, b.imageId)[0]?.id);
    } else {
      // No documented DocumentReference search: unknown until the bound, then a person looks and confirms.
      expect(code(await x.commit(b))).toBe('ERR_ALEX_OUTCOME_UNKNOWN');
      x.h.clock.advance(UNCONFIRMED_AFTER_MS);
      const unconfirmed = await x.commit(b);
      expect(unconfirmed.statusCode).toBe(409);
      expect(code(unconfirmed)).toBe('ERR_COMMIT_UNCONFIRMED');
      expect(unconfirmed.json<{ error: { action: string; retryable: boolean } }>().error).toMatchObject({ action: 'check-medtech', retryable: false });
      const confirmed = await x.confirm(b.imageId);
      expect(confirmed.statusCode, confirmed.body).toBe(200);
      expect(confirmed.json<CommitResponse>().confirmedBy).toBe('person');
      const replay = await x.commit(b);
      expect(replay.statusCode).toBe(201);
      expect(replay.json<CommitResponse>()).toMatchObject({ replayed: true, confirmedBy: 'person' });
      expect(await auditOf(x.h, b.imageId)).toContain('commit.confirmed-by-person:confirmed');
    }
    expect(stored(x.h, target, b.imageId)).toHaveLength(1);
    expect(creates(x.h, target)).toBe(1);
    expect(await auditOf(x.h, b.imageId)).not.toContain('commit:failed');
  });
});

describe('a create never stored (dropped before ALEX took it)', () => {
  it('Media: an empty documented search proves absence only after ALEX_MAX_PROCESSING_SECONDS; then it is sent again, once', async () => {
    const x = (w = await world());
    x.h.sandbox.faults.add({ kind: 'drop', method: 'POST', pathPrefix: '/FHIR/Media', times: 1 });
    const b = body(x, 'media');
    expect(code(await x.commit(b))).toBe('ERR_ALEX_OUTCOME_UNKNOWN');
    x.h.clock.advance(MAX_PROCESSING_MS - 1_000);
    const early = await x.commit(b);
    expect(code(early)).toBe('ERR_ALEX_OUTCOME_UNKNOWN');
    expect(early.json<{ error: { retryAfterSeconds: number } }>().error.retryAfterSeconds).toBeLessThanOrEqual(1);
    expect(creates(x.h, 'media')).toBe(1);
    x.h.clock.advance(1_000);
    const sent = await x.commit(b);
    expect(sent.statusCode, sent.body).toBe(201);
    expect(stored(x.h, 'media', b.imageId)).toHaveLength(1);
    expect(creates(x.h, 'media')).toBe(2);
  });

  it('DocumentReference: unconfirmed after the bound; a person checks Medtech, it is not there, "Send again" creates it once (audited)', async () => {
    const x = (w = await world());
    x.h.sandbox.faults.add({ kind: 'drop', method: 'POST', pathPrefix: '/FHIR/DocumentReference', times: 1 });
    const b = body(x, 'document');
    expect(code(await x.commit(b))).toBe('ERR_ALEX_OUTCOME_UNKNOWN');
    x.h.clock.advance(UNCONFIRMED_AFTER_MS);
    expect(code(await x.commit(b))).toBe('ERR_COMMIT_UNCONFIRMED');
    expect(creates(x.h, 'document')).toBe(1);
    const again = await x.commit({ ...b, resendAfterCheck: true });
    expect(again.statusCode, again.body).toBe(201);
    expect(stored(x.h, 'document', b.imageId)).toHaveLength(1);
    expect(await auditOf(x.h, b.imageId)).toEqual(expect.arrayContaining(['commit:unknown', 'commit:unconfirmed', 'commit.resend-after-check:resend', 'commit:committed']));
  });
});

describe('stored, then the connection dropped, with the lookup refused (403)', () => {
  it.each<[string, Target]>([
    ['Media', 'media'],
    ['DocumentReference', 'document'],
  ])('%s: no final failure; filed once; a person confirms', async (_name, target) => {
    const x = (w = await world());
    x.h.sandbox.faults.add({ kind: 'storedThenDropped', method: 'POST', pathPrefix: pathPrefix(target), times: 1 });
    // The one documented lookup (Media search) is refused as ALEX refuses shapes it does not support.
    x.h.sandbox.faults.add({ kind: 'status403', method: 'GET', pathPrefix: '/FHIR/Media' });
    const b = body(x, target);
    for (const advance of [0, 60_000, MAX_PROCESSING_MS]) {
      x.h.clock.advance(advance);
      const r = await x.commit(b);
      expect(r.statusCode).toBe(409);
      expect(code(r)).toBe('ERR_ALEX_OUTCOME_UNKNOWN');
    }
    x.h.clock.advance(UNCONFIRMED_AFTER_MS);
    expect(code(await x.commit(b))).toBe('ERR_COMMIT_UNCONFIRMED');
    expect((await x.confirm(b.imageId)).statusCode).toBe(200);
    expect(stored(x.h, target, b.imageId)).toHaveLength(1);
    expect(creates(x.h, target)).toBe(1);
    expect(await auditOf(x.h, b.imageId)).not.toContain('commit:failed');
  });
});

describe('"Send again" counts only when a person was asked', () => {
  it('resendAfterCheck before the outcome is unconfirmed is ignored: the check runs, nothing is resent', async () => {
    const x = (w = await world());
    x.h.sandbox.faults.add({ kind: 'storedThenDropped', method: 'POST', pathPrefix: '/FHIR/DocumentReference', times: 1 });
    const b = body(x, 'document');
    expect(code(await x.commit(b))).toBe('ERR_ALEX_OUTCOME_UNKNOWN');
    expect(code(await x.commit({ ...b, resendAfterCheck: true }))).toBe('ERR_ALEX_OUTCOME_UNKNOWN');
    expect(creates(x.h, 'document')).toBe(1);
    expect(await auditOf(x.h, b.imageId)).not.toContain('commit.resend-after-check:resend');
  });
});

describe('the confirm route refuses what is not waiting for a person', () => {
  it('an unknown image → 404; a committed one → 400; another practice → 404; nothing is written', async () => {
    const x = (w = await world());
    expect((await x.confirm('6f0f5b6e-3a4e-4c1e-9a51-2f1c3f9d7a10')).statusCode).toBe(404);
    const b = body(x, 'media');
    expect((await x.commit(b)).statusCode).toBe(201);
    const done = await x.confirm(b.imageId);
    expect(done.statusCode).toBe(400);
    expect(code(done)).toBe('ERR_REQUEST_INVALID');
    const other = await x.h.enrol('F99669-C', 'Other practice');
    const foreign = await x.h.app.inject({ method: 'POST', url: `/v1/commits/${b.imageId}/confirm`, headers: { authorization: x.h.auth(other) } });
    expect(foreign.statusCode).toBe(404);
    expect(await auditOf(x.h, b.imageId)).toEqual(['commit:committed']);
  });
});
