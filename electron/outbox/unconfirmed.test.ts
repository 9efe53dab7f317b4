/**
 * The outcome nobody has proven (issue 25): ERR_ALEX_OUTCOME_UNKNOWN keeps an item waiting (same key, same request,
 * never a new create), ERR_COMMIT_UNCONFIRMED makes it `unconfirmed` (durable, never resent by itself, never wiped),
 * and a person's two answers: confirmArrived and sendAgain. Against the gateway stand-in through the real gateway
 * client; injected clock, no sleeps.
 */
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors';
import { SCHEMA_VERSION } from './db';
import { GRANT_REASON } from './view';
import { GRANT_A, GRANT_B, PATIENT_A, item, payloadFiles, rig, tmp, type Rig } from './test-helpers';
import type { OutboxEvents } from './types';

let r: Rig | undefined;
afterEach(async () => {
  await r?.dispose();
  r = undefined;
});

/** One item posted once and answered ERR_COMMIT_UNCONFIRMED: the item is `unconfirmed`. */
async function unconfirmedItem(rr: Rig) {
  const i = await item();
  rr.standIn.doubts.set(i.imageId, { phase: 'unconfirmed' });
  await rr.outbox.enqueue(i);
  rr.outbox.start();
  await rr.outbox.idle();
  return i;
}

