import { createHash, randomUUID } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors';
import { MemorySecretStore } from '../secrets';
import { assertDurableSettings } from './db';
import { GRANT_REASON } from './view';
import { GRANT_A, GRANT_B, PATIENT_A, PATIENT_B, item, jpeg, payloadFiles, rig, tiff, type Rig } from './test-helpers';
import { waitFor } from './test-helpers';
import type { OutboxEvents } from './types';
import { rejection } from '../../test/helpers/rejection';

let r: Rig | undefined;
afterEach(async () => {
  await r?.dispose();
  r = undefined;
});

/** Every file of the outbox folder (db, wal, payloads) as one latin1 string, to search for leaked plaintext. */
function everythingOnDisk(dir: string): string {
  const out: string[] = [];
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    try {
      out.push(readFileSync(join(dir, name)).toString('latin1'));
    } catch {
      /* a folder */
    }
  }
  return out.join('\n');
}

describe('outbox database', () => {
  it('opens with journal_mode=WAL and synchronous=FULL, and refuses a non-durable database', async () => {
    r = await rig();
    expect(r.outbox.dbSettings()).toEqual({ journalMode: 'wal', synchronous: 2 });
    const mem = new Database(':memory:');
    expect(() => assertDurableSettings(mem)).toThrow(AppError);
    expect((() => { try { assertDurableSettings(mem); } catch (e) { return (e as AppError).detail; } return ''; })()).toMatch(/not durable \(journal_mode=memory/);
    mem.pragma('synchronous = NORMAL');
    expect(() => assertDurableSettings(mem)).toThrow(AppError);
    mem.close();
  });
});

describe('enqueue: durable and encrypted before it resolves', () => {
  it('survives a reopen, keeps patient fields and image bytes encrypted, and creates the key once', async () => {
    r = await rig();
    const it1 = await item();
    await r.outbox.enqueue(it1);
    const key = await r.secrets.get('outbox-key');
    expect(key && Buffer.from(key, 'base64').length).toBe(32);
    expect(payloadFiles(r.dir)).toHaveLength(1);

    await r.reopen();
    expect(await r.secrets.get('outbox-key')).toBe(key);
    const [v] = r.outbox.list();
    expect(v).toMatchObject({ imageId: it1.imageId, state: 'queued', patientId: 'pat-a', attempts: 0, targets: ['media'] });
    expect(v?.patient?.familyName).toBe('Canary');

    const disk = everythingOnDisk(r.dir);
    expect(disk).not.toContain('Canary');
    expect(disk).not.toContain('ZZZ0016');
    expect(disk).not.toContain('pat-a');
    expect(disk).not.toContain(GRANT_A);
    expect(disk).not.toContain((it1.media?.bytes as Buffer).subarray(100, 160).toString('latin1'));
  });

  it('copies from a file path and leaves the original alone', async () => {
    r = await rig();
    const src = join(r.dir, 'rendered.jpg');
    writeFileSync(src, await jpeg(9));
    const i = await item({ media: { contentType: 'image/jpeg', file: src } });
    await r.outbox.enqueue(i);
    expect(readFileSync(src).length).toBeGreaterThan(0);
    r.outbox.start();
    await r.outbox.idle();
    expect(r.standIn.creates[0]?.sha256).toBeDefined();
  });

  it('is idempotent for the same image and refuses different bytes under the same id', async () => {
    r = await rig();
    const i = await item();
    await r.outbox.enqueue(i);
    await r.outbox.enqueue({ ...i });
    expect(r.outbox.list()).toHaveLength(1);
    const e = await rejection(r.outbox.enqueue({ ...i, media: { contentType: 'image/jpeg', bytes: await jpeg(2) } }));
    expect(e.code).toBe('ERR_IDEMPOTENCY_MISMATCH');
    expect(payloadFiles(r.dir)).toHaveLength(1);
  });
});

describe('enqueue: every bad input gets a coded error and nothing is written', () => {
  const cases: [string, () => Promise<Partial<Parameters<Rig['outbox']['enqueue']>[0]>>, string][] = [
    ['image id not a UUID', async () => ({ imageId: 'img-1' }), 'ERR_IDEMPOTENCY_KEY_MISSING'],
    ['patient without NHI', async () => ({ patient: { ...PATIENT_A, nhi: '' } }), 'ERR_REQUEST_INVALID'],
    ['no grant', async () => ({ grantId: '' }), 'ERR_LAUNCH_GRANT_INVALID'],
    ['captured-at not a date', async () => ({ capturedAt: 'tuesday' }), 'ERR_REQUEST_INVALID'],
    ['unknown laterality', async () => ({ metadata: { laterality: 'middle' as 'left' } }), 'ERR_IMAGE_METADATA_REQUIRED'],
    ['no targets', async () => ({ targets: [] }), 'ERR_REQUEST_INVALID'],
    ['document targeted without a document', async () => ({ targets: ['media', 'documentReference'] }), 'ERR_REQUEST_INVALID'],
    ['media given but not targeted', async () => ({ targets: ['documentReference'], document: { contentType: 'image/tiff', bytes: await tiff() } }), 'ERR_REQUEST_INVALID'],
    ['PNG label on JPEG bytes', async () => ({ media: { contentType: 'image/png', bytes: await jpeg() } }), 'ERR_COMMIT_IMAGE_TYPE'],
    ['a GIF as Media', async () => ({ media: { contentType: 'image/gif' as 'image/png', bytes: Buffer.from('GIF89a....') } }), 'ERR_COMMIT_IMAGE_TYPE'],
    ['empty bytes', async () => ({ media: { contentType: 'image/jpeg', bytes: Buffer.alloc(0) } }), 'ERR_COMMIT_IMAGE_TYPE'],
    ['over 1 MB', async () => ({ media: { contentType: 'image/jpeg', bytes: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(1_000_000)]) } }), 'ERR_COMMIT_IMAGE_TOO_LARGE'],
    ['a label that is a path', async () => ({ label: 'C:\\Users\\gp\\Desktop\\Photo 2.jpg' }), 'ERR_REQUEST_INVALID'],
    ['a label with a control character', async () => ({ label: 'Photo\u00072' }), 'ERR_REQUEST_INVALID'],
    ['a label over 80 characters', async () => ({ label: 'x'.repeat(81) }), 'ERR_REQUEST_INVALID'],
    ['unknown consent', async () => ({ metadata: { consent: 'implied' as 'verbal' } }), 'ERR_IMAGE_METADATA_REQUIRED'],
    ['source file missing', async () => ({ media: { contentType: 'image/jpeg', file: '/nonexistent/x.jpg' } }), 'ERR_STORAGE_IO'],
  ];
  it.each(cases)('%s', async (_name, over, code) => {
    r = await rig();
    const e = await rejection(r.outbox.enqueue(await item(await over())));
    expect(e.code).toBe(code);
    expect(r.outbox.list()).toHaveLength(0);
    expect(payloadFiles(r.dir)).toHaveLength(0);
  });
});

