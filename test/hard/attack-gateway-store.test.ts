/**
 * Someone copies the gateway's store (issue #26, item 5): the SQLite file and its WAL hold no patient
 * name, NHI or date of birth in clear. A real gateway on a file store (WAL) launches for the canary patient
 * from Evolution, finds and confirms another by NHI, commits (Media + Inbox Scan) and verifies the commit
 * (which needs the NHI back); then every byte of gateway.sqlite, -wal and -shm is searched.
 * The same flows still work (the patient comes back whole from the sealed record).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LaunchGrant, VerifyResponse } from '../../shared/contracts/gateway';
import { SqliteStore } from '../../gateway/src/store/sqlite';
import { startHarness, type Harness } from '../gateway/helpers/harness';

const CANARY = { nhi: 'ZZZ0040', given: 'Canary', family: 'Testpatient', dob: '1961-05-21' };
const OTHER = { nhi: 'ZZZ0024', given: 'Wiremu', dob: '1958-11-02' };

let h: Harness;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hard-gw-store-'));
  h = await startHarness({ store: new SqliteStore(join(dir, 'gateway.sqlite')), env: { GATEWAY_DATA_KEY: Buffer.alloc(32, 9).toString('base64') } });
});
afterAll(async () => {
  await h?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the gateway store holds no patient name, NHI or DOB in clear', () => {
  it('launch, NHI lookup + confirm, commit and verify → 0 hits in gateway.sqlite, -wal, -shm; the flows still work', async () => {
    const device = await h.enrol();
    const grant = await h.launch(device, CANARY.nhi);
    expect(grant.patient).toMatchObject({ nhi: CANARY.nhi, givenName: CANARY.given, birthDate: CANARY.dob });
    const commit = await h.commit(device, h.commitBody(grant, { media: true, document: true }));
    expect(commit.statusCode, commit.body).toBe(201);
    const imageId = commit.json<{ imageId: string }>().imageId;
    // The strict sandbox shows a new Media in its search only after the search lag (ALEX stores late).
    h.clock.advance(61_000);
    const verify = await h.app.inject({ method: 'GET', url: `/v1/commits/${imageId}/verify`, headers: { authorization: h.auth(device) } });
    expect(verify.json<VerifyResponse>().media?.present).toBe(true);

    const auth = { authorization: h.auth(device) };
    const looked = (await h.app.inject({ method: 'POST', url: '/v1/launch/lookup', headers: auth, payload: { nhi: OTHER.nhi } })).json<LaunchGrant>();
    const confirmed = await h.app.inject({ method: 'POST', url: '/v1/launch/confirm', headers: auth, payload: { grantId: looked.grantId } });
    expect(confirmed.json<LaunchGrant>().patient).toMatchObject({ nhi: OTHER.nhi, givenName: OTHER.given });
    const second = await h.commit(device, h.commitBody(confirmed.json<LaunchGrant>(), { media: true }));
    expect(second.statusCode, second.body).toBe(201);

    const files = readdirSync(dir).filter((f) => f.startsWith('gateway.sqlite'));
    expect(files).toContain('gateway.sqlite-wal');
    const canaries = [CANARY.nhi, CANARY.given, CANARY.family, CANARY.dob, OTHER.nhi, OTHER.given, OTHER.dob];
    const hits: string[] = [];
    let bytes = 0;
    for (const f of files) {
      const text = readFileSync(join(dir, f)).toString('latin1');
      bytes += text.length;
      for (const c of canaries) if (text.includes(c)) hits.push(`${f}: ${c}`);
    }
    console.log(`hard gateway-store: ${JSON.stringify({ files: files.length, bytes, canaries: canaries.length, hits: hits.length })}`);
    expect(hits).toEqual([]);
  });
});

describe('records stored in clear before the upgrade', () => {
  it('a grant and a commit record written in clear still work until they expire (no 500)', async () => {
    const device = await h.enrol();
    const grant = await h.launch(device, 'ZZZ0016');
    const commit = await h.commit(device, h.commitBody(grant, { media: true }));
    expect(commit.statusCode).toBe(201);
    const imageId = commit.json<{ imageId: string }>().imageId;
    // What an earlier version stored: the patient and the NHI in clear.
    const { grantHash } = await import('../../gateway/src/launch/grants');
    const sealed = await h.store.getGrant(grantHash(grant.grantId));
    if (!sealed) throw new Error('grant not stored');
    await h.store.putGrant({ ...sealed, patient: grant.patient });
    const rec = await h.store.getIdempotency(imageId);
    expect(rec?.patientNhi.startsWith('v1.')).toBe(true);
    const again = await h.commit(device, h.commitBody(grant, { media: true }));
    expect(again.statusCode, again.body).toBe(201);
    const verify = await h.app.inject({ method: 'GET', url: `/v1/commits/${imageId}/verify`, headers: { authorization: h.auth(device) } });
    expect(verify.statusCode).toBe(200);
  });
});
