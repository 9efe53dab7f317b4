/**
 * Enrolment makes a device key (DPoP, RFC 9449), and every later call proves it: the companion core with the real
 * parts (real gateway listening on 127.0.0.1 with GATEWAY_DEVICE_PROOF=required, ALEX sandbox, imaging on a fixture
 * photo, durable outbox, LAN server) on the gateway's injected clock. A PC enrolled before keys existed keeps
 * working where the gateway allows it (if-bound).
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { captureLogger } from '../../test/helpers/capture-logger';
import { afterEach, describe, expect, it } from 'vitest';
import { FACILITY, startHarness, type Harness } from '../../test/gateway/helpers/harness';
import { createGatewayClient } from '../gateway-client/client';
import { importDpopKey } from '../gateway-client/dpop';
import { dpopThumbprint } from '../../test/helpers/dpop-thumbprint';
import { buildLaunchUrl } from '../launch/testkit/launch-url';
import { MemorySecretStore, SECRET_ACCOUNTS } from '../secrets';
import { loadDeviceCredentials } from '../secrets/testkit/device-credentials';
import { DEFAULT_SETTINGS } from './settings';
import { MemorySettingsStore } from './test-support';
import { startCompanion, type RunningCompanion } from './compose';

const FIXTURES = new URL('../../../shared/fixtures/photos/', import.meta.url).pathname;
const PHOTO = 'photo-1600-portrait.png';
/** Windows Credential Manager keeps at most 2,560 bytes per credential. */
const CREDENTIAL_BLOB_MAX = 2560;

let gw: Harness | undefined;
let companion: RunningCompanion | undefined;
const dirs: string[] = [];
let logs: string[] = [];