describe('sending', () => {
  it('posts each image with its own patient and grant, Idempotency-Key = imageId, then wipes the payload and keeps a nameless record', async () => {
    r = await rig();
    const events: string[] = [];
    for (const e of ['item-queued', 'item-sending', 'item-committed'] as const) r.outbox.on(e, (v) => events.push(`${e}:${v.imageId.slice(0, 4)}`));
    const a1 = await item({}, 1);
    const b1 = await item({ patient: PATIENT_B, grantId: GRANT_B, targets: ['media', 'documentReference'], document: { contentType: 'image/tiff', bytes: await tiff(2) } }, 2);
    const a2 = await item({}, 3);
    for (const i of [a1, b1, a2]) await r.outbox.enqueue(i);
    r.outbox.start();
    await r.outbox.idle();

    expect(r.outbox.progress()).toEqual({ queued: 0, sending: 0, waiting: 0, failed: 0, committed: 3, unconfirmed: 0 });
    const byImage = (id: string) => r!.standIn.creates.filter((c) => c.imageId === id);
    expect(byImage(a1.imageId).map((c) => c.patientId)).toEqual(['pat-a']);
    expect(byImage(a2.imageId).map((c) => c.patientId)).toEqual(['pat-a']);
    expect(byImage(b1.imageId).map((c) => `${c.resourceType}:${c.patientId}:${c.grantId}`).sort()).toEqual([`DocumentReference:pat-b:${GRANT_B}`, `Media:pat-b:${GRANT_B}`]);
    expect(r.standIn.requests.every((q) => q.idempotencyKey === q.imageId)).toBe(true);
    expect(byImage(a1.imageId)[0]?.sha256).toBe(createHash('sha256').update(a1.media!.bytes!).digest('hex'));

    expect(payloadFiles(r.dir)).toEqual([]);
    const v = r.outbox.get(b1.imageId);
    expect(v).toMatchObject({ state: 'committed', patientId: 'pat-b', nhi: 'ZZZ0024', attempts: 1 });
    expect(v?.patient).toBeUndefined();
    expect(v?.committed?.media?.id).toMatch(/^m-/);
    expect(v?.committed?.documentReference?.id).toMatch(/^d-/);
    expect(events.filter((e) => e.startsWith('item-committed'))).toHaveLength(3);
    expect(events.indexOf(`item-queued:${a1.imageId.slice(0, 4)}`)).toBeLessThan(events.indexOf(`item-sending:${a1.imageId.slice(0, 4)}`));
    await r.outbox.close();
    expect(everythingOnDisk(r.dir)).not.toContain('Other');
  });

  it('sends at most `concurrency` (2) at a time', async () => {
    r = await rig();
    let release!: () => void;
    const held = new Promise<void>((res) => (release = res));
    r.standIn.gate = () => held;
    for (let s = 0; s < 5; s++) await r.outbox.enqueue(await item({}, s));
    r.outbox.start();
    await waitFor(() => r!.standIn.inFlight === 2);
    expect(r.outbox.progress()).toMatchObject({ sending: 2, queued: 3 });
    release();
    await r.outbox.idle();
    expect(r.standIn.maxInFlight).toBe(2);
    expect(r.standIn.creates).toHaveLength(5);
  });

  it('gateway down (5xx, reset, refused) → waiting with a plain reason and growing backoff, then sent once it is back', async () => {
    r = await rig({ backoff: { baseMs: 1000, maxMs: 60_000 } });
    r.standIn.faults.push({ status: 502 }, { destroy: true }, { code: 'ERR_ALEX_UNAVAILABLE', retryAfterSeconds: 20 });
    const i = await item();
    await r.outbox.enqueue(i);
    r.outbox.start();
    await r.outbox.idle();
    let v = r.outbox.get(i.imageId);
    expect(v?.state).toBe('waiting');
    expect(v?.lastError?.code).toBe('ERR_GATEWAY_UNREACHABLE');
    expect(v?.reason).toMatch(/cannot reach the internet service/);
    // attempt 1, random 0.5: 1000·(0.5 + 0.5·0.5) = 750 ms
    expect(Date.parse(v!.nextAttemptAt!) - r.clock.t).toBe(750);

    r.clock.advance(749);
    r.outbox.kick();
    await r.outbox.idle();
    expect(r.standIn.requests).toHaveLength(1);
    r.clock.advance(1);
    r.outbox.kick();
    await r.outbox.idle();
    v = r.outbox.get(i.imageId);
    expect(v?.lastError?.code).toBe('ERR_GATEWAY_UNREACHABLE'); // socket dropped
    expect(Date.parse(v!.nextAttemptAt!) - r.clock.t).toBe(1500);

    r.clock.advance(1500);
    r.outbox.kick();
    await r.outbox.idle();
    v = r.outbox.get(i.imageId);
    expect(v?.lastError?.code).toBe('ERR_ALEX_UNAVAILABLE');
    expect(Date.parse(v!.nextAttemptAt!) - r.clock.t).toBe(20_000); // Retry-After is a floor

    r.clock.advance(20_000);
    r.outbox.kick();
    await r.outbox.idle();
    expect(r.outbox.get(i.imageId)?.state).toBe('committed');
    expect(r.standIn.creates).toHaveLength(1);
  });

  it('a refused connection → waiting, and the item goes once the gateway listens again', async () => {
    r = await rig();
    const port = r.standIn.port;
    await r.standIn.close();
    const i = await item();
    await r.outbox.enqueue(i);
    r.outbox.start();
    await r.outbox.idle();
    expect(r.outbox.get(i.imageId)?.lastError?.code).toBe('ERR_GATEWAY_UNREACHABLE');
    const { startGatewayStandIn } = await import('../../test/outbox/gateway-stand-in');
    const again = await startGatewayStandIn({ port, anyGrant: true });
    r.standIn = again;
    r.clock.advance(10 * 60_000);
    r.outbox.kick();
    await r.outbox.idle();
    expect(r.outbox.get(i.imageId)?.state).toBe('committed');
    expect(again.creates.map((c) => c.imageId)).toEqual([i.imageId]);
  });

  it('a final error → failed with the plain reason; retry() sends it again', async () => {
    r = await rig();
    r.standIn.faults.push({ code: 'ERR_ALEX_REJECTED' });
    const failed: OutboxEvents['item-failed'][] = [];
    r.outbox.on('item-failed', (v) => failed.push(v));
    const i = await item();
    await r.outbox.enqueue(i);
    r.outbox.start();
    await r.outbox.idle();
    expect(failed.map((v) => v.reason)).toEqual(['Medtech refused this image. Call support and quote the reference.']);
    r.clock.advance(3600_000);
    r.outbox.kick();
    await r.outbox.idle();
    expect(r.standIn.requests).toHaveLength(1); // failed items never retry by themselves
    expect(r.outbox.retry(i.imageId)).toBe(true);
    await r.outbox.idle();
    expect(r.outbox.get(i.imageId)?.state).toBe('committed');
    expect(r.outbox.retry(i.imageId)).toBe(false);
  });

  it('a patient mismatch is final and nothing is created', async () => {
    r = await rig();
    const i = await item({ grantId: GRANT_B }); // grant B is for patient B
    await r.outbox.enqueue(i);
    r.outbox.start();
    await r.outbox.idle();
    expect(r.outbox.get(i.imageId)).toMatchObject({ state: 'failed', lastError: { code: 'ERR_COMMIT_PATIENT_MISMATCH' } });
    expect(r.standIn.creates).toHaveLength(0);
  });

  it('stop() aborts in-flight posts and puts them back in the queue', async () => {
    r = await rig();
    r.standIn.gate = () => new Promise(() => undefined);
    const i = await item();
    await r.outbox.enqueue(i);
    r.outbox.start();
    await waitFor(() => r!.standIn.inFlight === 1);
    await r.outbox.stop();
    expect(r.outbox.get(i.imageId)?.state).toBe('queued');
  });

  it('purges committed records after the retention window', async () => {
    r = await rig({ retentionMs: 24 * 3600_000 });
    const i = await item();
    await r.outbox.enqueue(i);
    r.outbox.start();
    await r.outbox.idle();
    r.clock.advance(24 * 3600_000 - 1);
    r.outbox.kick();
    expect(r.outbox.list()).toHaveLength(1);
    r.clock.advance(2);
    r.outbox.kick();
    expect(r.outbox.list()).toHaveLength(0);
  });
});

