/**
 * Enrolling a PC again, through the companion core with an injected clock and a scripted gateway (every other part
 * is real: imaging on a fixture photo, the durable outbox, the OS-credential-store interface in memory). Each way an
 * enrolment ends — revoked, unknown, a key now required, a stored credential that cannot be read — marks it for
 * renewal with a plain reason; a new enrolment clears it, replaces the credential and key, and sends the photos that
 * waited, except those of another practice, which stay on the PC unsent.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { checkBridgeEvent, type AppState, type Notice } from '../../shared/contracts/bridge';
import type { CommitRequest, CommitResponse, EnrolResponse, LaunchGrant } from '../../shared/contracts/gateway';
import { AppError } from '../../shared/errors/app-error';
import type { ErrorCode } from '../../shared/errors/codes';
import type { CommitClient, DeviceCredentials } from '../gateway-client/client';
import { createImagingService } from '../imaging';
import { buildLaunchUrl } from '../launch/testkit/launch-url';
import { openOutbox } from '../outbox/outbox';
import type { Outbox } from '../outbox/types';
import { MemorySecretStore, SECRET_ACCOUNTS } from '../secrets';
import { loadDeviceCredentials } from '../secrets/testkit/device-credentials';
import { createCompanionCore, type CompanionCore } from './core';
import type { GatewayFactory, GatewayPort } from './ports';
import { DEFAULT_SETTINGS, readConfig } from './settings';
import { MemorySettingsStore } from './test-support';

const FIXTURES = new URL('../../../shared/fixtures/photos/', import.meta.url).pathname;
const PHOTO = 'photo-1600-portrait.png';
const GATEWAY = 'http://127.0.0.1:9';
const PATIENT = { id: 'pat-1', nhi: 'ZZZ0016', familyName: 'TESTPATIENT', givenName: 'Aroha', birthDate: '1980-02-03', sex: 'female' } as const;
const deviceId = (n: number): string => `dev_${String(n).padStart(22, '0')}`;

/** The gateway as this test scripts it: what it answers, and which device sent each commit. */
class ScriptedGateway {
  /** The code every authenticated call is refused with (null: calls pass). */
  refuse: ErrorCode | null = null;
  /** Facility of the next enrolment. */
  nextFacility = 'F2N060-E';
  enrolled = 0;
  /** While set, authenticated calls wait for it after reading the credential (a slow answer). */
  hold: Promise<void> | null = null;
  readonly commits: { imageId: string; deviceId: string }[] = [];
  readonly grants: string[] = [];

  constructor(private readonly now: () => number) {}

  readonly factory: GatewayFactory = ({ credentials }) => {
    const authed = async (): Promise<DeviceCredentials> => {
      const c = await credentials();
      if (c === null) throw new AppError('ERR_NOT_ENROLLED');
      if (this.hold !== null) await this.hold;
      if (this.refuse !== null) throw new AppError(this.refuse);
      return c;
    };
    const grant = (facilityId: string): LaunchGrant => {
      const grantId = `grant-${String(this.grants.length + 1).padStart(12, '0')}`;
      this.grants.push(grantId);
      return { grantId, facilityId, patient: { ...PATIENT }, issuedAt: new Date(this.now()).toISOString(), expiresAt: new Date(this.now() + 3_600_000).toISOString() };
    };
    const port: GatewayPort & CommitClient = {
      enrol: async (req): Promise<EnrolResponse> => {
        expect(req.dpopJwk).toBeDefined();
        this.enrolled += 1;
        return { deviceId: deviceId(this.enrolled), deviceSecret: 's'.repeat(40 + this.enrolled), facilityId: this.nextFacility, practiceName: this.nextFacility === 'F2N060-E' ? 'Kauri Health' : 'Totara Clinic' };
      },
      verifyLaunch: async () => {
        await authed();
        return grant(this.nextFacility);
      },
      lookupPatientByNhi: async () => {
        await authed();
        return { ...grant(this.nextFacility), requiresConfirmation: true };
      },
      confirmLookup: async () => {
        await authed();
        return grant(this.nextFacility);
      },
      verifyCommit: async (imageId) => {
        await authed();
        return { imageId, checkedAt: new Date(this.now()).toISOString() };
      },
      commit: async (req: CommitRequest): Promise<CommitResponse> => {
        const c = await authed();
        this.commits.push({ imageId: req.imageId, deviceId: c.deviceId });
        return { imageId: req.imageId, media: { resourceType: 'Media', id: `m-${this.commits.length}` }, committedAt: new Date(this.now()).toISOString(), correlationId: 'corr-test', replayed: false };
      },
    };
    return port;
  };
}

