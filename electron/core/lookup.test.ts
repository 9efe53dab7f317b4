/**
 * "Find patient by NHI" through the companion core, with the real parts: the real gateway (listening on
 * 127.0.0.1) and ALEX sandbox, real imaging on the shared fixture photos, the real durable outbox and LAN
 * server, all on the gateway's injected clock. A found patient is only a PENDING candidate until the GP
 * confirms it; only then can anything be added or sent for it.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureLogger } from '../../test/helpers/capture-logger';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkBridgeEvent, dispatchBridgeCall, type AppState, type Notice } from '../../shared/contracts/bridge';
import { FACILITY, startHarness, type Harness } from '../../test/gateway/helpers/harness';
import { buildLaunchUrl } from '../launch/testkit/launch-url';
import { MemorySecretStore } from '../secrets';
import { MemorySettingsStore } from './test-support';
import { startCompanion, type RunningCompanion } from './compose';

const FIXTURES = new URL('../../../shared/fixtures/photos/', import.meta.url).pathname;
const PHOTO = 'photo-1600-portrait.png';

let gw: Harness;
let gatewayUrl: string;
let companion: RunningCompanion;
let dataDir: string;
let inputs: string;
let logs: string[];
let states: AppState[];
let notices: Notice[];

async function startOne(dir: string): Promise<RunningCompanion> {
  const logger = captureLogger(logs);
  return startCompanion({
    dataDir: dir,
    secrets: new MemorySecretStore(),
    settingsStore: new MemorySettingsStore(),
    logger,
    clock: { now: () => gw.clock.now() },
    lan: { bindHost: '127.0.0.1', port: 0, sweepIntervalMs: 0 },
    random: () => 0,
  });
}

beforeEach(async () => {
  gw = await startHarness();
  gatewayUrl = await gw.app.listen({ host: '127.0.0.1', port: 0 });
  dataDir = await mkdtemp(join(tmpdir(), 'core-lookup-'));
  inputs = await mkdtemp(join(tmpdir(), 'core-lookup-in-'));
  await copyFile(join(FIXTURES, PHOTO), join(inputs, PHOTO));
  logs = [];
  states = [];
  notices = [];
  companion = await startOne(dataDir);
  companion.core.on('state', (s) => states.push(s));
  companion.core.on('notice', (n) => notices.push(n));
  const { code } = await gw.devices.issueEnrolmentCode(FACILITY, 'Test Practice', 72);
  await companion.core['enrolment.enrol']({ gatewayUrl, enrolmentCode: code, deviceName: 'Consult room 3' });
});

afterEach(async () => {
  await companion.close();
  await gw.close();
  await rm(dataDir, { recursive: true, force: true });
  await rm(inputs, { recursive: true, force: true });
});

const core = () => companion.core;
const state = () => core()['app.getState']({});
const photo = () => join(inputs, PHOTO);

async function launch(nhi: string) {
  const pair = gw.sandbox.issueLaunch({ patientId: gw.patient(nhi).id, facilityCode: FACILITY });
  return core()['launch.open']({ url: buildLaunchUrl(pair.context, pair.signature) });
}

async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await companion.outbox.idle();
    await core().idle();
  }
}

/** Outcomes of the gateway's confirmations (audit `launch.confirmed`), oldest first. */
async function confirmations(): Promise<string[]> {
  return (await gw.store.listAudit({ limit: 1000 })).filter((a) => a.action === 'launch.confirmed').map((a) => a.outcome);
}

/** Patient searches that reached Medtech (the sandbox). */
const patientSearches = (): number => gw.sandbox.store.requests().filter((r) => r.path === '/FHIR/Patient').length;

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (e: unknown) => (e as { code?: string }).code,
  );
}