describe('launch grants', () => {
  it('an expired grant → waiting "launch again"; not retried by time; rebindGrant for another patient changes nothing; for the same patient it sends', async () => {
    r = await rig();
    r.standIn.grants.set(GRANT_A, { patientId: 'pat-a', expired: true });
    const a = await item();
    const b = await item({ patient: PATIENT_B, grantId: GRANT_B }, 2);
    r.standIn.grants.set(GRANT_B, { patientId: 'pat-b', expired: true });
    await r.outbox.enqueue(a);
    await r.outbox.enqueue(b);
    r.outbox.start();
    await r.outbox.idle();
    expect(r.outbox.get(a.imageId)).toMatchObject({ state: 'waiting', reason: GRANT_REASON, lastError: { code: 'ERR_LAUNCH_GRANT_EXPIRED' } });
    expect(r.outbox.get(a.imageId)?.nextAttemptAt).toBeUndefined();
    r.clock.advance(24 * 3600_000);
    r.outbox.kick();
    await r.outbox.idle();
    expect(r.standIn.requests).toHaveLength(2);

    const newA = 'grant-new-aaaaaaaaaaaa';
    r.standIn.grants.set(newA, { patientId: 'pat-a' });
    expect(r.outbox.rebindGrant('pat-c', newA)).toBe(0);
    expect(r.outbox.rebindGrant('pat-a', newA)).toBe(1);
    await r.outbox.idle();
    expect(r.outbox.get(a.imageId)?.state).toBe('committed');
    expect(r.outbox.get(b.imageId)?.state).toBe('waiting');
    expect(r.standIn.creates.map((c) => `${c.patientId}:${c.grantId}`)).toEqual([`pat-a:${newA}`]);
    expect(() => r!.outbox.rebindGrant('pat-b', 'short')).toThrow(AppError);
  });
});

