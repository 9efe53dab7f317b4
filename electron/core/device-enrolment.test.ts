/**
 * Enrolling this PC, with a scripted gateway, the credential store in memory and the real durable outbox: the
 * credential and a new key go to the store together, the renewal mark is cleared, the address is the one given,
 * photos of this practice that waited for the enrolment are sent, and another practice's photos stay, with a notice.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Notice } from '../../shared/contracts/bridge';
import type { CommitRequest, CommitResponse } from '../../shared/contracts/gateway';
import { AppError } from '../../shared/errors/app-error';
import type { CommitClient } from '../gateway-client/client';
import { openOutbox } from '../outbox/outbox';
import { FakeClock, item, silent, tmp, waitFor } from '../outbox/test-helpers';
import type { Outbox } from '../outbox/types';
import { MemorySecretStore } from '../secrets';
import { loadDeviceCredentials } from '../secrets/testkit/device-credentials';
import { DeviceAccess } from './device-access';
import { DeviceEnrolment, heldMessage } from './device-enrolment';
import { NoticeBoard } from './notices';
import type { GatewayFactory, GatewayPort } from './ports';
import { ConfigCell, DEFAULT_SETTINGS, readConfig } from './settings';
import { MemorySettingsStore } from './test-support';

const OLD = { deviceId: `dev_${'0'.repeat(22)}`, deviceName: 'Room 3', practiceName: 'Totara Clinic', facilityId: 'F9Z999-X', gatewayUrl: 'http://127.0.0.1:9' };

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(): Promise<{ enrolment: DeviceEnrolment; outbox: Outbox; config: ConfigCell; store: MemorySettingsStore; secrets: MemorySecretStore; notices: Notice[]; sent: string[]; refusing: { on: boolean } }> {
  const secrets = new MemorySecretStore();
  const store = new MemorySettingsStore();
  const config = new ConfigCell({ settings: { ...DEFAULT_SETTINGS, gatewayUrl: OLD.gatewayUrl }, enrolment: OLD, renewal: { reason: 'revoked', at: 1 } }, store);
  const refusing = { on: true };
  const sent: string[] = [];
  const commit: CommitClient = {
    commit: async (req: CommitRequest): Promise<CommitResponse> => {
      if (refusing.on) throw new AppError('ERR_NOT_ENROLLED');
      sent.push(req.imageId);
      return { imageId: req.imageId, media: { resourceType: 'Media', id: `m-${sent.length}` }, committedAt: '2026-05-01T09:00:00.000Z', correlationId: 'c', replayed: false };
    },
  };
  const outbox = await openOutbox({ dir: tmp(), secrets, gateway: commit, clock: new FakeClock(), random: () => 0.5, logger: silent });
  cleanup.push(async () => {
    await outbox.stop();
    await outbox.close();
  });
  const factory: GatewayFactory = () =>
    ({ enrol: async (req) => ({ deviceId: `dev_${'1'.repeat(22)}`, deviceSecret: 'n'.repeat(43), facilityId: 'F2N060-E', practiceName: `Kauri Health (${req.deviceName})` }) }) as GatewayPort;
  const access = new DeviceAccess({ config, secrets, gateway: factory, clock: { now: () => 0 }, log: silent, track: (p) => p, changed: () => undefined });
  const notices: Notice[] = [];
  const board = new NoticeBoard(() => 'now', (n) => notices.push(n));
  const enrolment = new DeviceEnrolment({ config, access, secrets, gateway: factory, outbox, notices: board, log: silent, changed: () => undefined, iso: (ms) => new Date(ms).toISOString() });
  return { enrolment, outbox, config, store, secrets, notices, sent, refusing };
}

describe('DeviceEnrolment', () => {
  it('shows a PC whose enrolment was withdrawn as not enrolled, with the plain reason', async () => {
    const { enrolment } = await setup();
    expect(enrolment.view()).toMatchObject({ enrolled: false, practiceName: 'Totara Clinic', renewal: { reason: 'revoked', since: '1970-01-01T00:00:00.001Z' } });
    expect(enrolment.view().renewal?.message).toMatch(/access was withdrawn/);
  });

  it('stores the new credential with a key, clears the renewal, sends what waited for it and holds the other practice’s photo', async () => {
    const { enrolment, outbox, config, store, secrets, notices, sent, refusing } = await setup();
    const own = await item({ facilityId: 'F2N060-E' });
    const other = await item({ facilityId: 'F9Z999-X' }, 2);
    await outbox.enqueue(own);
    await outbox.enqueue(other);
    outbox.start();
    await waitFor(() => outbox.list().every((i) => i.state === 'waiting'));
    refusing.on = false;
    const view = await enrolment.enrol({ gatewayUrl: 'http://127.0.0.1:47700//', enrolmentCode: 'ABCD-EFGH-JKLM', deviceName: 'Room 4' });
    expect(view).toEqual({ enrolled: true, practiceName: 'Kauri Health (Room 4)', deviceName: 'Room 4', gatewayUrl: 'http://127.0.0.1:47700' });
    const saved = readConfig(await store.load());
    expect(saved.renewal).toBeNull();
    expect(saved.settings.gatewayUrl).toBe('http://127.0.0.1:47700');
    expect(config.current.enrolment?.facilityId).toBe('F2N060-E');
    const cred = await loadDeviceCredentials(secrets);
    expect(cred?.deviceId).toBe(`dev_${'1'.repeat(22)}`);
    expect(cred?.dpopKey).toBeDefined();
    await waitFor(() => sent.length === 1);
    expect(sent).toEqual([own.imageId]);
    expect(outbox.get(other.imageId)?.state).toBe('waiting');
    expect(notices.map((n) => n.message)).toEqual([heldMessage(1, 'Totara Clinic')]);
    expect(notices[0]?.message).toMatch(/^1 photo waiting to be sent belongs to Totara Clinic/);
  });
});