describe('outbox: a create whose outcome is unknown', () => {
  it('ERR_ALEX_OUTCOME_UNKNOWN → waiting "for Medtech to confirm (next check in N s)", asked again with the same key and request, then committed once it lands', async () => {
    r = await rig({ backoff: { baseMs: 1000, maxMs: 300_000 } });
    const i = await item();
    r.standIn.doubts.set(i.imageId, { phase: 'unknown', retryAfterSeconds: 30 });
    const failed: OutboxEvents['item-failed'][] = [];
    r.outbox.on('item-failed', (v) => failed.push(v));
    await r.outbox.enqueue(i);
    r.outbox.start();
    await r.outbox.idle();

    let v = r.outbox.get(i.imageId);
    expect(v?.state).toBe('waiting');
    expect(v?.waitingFor).toBe('medtech-confirmation');
    expect(v?.lastError?.code).toBe('ERR_ALEX_OUTCOME_UNKNOWN');
    expect(v?.reason).toBe('Sent to Medtech — waiting for Medtech to confirm (next check in 30 s)');
    r.clock.advance(10_000);
    expect(r.outbox.get(i.imageId)?.reason).toBe('Sent to Medtech — waiting for Medtech to confirm (next check in 20 s)');

    // Not asked again before its time.
    r.outbox.kick();
    await r.outbox.idle();
    expect(r.standIn.requests).toHaveLength(1);

    r.clock.advance(20_000);
    r.outbox.kick();
    await r.outbox.idle();
    expect(r.standIn.requests).toHaveLength(2);
    expect(r.outbox.get(i.imageId)?.state).toBe('waiting');

    // The slow create lands at Medtech; the next check learns it.
    r.standIn.land(i.imageId);
    v = r.outbox.get(i.imageId);
    r.clock.advance(Date.parse(v!.nextAttemptAt!) - r.clock.t);
    r.outbox.kick();
    await r.outbox.idle();
    v = r.outbox.get(i.imageId);
    expect(v?.state).toBe('committed');
    expect(v?.committed?.media?.id).toBe(r.standIn.creates[0]?.id);
    expect(r.standIn.creates).toHaveLength(1);
    // Every ask was the same image under the same key, none flagged as a resend.
    expect(new Set(r.standIn.requests.map((q) => q.idempotencyKey))).toEqual(new Set([i.imageId]));
    expect(r.standIn.requests.every((q) => q.resendAfterCheck === undefined)).toBe(true);
    expect(failed).toEqual([]);
    expect(payloadFiles(r.dir)).toEqual([]);
  });

  it('a restart while waiting for Medtech keeps waiting and asks with the same key: one resource', async () => {
    r = await rig();
    const i = await item();
    r.standIn.doubts.set(i.imageId, { phase: 'unknown', retryAfterSeconds: 60 });
    await r.outbox.enqueue(i);
    r.outbox.start();
    await r.outbox.idle();
    await r.reopen();
    expect(r.outbox.get(i.imageId)?.waitingFor).toBe('medtech-confirmation');
    r.standIn.land(i.imageId);
    r.clock.advance(60_000);
    r.outbox.start();
    await r.outbox.idle();
    expect(r.outbox.get(i.imageId)?.state).toBe('committed');
    expect(r.standIn.creates).toHaveLength(1);
  });

  it('ERR_COMMIT_UNCONFIRMED → unconfirmed with the patient and photo in plain words; never resent by itself, never wiped, kept across a restart', async () => {
    r = await rig();
    const seen: OutboxEvents['item-unconfirmed'][] = [];
    r.outbox.on('item-unconfirmed', (v) => seen.push(v));
    const i = await unconfirmedItem(r);
    const v = r.outbox.get(i.imageId);
    expect(v?.state).toBe('unconfirmed');
    expect(v?.lastError?.code).toBe('ERR_COMMIT_UNCONFIRMED');
    expect(v?.reason).toMatch(/^Sent to Medtech, not yet confirmed — look in CANARY, Testpatient's Inbox in Medtech for the photo taken .*2026.* before sending again\.$/);
    expect(v?.actions?.map((a) => a.action)).toEqual(['unconfirmed']);
    expect(seen.map((s) => s.imageId)).toEqual([i.imageId]);
    expect(r.outbox.progress()).toMatchObject({ unconfirmed: 1, failed: 0, waiting: 0 });

    r.clock.advance(7 * 24 * 3600_000);
    r.outbox.kick();
    await r.outbox.idle();
    expect(r.outbox.retry(i.imageId)).toBe(false); // the generic retry does not resend it either
    expect(r.standIn.requests).toHaveLength(1);

    await r.reopen();
    r.outbox.start();
    await r.outbox.idle();
    expect(r.outbox.get(i.imageId)?.state).toBe('unconfirmed');
    expect(r.standIn.requests).toHaveLength(1);
    expect(payloadFiles(r.dir)).toHaveLength(1); // the photo stays on the PC until a person decides
    expect(r.outbox.list({ states: ['unconfirmed'], patientId: 'pat-a' }).map((x) => x.imageId)).toEqual([i.imageId]);
  });

  it('confirmArrived: the gateway records it, the item is committed by a person, its copy wiped and the answer kept in its history', async () => {
    r = await rig();
    const i = await unconfirmedItem(r);
    const committed: OutboxEvents['item-committed'][] = [];
    r.outbox.on('item-committed', (v) => committed.push(v));
    const v = await r.outbox.confirmArrived(i.imageId);
    expect(v.state).toBe('committed');
    expect(v.committed?.confirmedBy).toBe('person');
    expect(v.actions?.map((a) => a.action)).toEqual(['unconfirmed', 'person-confirmed']);
    expect(v.actions?.[1]?.correlationId).toMatch(/[0-9a-f-]{36}/);
    expect(v.patient).toBeUndefined(); // history keeps no names
    expect(committed.map((c) => c.imageId)).toEqual([i.imageId]);
    expect(r.standIn.confirms).toEqual([i.imageId]);
    expect(r.standIn.creates).toHaveLength(0);
    expect(payloadFiles(r.dir)).toEqual([]);
    // Nothing more is sent for it.
    r.clock.advance(3600_000);
    r.outbox.kick();
    await r.outbox.idle();
    expect(r.standIn.requests).toHaveLength(1);
    // Survives a restart as committed.
    await r.reopen();
    expect(r.outbox.get(i.imageId)?.committed?.confirmedBy).toBe('person');
  });

  it('confirmArrived refused by the gateway, or for an item that is not unconfirmed: a coded error, and nothing changes', async () => {
    r = await rig();
    const i = await unconfirmedItem(r);
    const other = await item({}, 2);
    await r.outbox.enqueue(other);
    await r.outbox.idle();
    await expect(r.outbox.confirmArrived(other.imageId)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    await expect(r.outbox.confirmArrived('6c5e5d0c-0000-4000-8000-000000000000')).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    expect(r.standIn.confirms).toEqual([]);

    // The gateway no longer knows it as unconfirmed (another PC answered first, say): refused, the item stays.
    r.standIn.doubts.delete(i.imageId);
    const err = await r.outbox.confirmArrived(i.imageId).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('ERR_NOT_FOUND');
    expect(r.outbox.get(i.imageId)?.state).toBe('unconfirmed');
    expect(r.outbox.get(i.imageId)?.actions?.map((a) => a.action)).toEqual(['unconfirmed']);
    expect(payloadFiles(r.dir)).toHaveLength(1); // the unconfirmed photo's copy stays
  });

  it('a restart after the gateway recorded the confirmation but before the outbox did: asking again is answered the same, no resource created', async () => {
    r = await rig();
    const i = await unconfirmedItem(r);
    // The confirmation reaches the gateway, but the answer never gets back (the companion stopped).
    const gw = r.standIn;
    await fetch(`${gw.url}/v1/commits/${i.imageId}/confirm`, { method: 'POST', headers: { authorization: `Device dev_abcdefghijklmnopqrstuv.${'s'.repeat(43)}`, 'content-type': 'application/json' }, body: '{}' });
    await r.reopen();
    expect(r.outbox.get(i.imageId)?.state).toBe('unconfirmed');
    const v = await r.outbox.confirmArrived(i.imageId);
    expect(v.committed?.confirmedBy).toBe('person');
    expect(gw.confirms).toEqual([i.imageId, i.imageId]);
    expect(gw.creates).toHaveLength(0);
  });

  it('sendAgain: one post with resendAfterCheck, then the normal flow; one resource; the answer kept in its history', async () => {
    r = await rig();
    const i = await unconfirmedItem(r);
    expect(r.outbox.sendAgain(i.imageId)).toBe(true);
    expect(r.outbox.sendAgain(i.imageId)).toBe(false); // a second click does nothing
    await r.outbox.idle();
    const v = r.outbox.get(i.imageId);
    expect(v?.state).toBe('committed');
    expect(v?.committed?.confirmedBy).toBeUndefined();
    expect(v?.actions?.map((a) => a.action)).toEqual(['unconfirmed', 'person-send-again']);
    expect(r.standIn.requests.map((q) => q.resendAfterCheck ?? false)).toEqual([false, true]);
    expect(r.standIn.creates.map((c) => c.imageId)).toEqual([i.imageId]);
    expect(payloadFiles(r.dir)).toEqual([]);
  });

  it('sendAgain for an item that is not unconfirmed does nothing', async () => {
    r = await rig();
    const i = await item();
    await r.outbox.enqueue(i);
    expect(r.outbox.sendAgain(i.imageId)).toBe(false);
    r.outbox.start();
    await r.outbox.idle();
    expect(r.outbox.sendAgain(i.imageId)).toBe(false);
    expect(r.standIn.requests.map((q) => q.resendAfterCheck ?? false)).toEqual([false]);
  });

  it('sendAgain then a restart before it went: sent once after the restart, still flagged; one resource', async () => {
    r = await rig();
    const i = await unconfirmedItem(r);
    await r.outbox.stop();
    expect(r.outbox.sendAgain(i.imageId)).toBe(true);
    await r.reopen();
    expect(r.outbox.get(i.imageId)).toMatchObject({ state: 'queued', resendAfterCheck: true });
    r.outbox.start();
    await r.outbox.idle();
    expect(r.outbox.get(i.imageId)?.state).toBe('committed');
    expect(r.standIn.requests.map((q) => q.resendAfterCheck ?? false)).toEqual([false, true]);
    expect(r.standIn.creates).toHaveLength(1);
  });

  it('sendAgain while the gateway refuses connections keeps the check; once the gateway takes it (outcome unknown) the same request asks without it', async () => {
    r = await rig({ backoff: { baseMs: 1000, maxMs: 60_000 } });
    const i = await unconfirmedItem(r);
    const port = r.standIn.port;
    await r.standIn.close();
    expect(r.outbox.sendAgain(i.imageId)).toBe(true);
    await r.outbox.idle();
    expect(r.outbox.get(i.imageId)).toMatchObject({ state: 'waiting', resendAfterCheck: true, lastError: { code: 'ERR_GATEWAY_UNREACHABLE' } });
    const { startGatewayStandIn } = await import('../../test/outbox/gateway-stand-in');
    const back = await startGatewayStandIn({ port, anyGrant: true });
    r.standIn = back;
    // The gateway takes the resend, but that create's answer is lost in turn: "outcome unknown". From then on the
    // same request asks without the flag (the gateway holds the person's check) until the create lands.
    back.doubts.set(i.imageId, { phase: 'unconfirmed', onResend: 'unknown' });
    r.clock.advance(60_000);
    r.outbox.kick();
    await r.outbox.idle();
    expect(r.outbox.get(i.imageId)).toMatchObject({ state: 'waiting', waitingFor: 'medtech-confirmation' });
    expect(r.outbox.get(i.imageId)?.resendAfterCheck).toBeUndefined();
    r.clock.advance(60_000);
    r.outbox.kick();
    await r.outbox.idle();
    expect(r.outbox.get(i.imageId)?.state).toBe('waiting');
    back.land(i.imageId);
    r.clock.advance(60_000);
    r.outbox.kick();
    await r.outbox.idle();
    expect(r.outbox.get(i.imageId)?.state).toBe('committed');
    expect(back.requests.map((q) => q.resendAfterCheck ?? false)).toEqual([true, false, false]);
    expect(back.creates).toHaveLength(1);
  });

  it('a resend whose answer is lost is used up (at most once): it asks again without the check, comes back unconfirmed, and a person is asked again — never a second create', async () => {
    r = await rig({ backoff: { baseMs: 1000, maxMs: 60_000 } });
    const i = await unconfirmedItem(r);
    r.standIn.faults.push({ status: 503 });
    expect(r.outbox.sendAgain(i.imageId)).toBe(true);
    await r.outbox.idle();
    expect(r.outbox.get(i.imageId)).toMatchObject({ state: 'waiting', lastError: { code: 'ERR_GATEWAY_UNREACHABLE' } });
    expect(r.outbox.get(i.imageId)?.resendAfterCheck).toBeUndefined();
    r.clock.advance(60_000);
    r.outbox.kick();
    await r.outbox.idle();
    const v = r.outbox.get(i.imageId);
    expect(v?.state).toBe('unconfirmed');
    expect(v?.actions?.map((a) => a.action)).toEqual(['unconfirmed', 'person-send-again', 'unconfirmed']);
    expect(r.standIn.requests.map((q) => q.resendAfterCheck ?? false)).toEqual([false, true, false]);
    expect(r.standIn.creates).toHaveLength(0);
    // The person answers again, and this time it goes.
    expect(r.outbox.sendAgain(i.imageId)).toBe(true);
    await r.outbox.idle();
    expect(r.outbox.get(i.imageId)?.state).toBe('committed');
    expect(r.standIn.creates).toHaveLength(1);
  });

  it('a crash in the middle of a resend uses it up too: after the restart it asks without the check', async () => {
    r = await rig();
    const i = await unconfirmedItem(r);
    await r.outbox.stop();
    expect(r.outbox.sendAgain(i.imageId)).toBe(true);
    await r.outbox.close();
    // What a kill -9 during the post leaves behind: the row still 'sending', its flag set.
    const db = new Database(join(r.dir, 'outbox.db'));
    db.prepare(`UPDATE items SET state = 'sending' WHERE image_id = ?`).run(i.imageId);
    db.close();
    await r.reopen();
    expect(r.outbox.get(i.imageId)).toMatchObject({ state: 'queued' });
    expect(r.outbox.get(i.imageId)?.resendAfterCheck).toBeUndefined();
    r.outbox.start();
    await r.outbox.idle();
    expect(r.outbox.get(i.imageId)?.state).toBe('unconfirmed');
    expect(r.standIn.requests.map((q) => q.resendAfterCheck ?? false)).toEqual([false, false]);
    expect(r.standIn.creates).toHaveLength(0);
  });

  it('sendAgain with a launch grant that ended meanwhile: waits for a new launch, keeps the check, then sends once flagged', async () => {
    r = await rig();
    const i = await unconfirmedItem(r);
    r.standIn.grants.set(GRANT_A, { patientId: PATIENT_A.id, expired: true });
    expect(r.outbox.sendAgain(i.imageId)).toBe(true);
    await r.outbox.idle();
    expect(r.outbox.get(i.imageId)).toMatchObject({ state: 'waiting', reason: GRANT_REASON, resendAfterCheck: true });
    r.standIn.grants.set(GRANT_B, { patientId: PATIENT_A.id });
    expect(r.outbox.rebindGrant(PATIENT_A.id, GRANT_B)).toBe(1);
    await r.outbox.idle();
    expect(r.outbox.get(i.imageId)?.state).toBe('committed');
    expect(r.standIn.requests.map((q) => q.resendAfterCheck ?? false)).toEqual([false, true, true]);
    expect(r.standIn.creates).toHaveLength(1);
  });

  it('opens an outbox saved by the first version (schema 1): its items are kept and can become unconfirmed', async () => {
    r = await rig();
    const keep = await item();
    await r.outbox.enqueue(keep);
    await r.outbox.close();
    // Turn the saved database back into schema 1 (the state list without 'unconfirmed', no actions table).
    const dir = tmp();
    cpSync(r.dir, dir, { recursive: true });
    const db = new Database(join(dir, 'outbox.db'));
    db.exec(`
      CREATE TABLE items_v1 (image_id TEXT PRIMARY KEY, patient_ref TEXT NOT NULL, facility_id TEXT NOT NULL, captured_at TEXT NOT NULL,
        targets TEXT NOT NULL, sealed BLOB NOT NULL, payloads TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued','sending','waiting','committed','failed')), attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER, error_code TEXT, error_message TEXT, reason TEXT, result TEXT, created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL, committed_at INTEGER) STRICT;
      INSERT INTO items_v1 SELECT image_id, patient_ref, facility_id, captured_at, targets, sealed, payloads, state, attempts, next_attempt_at,
        error_code, error_message, reason, result, created_at, updated_at, committed_at FROM items;
      DROP TABLE items; DROP TABLE actions; ALTER TABLE items_v1 RENAME TO items;
      UPDATE meta SET value = '1' WHERE key = 'schema';`);
    db.close();
    r.outbox = await (async () => {
      const { openOutbox } = await import('./outbox');
      const { createGatewayClient } = await import('../gateway-client/client');
      const { silent } = await import('./test-helpers');
      const gateway = createGatewayClient({ baseUrl: r!.standIn.url, credentials: async () => ({ deviceId: 'dev_abcdefghijklmnopqrstuv', deviceSecret: 's'.repeat(43) }), logger: silent });
      return openOutbox({ dir, secrets: r!.secrets, gateway, clock: r!.clock, random: () => 0.5, logger: silent });
    })();
    const check = new Database(join(dir, 'outbox.db'), { readonly: true });
    expect(check.prepare(`SELECT value FROM meta WHERE key = 'schema'`).pluck().get()).toBe(String(SCHEMA_VERSION));
    check.close();
    expect(r.outbox.get(keep.imageId)?.state).toBe('queued');
    r.standIn.doubts.set(keep.imageId, { phase: 'unconfirmed' });
    r.outbox.start();
    await r.outbox.idle();
    expect(r.outbox.get(keep.imageId)?.state).toBe('unconfirmed');
    expect(existsSync(join(dir, 'payloads'))).toBe(true);
    expect(r.outbox.sendAgain(keep.imageId)).toBe(true);
    await r.outbox.idle();
    expect(r.outbox.get(keep.imageId)?.state).toBe('committed');
    expect(r.standIn.creates).toHaveLength(1);
  });
});
