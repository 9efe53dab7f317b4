import { describe, expect, it } from 'vitest';
import { deviceCredentialsFrom, forgetDeviceCredentials, saveDeviceCredentials } from './device-credentials';
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

  it('refuses to save something that is not an enrolment answer, and stores nothing', async () => {
    const s = new MemorySecretStore();
    await expect(saveDeviceCredentials(s, { deviceId: 'pc-3', deviceSecret: 'x'.repeat(43) })).rejects.toThrow(TypeError);
    await expect(saveDeviceCredentials(s, { ...creds, deviceSecret: 'short' })).rejects.toThrow(TypeError);
    expect(await s.get(SECRET_ACCOUNTS.deviceCredential)).toBeNull();
  });
});