interface Running {
  core: CompanionCore;
  outbox: Outbox;
  gw: ScriptedGateway;
  secrets: MemorySecretStore;
  settingsStore: MemorySettingsStore;
  clock: { t: number; now(): number };
  states: AppState[];
  notices: Notice[];
  close(): Promise<void>;
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function start(opts: { secrets?: MemorySecretStore; settingsStore?: MemorySettingsStore; dataDir?: string; gw?: ScriptedGateway; clock?: Running['clock'] } = {}): Promise<Running> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'core-renewal-')));
  if (opts.dataDir === undefined) cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
  const clock = opts.clock ?? { t: Date.parse('2026-05-01T09:00:00Z'), now: () => 0 };
  clock.now = () => clock.t;
  const gw = opts.gw ?? new ScriptedGateway(() => clock.t);
  const secrets = opts.secrets ?? new MemorySecretStore();
  const settingsStore = opts.settingsStore ?? new MemorySettingsStore();
  const logger = pino({ level: 'silent' });
  const imaging = createImagingService({ logger });
  let outbox: Outbox | undefined;
  const workDir = join(dataDir, 'images');
  await (await import('node:fs/promises')).mkdir(workDir, { recursive: true });
  const core = await createCompanionCore({
    clock,
    logger,
    workDir,
    imaging,
    secrets,
    settingsStore,
    gateway: gw.factory,
    verifyAfterCommit: false,
    openOutbox: async (commit) => (outbox = await openOutbox({ dir: join(dataDir, 'outbox'), secrets, gateway: commit, clock, random: () => 0, logger })),
  });
  const box = outbox as Outbox;
  box.start();
  const states: AppState[] = [];
  const notices: Notice[] = [];
  core.on('state', (s) => states.push(s));
  core.on('notice', (n) => notices.push(n));
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await core.close();
    await box.stop();
    await box.close();
    await imaging.close();
  };
  cleanup.push(close);
  return { core, outbox: box, gw, secrets, settingsStore, clock, states, notices, close };
}

const enrol = (r: Running, name = 'Consult room 3') => r.core['enrolment.enrol']({ gatewayUrl: GATEWAY, enrolmentCode: 'CODE-1234', deviceName: name });
const launch = (r: Running) => r.core['launch.open']({ url: buildLaunchUrl('ctx-abc', 'sig-abc') });
const enrolmentOf = async (r: Running) => (await r.core['app.getState']({})).enrolment;

async function settle(r: Running): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await r.outbox.idle();
    await r.core.idle();
  }
}

/** Launch, add the fixture photo, tag it and commit it as Media; answers its image id. */
async function capture(r: Running): Promise<string> {
  const inputs = await mkdtemp(join(tmpdir(), 'core-renewal-in-'));
  cleanup.push(() => rm(inputs, { recursive: true, force: true }));
  await copyFile(join(FIXTURES, PHOTO), join(inputs, PHOTO));
  const added = await r.core['images.addPaths']({ paths: [join(inputs, PHOTO)] });
  const id = added.imageIds[0] as string;
  await r.core['images.updateMetadata']({ ids: [id], patch: { bodySiteCode: '89545001' } });
  expect((await r.core['commit.start']({ ids: [id], targets: { media: true, inboxScan: false }, captionStrip: false })).queued).toEqual([id]);
  await settle(r);
  return id;
}