describe('crash recovery and tampering', () => {
  it("an item left 'sending' by a crash is queued at open and resent with the same key; the gateway replays, one create", async () => {
    r = await rig();
    r.standIn.dropAnswers = 1; // the gateway creates the resource, but the answer never arrives
    const i = await item();
    await r.outbox.enqueue(i);
    r.outbox.start();
    await r.outbox.idle();
    expect(r.outbox.get(i.imageId)?.state).toBe('waiting');
    expect(r.standIn.creates).toHaveLength(1);
    await r.outbox.close();
    // As a SIGKILL mid-post leaves it:
    const db = new Database(join(r.dir, 'outbox.db'));
    db.prepare(`UPDATE items SET state = 'sending'`).run();
    db.close();
    await r.reopen();
    expect(r.outbox.get(i.imageId)?.state).toBe('queued');
    r.outbox.start();
    await r.outbox.idle();
    expect(r.outbox.get(i.imageId)?.state).toBe('committed');
    expect(r.standIn.requests.map((q) => q.idempotencyKey)).toEqual([i.imageId, i.imageId]);
    expect(r.standIn.creates).toHaveLength(1);
    expect(payloadFiles(r.dir)).toEqual([]);
  });

  it('removes stale temp files and orphaned payloads at open, keeps live ones', async () => {
    r = await rig();
    const i = await item();
    await r.outbox.enqueue(i);
    const live = payloadFiles(r.dir);
    writeFileSync(join(r.dir, 'payloads', '.tmp-deadbeef'), 'half');
    writeFileSync(join(r.dir, 'payloads', `${randomUUID()}.media.12345678`), 'orphan');
    await r.reopen();
    expect(payloadFiles(r.dir)).toEqual(live);
  });

  it('a tampered payload file → failed ERR_STORAGE_CORRUPT and never sent', async () => {
    r = await rig();
    const i = await item();
    await r.outbox.enqueue(i);
    const f = join(r.dir, 'payloads', payloadFiles(r.dir)[0]!);
    const b = readFileSync(f);
    b[b.length - 5]! ^= 0x01;
    writeFileSync(f, b);
    r.outbox.start();
    await r.outbox.idle();
    expect(r.outbox.get(i.imageId)).toMatchObject({ state: 'failed', lastError: { code: 'ERR_STORAGE_CORRUPT' } });
    expect(r.outbox.get(i.imageId)?.reason).toMatch(/damaged/);
    expect(r.standIn.requests).toHaveLength(0);
  });

  it("another item's payload swapped in → failed, not sent to the wrong patient", async () => {
    r = await rig();
    const a = await item();
    const b = await item({ patient: PATIENT_B, grantId: GRANT_B }, 2);
    await r.outbox.enqueue(a);
    await r.outbox.enqueue(b);
    const fa = payloadFiles(r.dir).find((n) => n.startsWith(a.imageId))!;
    const fb = payloadFiles(r.dir).find((n) => n.startsWith(b.imageId))!;
    writeFileSync(join(r.dir, 'payloads', fa), readFileSync(join(r.dir, 'payloads', fb)));
    r.outbox.start();
    await r.outbox.idle();
    expect(r.outbox.get(a.imageId)).toMatchObject({ state: 'failed', lastError: { code: 'ERR_STORAGE_CORRUPT' } });
    expect(r.standIn.creates.map((c) => `${c.imageId}:${c.patientId}`)).toEqual([`${b.imageId}:pat-b`]);
  });

  it('tampered patient fields or a missing payload file → failed, not sent', async () => {
    r = await rig();
    const a = await item();
    const b = await item({}, 2);
    await r.outbox.enqueue(a);
    await r.outbox.enqueue(b);
    await r.outbox.close();
    const db = new Database(join(r.dir, 'outbox.db'));
    const sealed = db.prepare('SELECT sealed FROM items WHERE image_id = ?').pluck().get(a.imageId) as Buffer;
    sealed[40]! ^= 0xff;
    db.prepare('UPDATE items SET sealed = ? WHERE image_id = ?').run(sealed, a.imageId);
    db.close();
    await r.reopen();
    // remove b's payload behind the outbox's back (after the open-time sweep)
    const { unlinkSync } = await import('node:fs');
    unlinkSync(join(r.dir, 'payloads', payloadFiles(r.dir).find((n) => n.startsWith(b.imageId))!));
    r.outbox.start();
    await r.outbox.idle();
    expect(r.outbox.get(a.imageId)).toMatchObject({ state: 'failed', patientId: '', lastError: { code: 'ERR_STORAGE_CORRUPT' } });
    expect(r.outbox.get(b.imageId)).toMatchObject({ state: 'failed', lastError: { code: 'ERR_STORAGE_CORRUPT' } });
    expect(r.standIn.requests).toHaveLength(0);
  });

  it('a lost outbox key (another key in the credential store) → items fail as damaged, nothing is sent', async () => {
    r = await rig();
    const i = await item();
    await r.outbox.enqueue(i);
    await r.reopen({ secrets: new MemorySecretStore() });
    r.outbox.start();
    await r.outbox.idle();
    expect(r.outbox.get(i.imageId)).toMatchObject({ state: 'failed', lastError: { code: 'ERR_STORAGE_CORRUPT' } });
    expect(r.standIn.requests).toHaveLength(0);
  });

  it('a damaged key in the credential store → open refuses with a coded error', async () => {
    const secrets = new MemorySecretStore();
    await secrets.set('outbox-key', 'c2hvcnQ=');
    r = await rig();
    const e = await rejection(r.reopen({ secrets }));
    expect(e.code).toBe('ERR_STORAGE_CORRUPT');
  });
});
