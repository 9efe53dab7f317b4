/**
 * This PC's access to the gateway, with a scripted gateway and the credential store in memory: the answers that end
 * an enrolment mark it for renewal (saved), an answer from before a new enrolment is ignored, a damaged credential
 * sends nothing, the client follows settings.gatewayUrl, and another practice's photo is never sent.
 */
import { describe, expect, it } from 'vitest';
import type { CommitRequest } from '../../shared/contracts/gateway';
import { AppError } from '../../shared/errors/app-error';
import type { ErrorCode } from '../../shared/errors/codes';
import type { CommitClient } from '../gateway-client/client';
import { exportDpopKey, generateDpopKey } from '../gateway-client/dpop';
import type { OutboxItemView } from '../outbox/types';
import { MemorySecretStore, saveDeviceCredentials, SECRET_ACCOUNTS } from '../secrets';
import { DeviceAccess } from './device-access';
import type { GatewayFactory, GatewayPort } from './ports';
import { ConfigCell, DEFAULT_SETTINGS, readConfig } from './settings';
import { MemorySettingsStore } from './test-support';
import { silentLog, T0 } from './test-support';

const ENROLLED = { deviceId: 'dev_1', deviceName: 'Room 3', practiceName: 'Kauri Health', facilityId: 'F2N060-E', gatewayUrl: 'http://127.0.0.1:9' };

/** A gateway that refuses every authenticated call with `refuse`, and records which address each client was made for. */
function scripted(): { factory: GatewayFactory; refuse: ErrorCode | null; urls: string[]; commits: string[] } {
  const s = { refuse: null as ErrorCode | null, urls: [] as string[], commits: [] as string[], factory: undefined as unknown as GatewayFactory };
  s.factory = ({ baseUrl, credentials }) => {
    s.urls.push(baseUrl);
    const authed = async (): Promise<void> => {
      if ((await credentials()) === null) throw new AppError('ERR_NOT_ENROLLED');
      if (s.refuse !== null) throw new AppError(s.refuse);
    };
    const port: GatewayPort & CommitClient = {
      enrol: async () => Promise.reject(new Error('not used')),
      verifyLaunch: async () => Promise.reject(new Error('not used')),
      lookupPatientByNhi: async () => Promise.reject(new Error('not used')),
      confirmLookup: async () => Promise.reject(new Error('not used')),
      verifyCommit: async (imageId) => {
        await authed();
        return { imageId, checkedAt: new Date(T0).toISOString() };
      },
      commit: async (req: CommitRequest) => {
        await authed();
        s.commits.push(req.imageId);
        return { imageId: req.imageId, committedAt: new Date(T0).toISOString(), correlationId: 'c', replayed: false };
      },
    };
    return port;
  };
  return s;
}

async function setup(): Promise<{ access: DeviceAccess; gw: ReturnType<typeof scripted>; config: ConfigCell; store: MemorySettingsStore; secrets: MemorySecretStore; changes: { n: number } }> {
  const secrets = new MemorySecretStore();
  await saveDeviceCredentials(secrets, { deviceId: `dev_${'0'.repeat(21)}1`, deviceSecret: 's'.repeat(43), dpopKey: exportDpopKey(generateDpopKey()) });
  const store = new MemorySettingsStore();
  const config = new ConfigCell({ settings: { ...DEFAULT_SETTINGS, gatewayUrl: ENROLLED.gatewayUrl }, enrolment: ENROLLED, renewal: null }, store);
  const gw = scripted();
  const changes = { n: 0 };
  const access = new DeviceAccess({ config, secrets, gateway: gw.factory, clock: { now: () => T0 }, log: silentLog, track: (p) => p, changed: () => void (changes.n += 1) });
  return { access, gw, config, store, secrets, changes };
}

describe('DeviceAccess', () => {
  it('marks the enrolment for renewal when the gateway says the PC is revoked, and saves the mark', async () => {
    const { access, gw, config, store, changes } = await setup();
    gw.refuse = 'ERR_AUTH_DEVICE_REVOKED';
    await expect(access.gateway().verifyCommit('img-1')).rejects.toMatchObject({ code: 'ERR_AUTH_DEVICE_REVOKED' });
    expect(config.current.renewal).toEqual({ reason: 'revoked', at: T0 });
    expect(readConfig(await store.load()).renewal).toEqual({ reason: 'revoked', at: T0 });
    expect(changes.n).toBe(1);
    // Other refusals say nothing about the enrolment.
    gw.refuse = 'ERR_GATEWAY_UNREACHABLE';
    await expect(access.gateway().verifyCommit('img-1')).rejects.toMatchObject({ code: 'ERR_GATEWAY_UNREACHABLE' });
    expect(config.current.renewal?.reason).toBe('revoked');
  });

  it('ignores an answer to a call made before a new enrolment', async () => {
    const { access, gw, config } = await setup();
    gw.refuse = 'ERR_AUTH_DEVICE_UNKNOWN';
    const late = access.gateway().verifyCommit('img-1');
    access.newEnrolment();
    await expect(late).rejects.toMatchObject({ code: 'ERR_AUTH_DEVICE_UNKNOWN' });
    expect(config.current.renewal).toBeNull();
  });

  it('a damaged stored credential sends nothing and asks for a new enrolment', async () => {
    const { access, gw, config, secrets } = await setup();
    await secrets.set(SECRET_ACCOUNTS.deviceCredential, '{not json');
    expect(await access.ready()).toBe(false);
    expect(config.current.renewal?.reason).toBe('credential-unreadable');
    await expect(access.gateway().verifyCommit('img-1')).rejects.toMatchObject({ code: 'ERR_NOT_ENROLLED' });
    expect(gw.commits).toEqual([]);
  });

  it('follows settings.gatewayUrl, and builds a fresh client after an enrolment', async () => {
    const { access, gw, config } = await setup();
    access.gateway();
    access.gateway();
    await config.replace({ ...config.current, settings: { ...config.current.settings, gatewayUrl: 'http://127.0.0.1:10' } });
    access.gateway();
    access.newEnrolment();
    access.gateway();
    expect(gw.urls).toEqual(['http://127.0.0.1:9', 'http://127.0.0.1:10', 'http://127.0.0.1:10']);
  });

  it("never sends a photo of another practice than the one this PC is enrolled for, and says why", async () => {
    const { access, gw } = await setup();
    const items = new Map<string, Pick<OutboxItemView, 'facilityId'>>([
      ['img-own', { facilityId: 'F2N060-E' }],
      ['img-other', { facilityId: 'F9Z999-X' }],
    ]);
    const client = access.commitClient((id) => items.get(id) as OutboxItemView | undefined);
    const req = (imageId: string): CommitRequest => ({ imageId }) as CommitRequest;
    await client.commit(req('img-own'), { correlationId: 'c1' });
    const refused = await client.commit(req('img-other'), { correlationId: 'c2' }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'ERR_NOT_ENROLLED' });
    expect((refused as AppError).message).toMatch(/belongs to the practice this PC was enrolled for before/);
    expect(gw.commits).toEqual(['img-own']);
  });
});