describe('the enrolment is marked for renewal', () => {
  const cases: [ErrorCode, string, RegExp][] = [
    ['ERR_AUTH_DEVICE_REVOKED', 'revoked', /access was withdrawn by your practice's ClinicPro administrator/],
    ['ERR_AUTH_DEVICE_UNKNOWN', 'unknown', /no longer recognises this PC/],
    ['ERR_AUTH_DEVICE_KEY_REQUIRED', 'key-required', /now requires one/],
  ];
  for (const [code, reason, message] of cases) {
    it(`when a gateway call answers ${code}, and stays marked after a restart until a new enrolment`, async () => {
      const r = await start();
      await enrol(r);
      expect(await enrolmentOf(r)).toMatchObject({ enrolled: true, practiceName: 'Kauri Health' });
      r.gw.refuse = code;
      r.clock.t += 60_000;
      expect(await launch(r)).toMatchObject({ status: 'error', error: { code, action: 'enrol' } });
      const e = await enrolmentOf(r);
      expect(e).toMatchObject({ enrolled: false, practiceName: 'Kauri Health', deviceName: 'Consult room 3', renewal: { reason, since: new Date(r.clock.t).toISOString() } });
      expect(e.renewal?.message).toMatch(message);
      expect(e.renewal?.message).toMatch(/enrolment code/);
      // The pushed snapshot says so too, and is valid on the wire.
      const last = r.states.at(-1) as AppState;
      expect(last.enrolment.renewal?.reason).toBe(reason);
      expect(checkBridgeEvent('state', last)).toBe(true);

      // Kept across a restart (same stores).
      await r.close();
      const again = await start({ secrets: r.secrets, settingsStore: r.settingsStore, gw: r.gw, clock: r.clock });
      expect((await enrolmentOf(again)).renewal?.reason).toBe(reason);

      // A new code clears it and replaces the credential and its key.
      const before = await loadDeviceCredentials(again.secrets);
      again.gw.refuse = null;
      expect(await enrol(again, 'Consult room 3')).toEqual({ enrolled: true, practiceName: 'Kauri Health', deviceName: 'Consult room 3', gatewayUrl: GATEWAY });
      const after = await loadDeviceCredentials(again.secrets);
      expect(after?.deviceId).toBe(deviceId(2));
      expect(after?.deviceId).not.toBe(before?.deviceId);
      expect(after?.dpopKey).not.toBe(before?.dpopKey);
      expect((await enrolmentOf(again)).renewal).toBeUndefined();
      expect(readConfig(await again.settingsStore.load()).renewal).toBeNull();
      expect(await launch(again)).toEqual({ status: 'ready' });
    });
  }

  it('when a patient search is refused because the PC was revoked', async () => {
    const r = await start();
    await enrol(r);
    r.gw.refuse = 'ERR_AUTH_DEVICE_REVOKED';
    await expect(r.core['patient.lookup']({ nhi: 'ZZZ0016' })).rejects.toMatchObject({ code: 'ERR_AUTH_DEVICE_REVOKED' });
    expect((await enrolmentOf(r)).renewal?.reason).toBe('revoked');
  });

  it('when the stored credential cannot be read: at start, before any gateway call', async () => {
    const first = await start();
    await enrol(first);
    await first.close();
    for (const damaged of ['{not json', JSON.stringify({ deviceId: deviceId(1), deviceSecret: 'short' })]) {
      await first.secrets.set(SECRET_ACCOUNTS.deviceCredential, damaged);
      await first.settingsStore.save({ ...readConfig(await first.settingsStore.load()), renewal: null });
      const r = await start({ secrets: first.secrets, settingsStore: first.settingsStore, gw: first.gw });
      expect(await enrolmentOf(r)).toMatchObject({ enrolled: false, practiceName: 'Kauri Health', renewal: { reason: 'credential-unreadable' } });
      expect((await enrolmentOf(r)).renewal?.message).toMatch(/could not be read/);
      expect(await launch(r)).toMatchObject({ status: 'error', error: { code: 'ERR_NOT_ENROLLED' } });
      await r.close();
    }
  });

  it('when the stored device key has the right shape but does not import, or the entry was removed', async () => {
    const first = await start();
    await enrol(first);
    const creds = (await loadDeviceCredentials(first.secrets)) as DeviceCredentials;
    const jwk = JSON.parse(creds.dpopKey as string) as Record<string, string>;
    // A point that is not on the curve: the shape check passes, the import does not.
    await first.secrets.set(SECRET_ACCOUNTS.deviceCredential, JSON.stringify({ ...creds, dpopKey: JSON.stringify({ ...jwk, x: jwk.y, y: jwk.x }) }));
    expect(await launch(first)).toMatchObject({ status: 'error', error: { code: 'ERR_NOT_ENROLLED' } });
    expect((await enrolmentOf(first)).renewal?.reason).toBe('credential-unreadable');

    const second = await start();
    await enrol(second);
    await second.secrets.delete(SECRET_ACCOUNTS.deviceCredential);
    expect(await launch(second)).toMatchObject({ status: 'error', error: { code: 'ERR_NOT_ENROLLED' } });
    expect((await enrolmentOf(second)).renewal?.reason).toBe('credential-unreadable');
  });

  it('never for a PC that was never enrolled, nor for other refusals', async () => {
    const r = await start();
    expect(await launch(r)).toMatchObject({ status: 'error', error: { code: 'ERR_NOT_ENROLLED' } });
    expect(await enrolmentOf(r)).toEqual({ enrolled: false, gatewayUrl: DEFAULT_SETTINGS.gatewayUrl });
    await enrol(r);
    for (const code of ['ERR_AUTH_PROOF_CLOCK', 'ERR_GATEWAY_UNREACHABLE', 'ERR_LAUNCH_SIGNATURE'] as const) {
      r.gw.refuse = code;
      expect(await launch(r)).toMatchObject({ status: 'error', error: { code } });
      expect(await enrolmentOf(r)).toMatchObject({ enrolled: true });
    }
  });

  it('not by an answer to a call made under the previous enrolment that arrives after the new one', async () => {
    const r = await start();
    await enrol(r);
    // The gateway holds the next launch (sent with the first device's credential) until released.
    let release!: () => void;
    r.gw.hold = new Promise<void>((res) => (release = res));
    const slow = r.core['launch.open']({ url: buildLaunchUrl('ctx-slow', 'sig-slow') });
    await new Promise<void>((res) => setImmediate(res));
    r.gw.hold = null;
    // Enrolled again meanwhile; then the old call comes back "revoked" (the first device was withdrawn).
    await enrol(r, 'Consult room 3');
    r.gw.refuse = 'ERR_AUTH_DEVICE_REVOKED';
    release();
    expect(await slow).toMatchObject({ status: 'error', error: { code: 'ERR_AUTH_DEVICE_REVOKED' } });
    expect(await enrolmentOf(r)).toMatchObject({ enrolled: true });
    expect((await enrolmentOf(r)).renewal).toBeUndefined();
  });
});

describe('photos captured before the enrolment ended', () => {
  it('stay in the outbox while the PC is revoked and are sent exactly once, with the new credential, after it is enrolled again', async () => {
    const r = await start();
    await enrol(r);
    expect(await launch(r)).toEqual({ status: 'ready' });
    r.gw.refuse = 'ERR_AUTH_DEVICE_REVOKED';
    const id = await capture(r);
    // The outbox's own send answered "revoked": the enrolment screen shows, the photo waits.
    expect((await enrolmentOf(r)).renewal?.reason).toBe('revoked');
    expect(r.outbox.get(id)).toMatchObject({ state: 'waiting', lastError: { code: 'ERR_AUTH_DEVICE_REVOKED' } });
    expect(r.gw.commits).toEqual([]);

    r.gw.refuse = null;
    await enrol(r, 'Consult room 3');
    await settle(r);
    expect(r.gw.commits).toEqual([{ imageId: id, deviceId: deviceId(2) }]);
    expect(r.outbox.get(id)?.state).toBe('committed');
    const img = (await r.core['app.getState']({})).images.find((i) => i.id === id);
    expect(img?.status).toBe('committed');
    expect(r.notices.filter((n) => /will not be sent/.test(n.message))).toEqual([]);
  });

  it('a device key now required (ERR_AUTH_DEVICE_KEY_REQUIRED) keeps the photo waiting, not failed, and it goes after enrolling with a key', async () => {
    const r = await start();
    await enrol(r);
    expect(await launch(r)).toEqual({ status: 'ready' });
    r.gw.refuse = 'ERR_AUTH_DEVICE_KEY_REQUIRED';
    const id = await capture(r);
    expect(r.outbox.get(id)?.state).toBe('waiting');
    expect((await enrolmentOf(r)).renewal?.reason).toBe('key-required');
    r.gw.refuse = null;
    await enrol(r);
    await settle(r);
    expect(r.gw.commits.map((c) => c.imageId)).toEqual([id]);
  });

  it('a new code for ANOTHER practice: the old practice photo is kept, never sent there, and the GP is told so', async () => {
    const r = await start();
    await enrol(r);
    expect(await launch(r)).toEqual({ status: 'ready' });
    r.gw.refuse = 'ERR_AUTH_DEVICE_REVOKED';
    const id = await capture(r);
    r.gw.refuse = null;
    r.gw.nextFacility = 'F99669-C';
    expect(await enrol(r)).toMatchObject({ enrolled: true, practiceName: 'Totara Clinic' });
    await settle(r);
    // Its own backoff brings it round again: still refused here, before anything leaves the PC.
    r.clock.t += 10 * 60_000;
    r.outbox.kick();
    await settle(r);
    r.outbox.retry(id);
    await settle(r);
    expect(r.gw.commits).toEqual([]);
    const item = r.outbox.get(id);
    expect(item).toMatchObject({ state: 'waiting', facilityId: 'F2N060-E' });
    expect(item?.reason).toMatch(/belongs to the practice this PC was enrolled for before/);
    const notice = r.notices.find((n) => /will not be sent there/.test(n.message));
    expect(notice?.message).toBe(
      '1 photo waiting to be sent belongs to Kauri Health, not the practice this PC is now enrolled for, so it will not be sent there. It stays on this PC: enrol the PC for Kauri Health again to send it, or call ClinicPro support.',
    );
    // The enrolment itself is fine: nothing is marked for renewal.
    expect(await enrolmentOf(r)).toMatchObject({ enrolled: true, practiceName: 'Totara Clinic' });
    expect((await enrolmentOf(r)).renewal).toBeUndefined();

    // Enrolled for its own practice again: it goes, once.
    r.gw.nextFacility = 'F2N060-E';
    await enrol(r);
    await settle(r);
    expect(r.gw.commits.map((c) => c.imageId)).toEqual([id]);
  });
});
