/**
 * The operator CLI's commands on a real (in-memory SQLite) store: facilities, device listing by facility and
 * whether each device is bound to a key, audit filters (facility, outcome, action) with the limit applied after filtering, and refused arguments
 * (exit 2, usage on stderr, nothing written).
 */
import { exportJWK, generateKeyPair } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { Auditor } from '../audit';
import { DeviceService } from '../auth/devices';
import { dpopThumbprint } from '../auth/dpop';
import { loadConfig } from '../config';
import { cryptoRandom } from '../deps';
import { ManualClock } from '../deps.testkit';
import { SqliteStore } from '../store/sqlite';
import { runAdmin } from './commands';

const config = loadConfig({ GATEWAY_DATA_DIR: '/nonexistent-not-used' });
let store: SqliteStore;
let clock: ManualClock;
let out: string[];
let err: string[];

const admin = (...argv: string[]) => {
  out = [];
  err = [];
  return runAdmin(argv, { store, clock, random: cryptoRandom, config, out: (l) => out.push(l), err: (l) => err.push(l) });
};

async function enrolDevice(facility: string, practice: string, name: string): Promise<string> {
  const devices = new DeviceService(store, clock, cryptoRandom, config.rateLimit, new Auditor(store, clock, cryptoRandom));
  expect(await admin('enrol-code', '--facility', facility, '--practice', practice)).toBe(0);
  const code = out[0] ?? '';
  clock.advance(1000);
  return (await devices.enrol({ enrolmentCode: code, deviceName: name }, '127.0.0.1', 'corr-0001-test')).deviceId;
}

beforeEach(() => {
  store = new SqliteStore(':memory:');
  clock = new ManualClock(Date.parse('2026-11-20T00:00:00Z'));
});

describe('facilities', () => {
  it('says none are known on an empty store', async () => {
    expect(await admin('facilities')).toBe(0);
    expect(out.join('\n')).toMatch(/No facilities known yet/);
  });

  it('lists each facility with its practice, active and revoked devices and codes issued', async () => {
    const d1 = await enrolDevice('F2N060-E', 'Kauri Health', 'Room 1');
    await enrolDevice('F2N060-E', 'Kauri Health', 'Room 2');
    await enrolDevice('F99669-C', 'Rimu Medical', 'Nurse room');
    expect(await admin('enrol-code', '--facility', 'F12345-A', '--practice', 'Totara Clinic')).toBe(0);
    expect(await admin('devices', 'revoke', d1)).toBe(0);

    expect(await admin('facilities', '--json')).toBe(0);
    const list = JSON.parse(out.join('\n')) as { facilityId: string; practiceNames: string[]; activeDevices: number; revokedDevices: number; codesIssued: number }[];
    expect(list.map((f) => [f.facilityId, f.practiceNames, f.activeDevices, f.revokedDevices, f.codesIssued])).toEqual([
      ['F12345-A', [], 0, 0, 1],
      ['F2N060-E', ['Kauri Health'], 1, 1, 2],
      ['F99669-C', ['Rimu Medical'], 1, 0, 1],
    ]);
    expect(await admin('facilities')).toBe(0);
    expect(out.find((l) => l.startsWith('F2N060-E'))).toMatch(/1 active\s+1 revoked\s+2 codes issued.*Kauri Health/);
  });
});

describe('devices list --facility', () => {
  it('lists only that facility’s devices; a malformed facility is refused', async () => {
    await enrolDevice('F2N060-E', 'Kauri Health', 'Room 1');
    await enrolDevice('F99669-C', 'Rimu Medical', 'Nurse room');
    expect(await admin('devices', 'list', '--facility', 'F99669-C')).toBe(0);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/F99669-C.*Nurse room \(Rimu Medical\)/);
    expect(await admin('devices', 'list', '--facility', 'F2N060-E; DROP')).toBe(2);
    expect(err[0]).toMatch(/--facility must be an mt-facilityid/);
  });
});