afterEach(async () => {
  await companion?.close();
  await gw?.close();
  companion = undefined;
  gw = undefined;
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

type Stores = { secrets: MemorySecretStore; settingsStore: MemorySettingsStore };

async function stack(env: Record<string, string>, prepare: (g: Harness, gatewayUrl: string) => Promise<Stores> = async () => ({ secrets: new MemorySecretStore(), settingsStore: new MemorySettingsStore() })) {
  gw = await startHarness({ env });
  const g = gw;
  const gatewayUrl = await g.app.listen({ host: '127.0.0.1', port: 0 });
  const { secrets, settingsStore } = await prepare(g, gatewayUrl);
  const dataDir = await mkdtemp(join(tmpdir(), 'core-enrol-'));
  const inputs = await mkdtemp(join(tmpdir(), 'core-enrol-in-'));
  dirs.push(dataDir, inputs);
  await copyFile(join(FIXTURES, PHOTO), join(inputs, PHOTO));
  logs = [];
  const logger = captureLogger(logs);
  companion = await startCompanion({ dataDir, secrets, settingsStore, logger, clock: { now: () => g.clock.now() }, lan: false, random: () => 0 });
  const c = companion;
  return {
    g,
    gatewayUrl,
    secrets,
    core: c.core,
    photo: join(inputs, PHOTO),
    async launch(nhi: string) {
      const pair = g.sandbox.issueLaunch({ patientId: g.patient(nhi).id, facilityCode: FACILITY });
      return c.core['launch.open']({ url: buildLaunchUrl(pair.context, pair.signature) });
    },
    async addAndCommit(): Promise<string> {
      const added = await c.core['images.addPaths']({ paths: [join(inputs, PHOTO)] });
      const id = added.imageIds[0] as string;
      await c.core['images.updateMetadata']({ ids: [id], patch: { bodySiteCode: '89545001' } });
      expect((await c.core['commit.start']({ targets: { media: true, inboxScan: false }, captionStrip: false })).queued).toEqual([id]);
      for (let i = 0; i < 3; i++) {
        await c.outbox.idle();
        await c.core.idle();
      }
      return id;
    },
  };
}

describe('enrolment with a device key', () => {
  it('keeps the private key next to the device secret; launch → add → commit then pass with proofs (GATEWAY_DEVICE_PROOF=required)', async () => {
    const s = await stack({ GATEWAY_DEVICE_PROOF: 'required' });
    const { code } = await s.g.devices.issueEnrolmentCode(FACILITY, 'Test Practice', 72);
    expect(await s.core['enrolment.enrol']({ gatewayUrl: s.gatewayUrl, enrolmentCode: code, deviceName: 'Consult room 3' })).toMatchObject({ enrolled: true });

    // One entry in the OS credential store: the secret and the private key, written together.
    const raw = (await s.secrets.get(SECRET_ACCOUNTS.deviceCredential)) as string;
    expect(Buffer.byteLength(raw)).toBeLessThan(CREDENTIAL_BLOB_MAX);
    const creds = await loadDeviceCredentials(s.secrets);
    expect(creds?.dpopKey).toBeDefined();
    const key = importDpopKey(creds?.dpopKey as string);
    const device = await s.g.store.getDevice(creds?.deviceId as string);
    expect(device?.dpopJkt).toBe(dpopThumbprint(key.publicJwk));

    expect(await s.launch('ZZZ0016')).toEqual({ status: 'ready' });
    const id = await s.addAndCommit();
    expect((await s.core['app.getState']({})).images[0]?.status).toBe('committed');
    expect(s.g.sandbox.store.listMedia({ identifierValue: id }).map((m) => m.patientId)).toEqual([s.g.patient('ZZZ0016').id]);
    expect((await s.g.store.listAudit({ limit: 1000 })).filter((a) => a.action === 'auth.rejected')).toEqual([]);

    // The secret alone — copied off the PC without its key — gets nowhere.
    const thief = createGatewayClient({ baseUrl: s.gatewayUrl, credentials: async () => ({ deviceId: device?.deviceId as string, deviceSecret: creds?.deviceSecret as string }), logger: pino({ level: 'silent' }) });
    await expect(thief.me()).rejects.toMatchObject({ code: 'ERR_AUTH_PROOF_MISSING', status: 401 });
    // Neither the secret nor the key is ever logged.
    const logText = logs.join('');
    for (const secret of [creds?.deviceSecret as string, JSON.parse(creds?.dpopKey as string).d as string]) expect(logText).not.toContain(secret);
  });

  it('enrolling again makes a new key and replaces the secret and the key together', async () => {
    const s = await stack({ GATEWAY_DEVICE_PROOF: 'required' });
    const stored: string[] = [];
    for (const name of ['Consult room 3', 'Consult room 3 (again)']) {
      const { code } = await s.g.devices.issueEnrolmentCode(FACILITY, 'Test Practice', 72);
      await s.core['enrolment.enrol']({ gatewayUrl: s.gatewayUrl, enrolmentCode: code, deviceName: name });
      stored.push((await s.secrets.get(SECRET_ACCOUNTS.deviceCredential)) as string);
    }
    const [first, second] = stored.map((raw) => JSON.parse(raw) as { deviceId: string; dpopKey: string });
    expect(second?.deviceId).not.toBe(first?.deviceId);
    const jkt = async (deviceId: string | undefined) => (await s.g.store.getDevice(deviceId as string))?.dpopJkt;
    expect(await jkt(first?.deviceId)).toBe(dpopThumbprint(importDpopKey(first?.dpopKey as string).publicJwk));
    expect(await jkt(second?.deviceId)).toBe(dpopThumbprint(importDpopKey(second?.dpopKey as string).publicJwk));
    expect(await jkt(second?.deviceId)).not.toBe(await jkt(first?.deviceId));
    expect((await loadDeviceCredentials(s.secrets))?.deviceId).toBe(second?.deviceId);
    expect(await s.launch('ZZZ0016')).toEqual({ status: 'ready' });
  });
});

describe('a PC enrolled before device keys existed', () => {
  /** A device enrolled without a key, stored as an earlier version of the companion left it. */
  const legacyPc = async (g: Harness, gatewayUrl: string): Promise<Stores> => {
    const { code } = await g.devices.issueEnrolmentCode(FACILITY, 'Test Practice', 72);
    const legacy = await g.devices.enrol({ enrolmentCode: code, deviceName: 'Old PC' }, '127.0.0.1', 'corr-legacy-pc');
    const secrets = new MemorySecretStore();
    await secrets.set(SECRET_ACCOUNTS.deviceCredential, JSON.stringify({ deviceId: legacy.deviceId, deviceSecret: legacy.deviceSecret }));
    const enrolment = { deviceId: legacy.deviceId, deviceName: 'Old PC', practiceName: legacy.practiceName, facilityId: legacy.facilityId, gatewayUrl };
    return { secrets, settingsStore: new MemorySettingsStore({ settings: { ...DEFAULT_SETTINGS, gatewayUrl }, enrolment }) };
  };

  it('has no stored key and keeps working without a proof: launch → add → commit (if-bound)', async () => {
    const s = await stack({}, legacyPc);
    const creds = await loadDeviceCredentials(s.secrets);
    expect(creds?.dpopKey).toBeUndefined();
    expect((await s.g.store.getDevice(creds?.deviceId as string))?.dpopJkt).toBeUndefined();
    expect(await s.launch('ZZZ0016')).toEqual({ status: 'ready' });
    const id = await s.addAndCommit();
    expect((await s.core['app.getState']({})).images[0]?.status).toBe('committed');
    expect(s.g.sandbox.store.listMedia({ identifierValue: id })).toHaveLength(1);
  });

  it('is told plainly to enrol again once the gateway requires keys', async () => {
    const s = await stack({ GATEWAY_DEVICE_PROOF: 'required' }, legacyPc);
    expect(await s.launch('ZZZ0016')).toMatchObject({
      status: 'error',
      error: { code: 'ERR_AUTH_DEVICE_KEY_REQUIRED', action: 'enrol', message: 'This PC was enrolled without a security key, which is now required. Ask practice IT to enrol it again.' },
    });
    // The desktop shows the enrolment screen, saying why.
    expect((await s.core['app.getState']({})).enrolment).toMatchObject({ enrolled: false, deviceName: 'Old PC', renewal: { reason: 'key-required' } });
    // Enrolling again (with a key) brings it back.
    const { code } = await s.g.devices.issueEnrolmentCode(FACILITY, 'Test Practice', 72);
    await s.core['enrolment.enrol']({ gatewayUrl: s.gatewayUrl, enrolmentCode: code, deviceName: 'Old PC' });
    expect((await s.core['app.getState']({})).enrolment).toEqual({ enrolled: true, practiceName: 'Test Practice', deviceName: 'Old PC', gatewayUrl: s.gatewayUrl });
    expect(await s.launch('ZZZ0016')).toEqual({ status: 'ready' });
  });
});

describe('a PC whose device the operator revoked', () => {
  it('shows the enrolment screen at its next call, enrols with a new code, and the photo queued meanwhile reaches Medtech exactly once', async () => {
    const s = await stack({ GATEWAY_DEVICE_PROOF: 'required' });
    const first = await s.g.devices.issueEnrolmentCode(FACILITY, 'Test Practice', 72);
    await s.core['enrolment.enrol']({ gatewayUrl: s.gatewayUrl, enrolmentCode: first.code, deviceName: 'Consult room 3' });
    const oldDevice = (await loadDeviceCredentials(s.secrets))?.deviceId as string;
    expect(await s.launch('ZZZ0016')).toEqual({ status: 'ready' });

    // The practice's ClinicPro administrator withdraws this PC (what `devices revoke <deviceId>` does).
    expect(await s.g.store.revokeDevice(oldDevice, s.g.clock.now())).toBe(true);
    const id = await s.addAndCommit();
    let state = await s.core['app.getState']({});
    expect(state.enrolment).toMatchObject({ enrolled: false, practiceName: 'Test Practice', renewal: { reason: 'revoked' } });
    expect(state.enrolment.renewal?.message).toContain("access was withdrawn by your practice's ClinicPro administrator");
    expect(state.outbox.find((o) => o.imageId === id)).toMatchObject({ status: 'waiting', error: { code: 'ERR_AUTH_DEVICE_REVOKED' } });
    expect(s.g.sandbox.store.listMedia({ identifierValue: id })).toEqual([]);

    // A new code: the credential and key are replaced; the photo is offered again with the new device.
    const second = await s.g.devices.issueEnrolmentCode(FACILITY, 'Test Practice', 72);
    await s.core['enrolment.enrol']({ gatewayUrl: s.gatewayUrl, enrolmentCode: second.code, deviceName: 'Consult room 3' });
    const newCreds = await loadDeviceCredentials(s.secrets);
    expect(newCreds?.deviceId).not.toBe(oldDevice);
    expect((await s.g.store.getDevice(newCreds?.deviceId as string))?.dpopJkt).toBe(dpopThumbprint(importDpopKey(newCreds?.dpopKey as string).publicJwk));
    for (let i = 0; i < 3; i++) {
      await companion?.outbox.idle();
      await s.core.idle();
    }
    state = await s.core['app.getState']({});
    expect(state.enrolment).toEqual({ enrolled: true, practiceName: 'Test Practice', deviceName: 'Consult room 3', gatewayUrl: s.gatewayUrl });
    // The launch grant belonged to the withdrawn device: the photo waits for the patient to be opened again.
    expect(state.outbox.find((o) => o.imageId === id)).toMatchObject({ status: 'waiting', error: { code: 'ERR_LAUNCH_GRANT_INVALID' } });

    expect(await s.launch('ZZZ0016')).toEqual({ status: 'ready' });
    for (let i = 0; i < 3; i++) {
      await companion?.outbox.idle();
      await s.core.idle();
    }
    state = await s.core['app.getState']({});
    expect(state.images.find((i) => i.id === id)?.status).toBe('committed');
    expect(s.g.sandbox.store.listMedia({ identifierValue: id }).map((m) => m.patientId)).toEqual([s.g.patient('ZZZ0016').id]);
    const audit = await s.g.store.listAudit({ limit: 1000 });
    expect(audit.filter((a) => a.action === 'commit' && a.imageId === id).map((a) => a.deviceId)).toEqual([newCreds?.deviceId]);
  });
});
