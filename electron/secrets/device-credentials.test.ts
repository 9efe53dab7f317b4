import { describe, expect, it } from 'vitest';
import { exportDpopKey, generateDpopKey } from '../gateway-client/dpop';
import { readDeviceCredentials, saveDeviceCredentials } from './device-credentials';
import { deviceCredentialsFrom, forgetDeviceCredentials } from './testkit/device-credentials';
import { MemorySecretStore, SECRET_ACCOUNTS } from './index';

const creds = { deviceId: 'dev_abcdefghijklmnopqrstuv', deviceSecret: 'x'.repeat(43) };

describe('device credentials in the SecretStore', () => {
  it('saves, loads through the gateway-client callback, and forgets', async () => {
    const s = new MemorySecretStore();
    const get = deviceCredentialsFrom(s);
    expect(await get()).toBeNull();
    await saveDeviceCredentials(s, creds);
    expect(await get()).toEqual(creds);
    expect(await forgetDeviceCredentials(s)).toBe(true);
    expect(await get()).toBeNull();
  });

  it('a damaged entry reads as not enrolled', async () => {
    const s = new MemorySecretStore();
    for (const bad of ['{', '{"deviceId":"dev_x","deviceSecret":"short"}', '"text"', 'null']) {
      await s.set(SECRET_ACCOUNTS.deviceCredential, bad);
      expect(await deviceCredentialsFrom(s)()).toBeNull();
    }
  });

  it('tells a missing entry (never enrolled) from a damaged one (enrolled, must enrol again)', async () => {
    const s = new MemorySecretStore();
    expect(await readDeviceCredentials(s)).toEqual({ state: 'missing' });
    for (const bad of ['{', '', '{"deviceId":"dev_x","deviceSecret":"short"}', JSON.stringify({ ...creds, dpopKey: '{"kty":"RSA"}' })]) {
      await s.set(SECRET_ACCOUNTS.deviceCredential, bad);
      expect(await readDeviceCredentials(s)).toEqual({ state: 'damaged' });
    }
    await saveDeviceCredentials(s, creds);
    expect(await readDeviceCredentials(s)).toEqual({ state: 'ok', credentials: creds });
  });

  it('refuses to save something that is not an enrolment answer, and stores nothing', async () => {
    const s = new MemorySecretStore();
    await expect(saveDeviceCredentials(s, { deviceId: 'pc-3', deviceSecret: 'x'.repeat(43) })).rejects.toThrow(TypeError);
    await expect(saveDeviceCredentials(s, { ...creds, deviceSecret: 'short' })).rejects.toThrow(TypeError);
    expect(await s.get(SECRET_ACCOUNTS.deviceCredential)).toBeNull();
  });

  it('keeps the private DPoP key in the same entry as the secret, and reads an entry without one as a device enrolled before keys', async () => {
    const s = new MemorySecretStore();
    const key = generateDpopKey();
    await saveDeviceCredentials(s, { ...creds, dpopKey: exportDpopKey(key) });
    expect(await deviceCredentialsFrom(s)()).toEqual({ ...creds, dpopKey: exportDpopKey(key) });
    expect(JSON.parse((await s.get(SECRET_ACCOUNTS.deviceCredential)) ?? '{}')).toEqual({ ...creds, dpopKey: exportDpopKey(key) });
    await saveDeviceCredentials(s, creds);
    expect(await deviceCredentialsFrom(s)()).toEqual(creds);
    expect(await forgetDeviceCredentials(s)).toBe(true);
    expect(await s.get(SECRET_ACCOUNTS.deviceCredential)).toBeNull();
  });

  it('a damaged key reads as not enrolled (the PC must enrol again), and only a private EC P-256 key is saved', async () => {
    const s = new MemorySecretStore();
    const good = JSON.parse(exportDpopKey(generateDpopKey())) as Record<string, string>;
    const { d: _d, ...publicOnly } = good;
    const bad = ['{', 'null', '42', JSON.stringify(publicOnly), JSON.stringify({ ...good, crv: 'P-384' }), JSON.stringify({ ...good, d: 'short' }), JSON.stringify({ ...good, pad: 'x'.repeat(1000) })];
    for (const dpopKey of bad) {
      await s.set(SECRET_ACCOUNTS.deviceCredential, JSON.stringify({ ...creds, dpopKey }));
      expect(await deviceCredentialsFrom(s)(), dpopKey.slice(0, 40)).toBeNull();
      await expect(saveDeviceCredentials(new MemorySecretStore(), { ...creds, dpopKey })).rejects.toThrow(TypeError);
    }
    await s.set(SECRET_ACCOUNTS.deviceCredential, JSON.stringify({ ...creds, dpopKey: good }));
    expect(await deviceCredentialsFrom(s)()).toBeNull();
  });
});