describe('devices list: bound to a device key or not', () => {
  it('says which devices prove a key (DPoP) and which were enrolled without one', async () => {
    const plain = await enrolDevice('F2N060-E', 'Kauri Health', 'Old PC');
    const devices = new DeviceService(store, clock, cryptoRandom, config.rateLimit, new Auditor(store, clock, cryptoRandom));
    expect(await admin('enrol-code', '--facility', 'F2N060-E', '--practice', 'Kauri Health')).toBe(0);
    const { kty, crv, x, y } = await exportJWK((await generateKeyPair('ES256')).publicKey);
    const publicJwk = { kty: kty as 'EC', crv: crv as 'P-256', x: x as string, y: y as string };
    clock.advance(1000);
    const keyed = (await devices.enrol({ enrolmentCode: out[0] ?? '', deviceName: 'New PC', dpopJwk: publicJwk }, '127.0.0.1', 'corr-0002-test')).deviceId;

    expect(await admin('devices', 'list')).toBe(0);
    expect(out.find((l) => l.startsWith(plain))).toMatch(/active\s+no key\s+enrolled .* Old PC/);
    expect(out.find((l) => l.startsWith(keyed))).toMatch(/active\s+key\s+enrolled .* New PC/);
    expect(await admin('devices', 'list', '--json')).toBe(0);
    const list = JSON.parse(out.join('\n')) as { deviceId: string; keyBound: boolean; dpopJkt?: string; secretHash?: string }[];
    expect(list.map((d) => [d.deviceId, d.keyBound, d.dpopJkt])).toEqual([
      [plain, false, undefined],
      [keyed, true, await dpopThumbprint(publicJwk)],
    ]);
    expect(list.every((d) => d.secretHash === undefined)).toBe(true);
  });
});

describe('audit filters', () => {
  it('filters by facility, action and outcome, newest last, with --limit applied after the filter', async () => {
    const d1 = await enrolDevice('F2N060-E', 'Kauri Health', 'Room 1');
    await enrolDevice('F99669-C', 'Rimu Medical', 'Nurse room');
    const auditor = new Auditor(store, clock, cryptoRandom);
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      await auditor.record({ deviceId: d1, facilityId: 'F2N060-E', action: 'commit', outcome: i % 2 ? 'failed' : 'committed', imageId: `00000000-0000-4000-8000-00000000000${i}`, errorCode: i % 2 ? 'ERR_ALEX_REJECTED' : null, correlationId: `corr-000${i}-test` });
    }
    expect(await admin('audit', '--facility', 'F99669-C', '--json')).toBe(0);
    const other = JSON.parse(out.join('\n')) as { facilityId: string; action: string }[];
    expect(other.length).toBeGreaterThan(0);
    expect(other.every((r) => r.facilityId === 'F99669-C')).toBe(true);

    expect(await admin('audit', '--action', 'commit', '--outcome', 'failed', '--json')).toBe(0);
    const failed = JSON.parse(out.join('\n')) as { imageId: string; errorCode: string }[];
    expect(failed.map((r) => r.imageId)).toEqual(['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000003']);
    expect(failed.every((r) => r.errorCode === 'ERR_ALEX_REJECTED')).toBe(true);

    expect(await admin('audit', '--action', 'commit', '--limit', '2')).toBe(0);
    expect(out).toHaveLength(2);
    expect(out[1]).toMatch(/commit\s+committed.*image 00000000-0000-4000-8000-000000000004/);

    expect(await admin('audit', '--facility', 'F00000-Z')).toBe(0);
    expect(out).toEqual(['No audit records.']);
  });

  it('refuses malformed filters with usage and exit 2, writing nothing', async () => {
    const before = (await store.listAudit({ limit: 1000 })).length;
    for (const args of [
      ['--facility', 'x'],
      ['--outcome', 'FAILED; rm'],
      ['--action', ''],
      ['--device', 'not-a-device'],
      ['--limit', '0'],
      ['--since', 'yesterday'],
      ['--unknown', '1'],
    ]) {
      expect(await admin('audit', ...args), args.join(' ')).toBe(2);
      expect(err.join('\n')).toMatch(/Usage: npm run gateway:admin/);
    }
    expect((await store.listAudit({ limit: 1000 })).length).toBe(before);
  });
});
