/**
 * The enrolled device's credential ({deviceId, deviceSecret}) in the SecretStore, and the `credentials`
 * callback the gateway client takes. A damaged entry reads as "not enrolled" rather than crashing.
 */
import type { SecretStore } from './index';
import { SECRET_ACCOUNTS } from './index';

export interface StoredDeviceCredentials {
  deviceId: string;
  deviceSecret: string;
}

const DEVICE_ID = /^dev_[A-Za-z0-9_-]{22}$/;

export async function saveDeviceCredentials(secrets: SecretStore, creds: StoredDeviceCredentials): Promise<void> {
  if (!DEVICE_ID.test(creds.deviceId) || typeof creds.deviceSecret !== 'string' || creds.deviceSecret.length < 32 || creds.deviceSecret.length > 128) {
    throw new TypeError('Expected a device credential from enrolment but received something else');
  }
  await secrets.set(SECRET_ACCOUNTS.deviceCredential, JSON.stringify({ deviceId: creds.deviceId, deviceSecret: creds.deviceSecret }));
}

export async function loadDeviceCredentials(secrets: SecretStore): Promise<StoredDeviceCredentials | null> {
  const raw = await secrets.get(SECRET_ACCOUNTS.deviceCredential);
  if (raw === null) return null;
  try {
    const v = JSON.parse(raw) as Partial<StoredDeviceCredentials>;
    if (typeof v.deviceId === 'string' && DEVICE_ID.test(v.deviceId) && typeof v.deviceSecret === 'string' && v.deviceSecret.length >= 32) {
      return { deviceId: v.deviceId, deviceSecret: v.deviceSecret };
    }
  } catch {
    /* damaged entry: treated as not enrolled */
  }
  return null;
}

/** Removes the credential (device revoked or re-enrolling). */
export async function forgetDeviceCredentials(secrets: SecretStore): Promise<boolean> {
  return secrets.delete(SECRET_ACCOUNTS.deviceCredential);
}

/** For createGatewayClient({ credentials }). */
export function deviceCredentialsFrom(secrets: SecretStore): () => Promise<StoredDeviceCredentials | null> {
  return () => loadDeviceCredentials(secrets);
}
