/**
 * The companion's gateway client and outbox against the REAL gateway + ALEX sandbox over HTTP on loopback:
 * the contract in shared/contracts/gateway.ts agrees on both ends, and errors arrive as the right codes.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LaunchGrant } from '../../shared/contracts/gateway';
import { createGatewayClient, type GatewayClient } from '../../electron/gateway-client/client';
import { openOutbox } from '../../electron/outbox/outbox';
import { item } from '../../electron/outbox/test-helpers';
import { MemorySecretStore, saveDeviceCredentials } from '../../electron/secrets';
import { deviceCredentialsFrom } from '../../electron/secrets/testkit/device-credentials';
import { startHarness, type Harness } from '../gateway/helpers/harness';
import { rejection } from '../helpers/rejection';
import { storedTitle } from '../helpers/stored-title';

const logger = pino({ level: 'silent' });
let h: Harness;
let url: string;
const secrets = new MemorySecretStore();
let gw: GatewayClient;

beforeAll(async () => {
  h = await startHarness();
  url = await h.app.listen({ host: '127.0.0.1', port: 0 });
  gw = createGatewayClient({ baseUrl: url, credentials: deviceCredentialsFrom(secrets), timeoutMs: 10_000, logger });
}, 60_000);
afterAll(async () => {
  await h?.close();
});

describe('gateway client ↔ real gateway', () => {
  let grantA: LaunchGrant;
  let grantB: LaunchGrant;

  it('not enrolled → ERR_NOT_ENROLLED before anything is sent; a used enrolment code → its code', async () => {
    expect((await rejection(gw.me())).code).toBe('ERR_NOT_ENROLLED');
    const { code } = await h.devices.issueEnrolmentCode('F2N060-E', 'Test Practice', 72);
    const enrolled = await gw.enrol({ enrolmentCode: code, deviceName: 'Consult room 3', platform: 'win32' });
    expect(enrolled.facilityId).toBe('F2N060-E');
    expect(await secrets.get('device-credential')).toBeNull(); // enrol stores nothing itself
    await saveDeviceCredentials(secrets, enrolled);
    expect((await rejection(gw.enrol({ enrolmentCode: code, deviceName: 'again' }))).code).toBe('ERR_ENROL_CODE_USED');
    expect((await gw.me()).deviceName).toBe('Consult room 3');
  });

  it('verifies a launch pair from the sandbox into a grant for that patient; a replay is refused', async () => {
    const pairA = h.sandbox.issueLaunch({ patientId: h.patient('ZZZ0016').id, facilityCode: 'F2N060-E' });
    grantA = await gw.verifyLaunch(pairA);
    expect(grantA.patient.nhi).toBe('ZZZ0016');
    expect((await rejection(gw.verifyLaunch(pairA))).code).toBe('ERR_LAUNCH_REPLAYED');
    grantB = await gw.verifyLaunch(h.sandbox.issueLaunch({ patientId: h.patient('ZZZ0024').id, facilityCode: 'F2N060-E' }));
  });

  it('commits, replays on resend, verifies, and refuses a grant for another patient', async () => {
    const body = h.commitBody(grantA, { media: true, document: true });
    const first = await gw.commit(body, { correlationId: '8d7f8a51-6a7e-4c3e-9a51-0d4f1a2b3c4d' });
    expect(first.replayed).toBe(false);
    const again = await gw.commit(body, { correlationId: '8d7f8a51-6a7e-4c3e-9a51-0d4f1a2b3c4e' });
    expect(again.replayed).toBe(true);
    expect(again.media?.id).toBe(first.media?.id);
    expect(h.sandbox.store.listMedia({ identifierValue: body.imageId })).toHaveLength(1);
    // Medtech's search may show a new resource only after a while (a strict sandbox holds it back up to 60 s).
    h.clock.advance(61_000);
    const v = await gw.verifyCommit(body.imageId);
    expect(v.media?.present).toBe(true);
    expect(v.documentReference?.present).toBe(true);

    const wrong = { ...h.commitBody(grantA, { media: true }), patientId: grantB.patient.id };
    expect((await rejection(gw.commit(wrong, { correlationId: 'c' }))).code).toBe('ERR_COMMIT_PATIENT_MISMATCH');
    expect(h.sandbox.store.listMedia({ identifierValue: wrong.imageId })).toHaveLength(0);
    const unknownGrant = { ...h.commitBody(grantA, { media: true }), grantId: 'grant-that-does-not-exist' };
    expect((await rejection(gw.commit(unknownGrant, { correlationId: 'c' }))).code).toBe('ERR_LAUNCH_GRANT_INVALID');
  });

  it('a forged device secret → a device auth code', async () => {
    const forged = createGatewayClient({
      baseUrl: url,
      credentials: async () => ({ deviceId: 'dev_abcdefghijklmnopqrstuv', deviceSecret: 'f'.repeat(43) }),
      logger,
    });
    expect((await rejection(forged.me())).code).toMatch(/^ERR_AUTH_DEVICE_/);
  });

  it('the outbox commits two patients’ images, each to its own patient, through the real gateway', async () => {
    const outbox = await openOutbox({ dir: mkdtempSync(join(tmpdir(), 'cpi-real-')), secrets, gateway: gw, logger });
    const a = await item({ patient: grantA.patient, grantId: grantA.grantId, facilityId: grantA.facilityId }, 11);
    const b = await item({ patient: grantB.patient, grantId: grantB.grantId, facilityId: grantB.facilityId }, 12);
    await outbox.enqueue(a);
    await outbox.enqueue(b);
    outbox.start();
    await outbox.idle();
    expect(outbox.progress()).toMatchObject({ committed: 2, failed: 0, waiting: 0 });
    expect(h.sandbox.store.listMedia({ identifierValue: a.imageId }).map((m) => m.patientId)).toEqual([grantA.patient.id]);
    expect(h.sandbox.store.listMedia({ identifierValue: b.imageId }).map((m) => m.patientId)).toEqual([grantB.patient.id]);
    await outbox.close();
  });

  it("carries the photo's name and the patient's consent through the outbox, across a reopen, into the stored title", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cpi-real-'));
    const first = await openOutbox({ dir, secrets, gateway: gw, logger });
    const a = await item({ patient: grantA.patient, grantId: grantA.grantId, facilityId: grantA.facilityId, label: 'Photo 3', metadata: { consent: 'written' } }, 13);
    await first.enqueue(a);
    await first.close(); // saved, not yet sent: the name lives in the sealed row
    const outbox = await openOutbox({ dir, secrets, gateway: gw, logger });
    outbox.start();
    await outbox.idle();
    expect(outbox.progress()).toMatchObject({ committed: 1, failed: 0, waiting: 0 });
    const stored = h.sandbox.store.listMedia({ identifierValue: a.imageId });
    expect(stored).toHaveLength(1);
    const title = storedTitle(stored[0]!.resource);
    expect(title).toMatch(/^Photo 3 — Clinical photo — .* — consent: written$/);
    await outbox.close();
  });

  it('the client refuses a label that is a path or not plain text before anything is sent', async () => {
    const before = h.sandbox.store.counters.mediaCreateCalls;
    for (const label of ['C:\\Users\\gp\\Photo 2.jpg', '/tmp/photo.jpg', 'Photo\n2', ' ', 'x'.repeat(81)]) {
      const body = { ...h.commitBody(grantA, { media: true }), label };
      expect((await rejection(gw.commit(body, { correlationId: '8d7f8a51-6a7e-4c3e-9a51-0d4f1a2b3c4f' }))).code).toBe('ERR_REQUEST_INVALID');
      expect(h.sandbox.store.listMedia({ identifierValue: body.imageId })).toHaveLength(0);
    }
    expect(h.sandbox.store.counters.mediaCreateCalls).toBe(before);
  });
});