describe('finding a patient by NHI', () => {
  it('no launch → find ZZZ0016 → a pending candidate only → confirm → add, tag, commit → Medtech holds it for THAT patient', async () => {
    const found = await core()['patient.lookup']({ nhi: ' zzz 0016 ' });
    const aroha = gw.patient('ZZZ0016');
    expect(found.patient).toEqual({ id: aroha.id, nhi: 'ZZZ0016', familyName: aroha.familyName, givenName: aroha.givenName, birthDate: aroha.birthDate, sex: aroha.sex });
    expect(found.lookupId).toMatch(/^lk_/);

    // Pending, not working: nothing can be added, phoned in or sent for it yet.
    let s = await state();
    expect(s.patient).toBeNull();
    expect(s.launch.status).toBe('none');
    expect(s.captureSession).toBeNull();
    expect(s.pendingLookup).toEqual(found);
    expect(checkBridgeEvent('state', s)).toBe(true);
    expect(await codeOf(core()['images.addPaths']({ paths: [photo()] }))).toBe('ERR_NO_PATIENT');
    expect(await codeOf(core()['phone.start']({}))).toBe('ERR_NO_PATIENT');
    expect(await codeOf(core()['commit.start']({ targets: { media: true, inboxScan: false }, captionStrip: false }))).toBe('ERR_NO_PATIENT');
    expect(s.images).toEqual([]);

    // Nothing was confirmed at the gateway yet.
    expect(await confirmations()).toEqual([]);
    expect(await core()['patient.confirm']({ lookupId: found.lookupId })).toEqual({ status: 'ready' });
    s = await state();
    expect(s.patient?.nhi).toBe('ZZZ0016');
    expect(s.pendingLookup).toBeUndefined();
    expect(s.captureSession?.patientId).toBe(aroha.id);
    expect(await confirmations()).toEqual(['confirmed']);
    // The confirmed grant lives a launch grant's life: well past the lookup's 10 minutes, it still sends.
    gw.clock.advance((gw.config.lookupGrantTtlSeconds + 60) * 1000);

    const added = await core()['images.addPaths']({ paths: [photo()] });
    expect(added.rejected).toEqual([]);
    const id = added.imageIds[0] as string;
    await core()['images.updateMetadata']({ ids: [id], patch: { bodySiteCode: '89545001' } });
    const res = await core()['commit.start']({ targets: { media: true, inboxScan: false }, captionStrip: false });
    expect(res.queued).toEqual([id]);
    await settle();
    expect((await state()).images[0]?.status).toBe('committed');
    const media = gw.sandbox.store.listMedia({ identifierValue: id });
    expect(media).toHaveLength(1);
    expect(media[0]?.patientId).toBe(aroha.id);

    // The confirmation is the same one-patient promise as a launch: a second confirm of the same search is refused.
    expect(await codeOf(core()['patient.confirm']({ lookupId: found.lookupId }))).toBe('ERR_LOOKUP_ENDED');
    expect(states.every((x) => checkBridgeEvent('state', x))).toBe(true);
    const logText = logs.join('');
    for (const secret of ['ZZZ0016', 'Testpatient', 'Aroha', '1985-03-14', found.lookupId]) expect(logText).not.toContain(secret);
  });

  it('while a patient is working, a found patient changes nothing until confirmed; then it switches like a launch', async () => {
    await launch('ZZZ0016');
    const phone = await core()['phone.start']({});
    const before = await core()['images.addPaths']({ paths: [photo()] });

    const found = await core()['patient.lookup']({ nhi: 'ZZZ0024' });
    let s = await state();
    expect(s.patient?.nhi).toBe('ZZZ0016');
    expect(s.pendingLookup?.patient.nhi).toBe('ZZZ0024');
    expect(s.phone?.patientId).toBe(phone.patientId);
    // Photos added while the candidate waits still go to the working patient.
    const during = await core()['images.addPaths']({ paths: [photo()] });
    expect((await state()).images.find((i) => i.id === during.imageIds[0])?.patient.nhi).toBe('ZZZ0016');
    expect(notices.filter((n) => n.kind === 'patient-switched')).toEqual([]);

    expect(await core()['patient.confirm']({ lookupId: found.lookupId })).toEqual({ status: 'ready' });
    s = await state();
    expect(s.patient?.nhi).toBe('ZZZ0024');
    expect(s.phone).toBeNull(); // the phone session for the previous patient ended
    expect(s.images.map((i) => [i.patient.nhi, i.isWorkingPatient])).toEqual([
      ['ZZZ0016', false],
      ['ZZZ0016', false],
    ]);
    expect(s.images.map((i) => i.id)).toEqual([...before.imageIds, ...during.imageIds]);
    expect(notices.find((n) => n.kind === 'patient-switched')?.message).toBe(
      'Now working on TESTPATIENT, Wiremu. 2 images stay with TESTPATIENT, Aroha and can still be sent to their record only.',
    );
  });

  it('confirming the patient already working keeps the session and its photos (no switch)', async () => {
    await launch('ZZZ0016');
    const session = (await state()).captureSession;
    await core()['images.addPaths']({ paths: [photo()] });
    const found = await core()['patient.lookup']({ nhi: 'ZZZ0016' });
    await core()['patient.confirm']({ lookupId: found.lookupId });
    const s = await state();
    expect(s.captureSession?.id).toBe(session?.id);
    expect(s.images.every((i) => i.isWorkingPatient)).toBe(true);
    expect(notices.filter((n) => n.kind === 'patient-switched')).toEqual([]);
  });

  it('a candidate expires with its grant: gone from the screen, and confirming it is refused', async () => {
    const found = await core()['patient.lookup']({ nhi: 'ZZZ0016' });
    const left = Date.parse(found.expiresAt) - gw.clock.now();
    expect(left).toBeGreaterThan(60_000);
    gw.clock.advance(left - 1000);
    expect((await state()).pendingLookup?.lookupId).toBe(found.lookupId);
    gw.clock.advance(2000);
    expect((await state()).pendingLookup).toBeUndefined();
    expect(await codeOf(core()['patient.confirm']({ lookupId: found.lookupId }))).toBe('ERR_LOOKUP_EXPIRED');
    expect(await codeOf(core()['patient.confirm']({ lookupId: found.lookupId }))).toBe('ERR_LOOKUP_ENDED');
    expect((await state()).patient).toBeNull();
    expect(await codeOf(core()['images.addPaths']({ paths: [photo()] }))).toBe('ERR_NO_PATIENT');
  });

  it('a launch from Evolution wins over a waiting candidate', async () => {
    const found = await core()['patient.lookup']({ nhi: 'ZZZ0024' });
    expect(await launch('ZZZ0016')).toEqual({ status: 'ready' });
    const s = await state();
    expect(s.patient?.nhi).toBe('ZZZ0016');
    expect(s.pendingLookup).toBeUndefined();
    expect(await codeOf(core()['patient.confirm']({ lookupId: found.lookupId }))).toBe('ERR_LOOKUP_ENDED');
    expect((await state()).patient?.nhi).toBe('ZZZ0016');
  });

  it('a launch arriving while the search is still with Medtech wins: the search ends as cancelled, never as a candidate', async () => {
    // Hold the first patient search at "Medtech"; the launch's own reads go through.
    gw.sandbox.faults.add({ kind: 'timeout', method: 'GET', pathPrefix: '/FHIR/Patient', times: 1 });
    const searching = codeOf(core()['patient.lookup']({ nhi: 'ZZZ0024' }));
    await expect.poll(patientSearches).toBe(1);
    expect(await launch('ZZZ0016')).toEqual({ status: 'ready' });
    expect(await searching).toBe('ERR_REQUEST_CANCELLED');
    const s = await state();
    expect(s.patient?.nhi).toBe('ZZZ0016');
    expect(s.pendingLookup).toBeUndefined();
  });

  it('"No, go back" (cancel) forgets the candidate; cancelling a search still running ends it as cancelled', async () => {
    const found = await core()['patient.lookup']({ nhi: 'ZZZ0016' });
    expect(await core()['patient.cancelLookup']({})).toEqual({ ok: true });
    let s = await state();
    expect(s.pendingLookup).toBeUndefined();
    expect(s.patient).toBeNull();
    expect(await codeOf(core()['patient.confirm']({ lookupId: found.lookupId }))).toBe('ERR_LOOKUP_ENDED');
    // Nothing pending: cancelling again is harmless.
    expect(await core()['patient.cancelLookup']({})).toEqual({ ok: true });

    gw.sandbox.faults.add({ kind: 'timeout', method: 'GET', pathPrefix: '/FHIR/Patient', times: 1 });
    const before = patientSearches();
    const searching = codeOf(core()['patient.lookup']({ nhi: 'ZZZ0024' }));
    await expect.poll(patientSearches).toBe(before + 1);
    await core()['patient.cancelLookup']({});
    expect(await searching).toBe('ERR_REQUEST_CANCELLED');
    s = await state();
    expect(s.pendingLookup).toBeUndefined();
    expect(s.patient).toBeNull();
  });

  it('a new search replaces the previous candidate', async () => {
    const first = await core()['patient.lookup']({ nhi: 'ZZZ0016' });
    const second = await core()['patient.lookup']({ nhi: 'ZZZ0032' });
    expect(second.lookupId).not.toBe(first.lookupId);
    expect((await state()).pendingLookup?.patient.nhi).toBe('ZZZ0032');
    expect(await codeOf(core()['patient.confirm']({ lookupId: first.lookupId }))).toBe('ERR_LOOKUP_ENDED');
    expect((await state()).pendingLookup?.lookupId).toBe(second.lookupId);
    await core()['patient.confirm']({ lookupId: second.lookupId });
    expect((await state()).patient?.nhi).toBe('ZZZ0032');
  });

  it('bad input and failures get clear codes, and leave no candidate and no patient', async () => {
    const before = patientSearches();
    // wrong check digit, old and new formats, letters I/O, too short
    for (const nhi of ['ZZZ0017', 'ZAA10AY', 'ZZZ00I6', 'ZZ16']) expect(await codeOf(core()['patient.lookup']({ nhi }))).toBe('ERR_LOOKUP_NHI_INVALID');
    expect(patientSearches()).toBe(before);
    expect(await codeOf(core()['patient.lookup']({ nhi: 'ZZZ0059' }))).toBe('ERR_ALEX_PATIENT_NOT_FOUND');
    const down = gw.sandbox.faults.add({ kind: 'status503', pathPrefix: '/FHIR/Patient' });
    expect(await codeOf(core()['patient.lookup']({ nhi: 'ZZZ0016' }))).toBe('ERR_ALEX_UNAVAILABLE');
    gw.sandbox.faults.remove(down);
    await core()['settings.set']({ patch: { gatewayUrl: 'http://127.0.0.1:1' } });
    expect(await codeOf(core()['patient.lookup']({ nhi: 'ZZZ0016' }))).toBe('ERR_GATEWAY_UNREACHABLE');
    await core()['settings.set']({ patch: { gatewayUrl } });
    // unknown or malformed lookup ids
    expect(await codeOf(core()['patient.confirm']({ lookupId: 'lk_nothing-like-this' }))).toBe('ERR_LOOKUP_ENDED');
    expect(await dispatchBridgeCall(core(), 'patient.confirm', { lookupId: '../x' })).toMatchObject({ ok: false, error: { code: 'ERR_REQUEST_INVALID' } });
    expect(await dispatchBridgeCall(core(), 'patient.lookup', { nhi: 'ZZZ0016', patientId: gw.patient('ZZZ0024').id })).toMatchObject({ ok: false, error: { code: 'ERR_REQUEST_INVALID' } });
    const s = await state();
    expect(s.pendingLookup).toBeUndefined();
    expect(s.patient).toBeNull();
    expect(logs.join('')).not.toMatch(/ZZZ00(16|17|59)|ZAA10AY/);
  });

  it('the gateway confirms before the candidate becomes the working patient; a passing failure keeps the candidate, "Yes" again works', async () => {
    const found = await core()['patient.lookup']({ nhi: 'ZZZ0024' });
    await core()['settings.set']({ patch: { gatewayUrl: 'http://127.0.0.1:1' } });
    const offline = await core()['patient.confirm']({ lookupId: found.lookupId }).then(
      () => null,
      (e: unknown) => e as { code?: string; message?: string },
    );
    expect(offline?.code).toBe('ERR_GATEWAY_UNREACHABLE');
    expect(offline?.message).toMatch(/cannot reach/);
    let s = await state();
    expect(s.patient).toBeNull();
    expect(s.captureSession).toBeNull();
    expect(s.pendingLookup?.lookupId).toBe(found.lookupId);
    expect(await codeOf(core()['images.addPaths']({ paths: [photo()] }))).toBe('ERR_NO_PATIENT');
    expect(await confirmations()).toEqual([]);

    await core()['settings.set']({ patch: { gatewayUrl } });
    expect(await core()['patient.confirm']({ lookupId: found.lookupId })).toEqual({ status: 'ready' });
    s = await state();
    expect(s.patient?.nhi).toBe('ZZZ0024');
    expect(await confirmations()).toEqual(['confirmed']);
  });

  it('a confirmation the gateway refuses shows its plain error and leaves no candidate and no working patient', async () => {
    const found = await core()['patient.lookup']({ nhi: 'ZZZ0024' });
    const deviceId = (await gw.store.listDevices())[0]?.deviceId as string;
    await gw.store.revokeDevice(deviceId, gw.clock.now());
    const refused = await core()['patient.confirm']({ lookupId: found.lookupId }).then(
      () => null,
      (e: unknown) => e as { code?: string; message?: string },
    );
    expect(refused).toMatchObject({ code: 'ERR_AUTH_DEVICE_REVOKED', message: 'This PC has been removed from ClinicPro Images. Ask practice IT to enrol it again.' });
    const s = await state();
    expect(s.patient).toBeNull();
    expect(s.pendingLookup).toBeUndefined();
    expect(await codeOf(core()['patient.confirm']({ lookupId: found.lookupId }))).toBe('ERR_LOOKUP_ENDED');
  });

  it('a launch arriving while the confirmation is with the gateway wins; two presses of "Yes" confirm once', async () => {
    const found = await core()['patient.lookup']({ nhi: 'ZZZ0024' });
    const [a, b] = await Promise.all([core()['patient.confirm']({ lookupId: found.lookupId }), core()['patient.confirm']({ lookupId: found.lookupId })]);
    expect(a).toEqual({ status: 'ready' });
    expect(b).toEqual({ status: 'ready' });
    expect(await confirmations()).toEqual(['confirmed']);

    const next = await core()['patient.lookup']({ nhi: 'ZZZ0032' });
    const confirming = codeOf(core()['patient.confirm']({ lookupId: next.lookupId }));
    expect(await launch('ZZZ0016')).toEqual({ status: 'ready' });
    expect(await confirming).toBe('ERR_REQUEST_CANCELLED');
    const s = await state();
    expect(s.patient?.nhi).toBe('ZZZ0016');
    expect(s.pendingLookup).toBeUndefined();
  });

  it('a PC that is not enrolled cannot search', async () => {
    const other = await mkdtemp(join(tmpdir(), 'core-lookup-unenrolled-'));
    const fresh = await startOne(other);
    try {
      expect(await codeOf(fresh.core['patient.lookup']({ nhi: 'ZZZ0016' }))).toBe('ERR_NOT_ENROLLED');
      expect((await fresh.core['app.getState']({})).pendingLookup).toBeUndefined();
    } finally {
      await fresh.close();
      await rm(other, { recursive: true, force: true });
    }
  });
});
