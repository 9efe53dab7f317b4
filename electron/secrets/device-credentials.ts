/** The device credential and its DPoP key in ONE entry, written at once (a crash never splits them; README.md). */
import { SECRET_ACCOUNTS, type SecretStore } from './store';

export interface StoredDeviceCredentials {
  deviceId: string;
  deviceSecret: string;
  /** exportDpopKey's JSON; absent for a device enrolled before keys existed. */
  dpopKey?: string;
}

const DEVICE_ID = /^dev_[A-Za-z0-9_-]{22}$/;
const B64URL_256 = /^[A-Za-z0-9_-]{43}$/;
/** A stored key is ~200 characters; anything much longer is not one of ours. */
const MAX_KEY_CHARS = 1000;

/** The shape of a private EC P-256 JWK (the gateway client does the real import). */
function isStoredKey(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > MAX_KEY_CHARS) return false;
  try {
    const jwk = JSON.parse(value) as Record<string, unknown> | null;
    return (
      typeof jwk === 'object' &&
      jwk !== null &&
      jwk.kty === 'EC' &&
      jwk.crv === 'P-256' &&
      [jwk.x, jwk.y, jwk.d].every((m) => typeof m === 'string' && B64URL_256.test(m))
    );
  } catch {
    return false;
  }
}

function isCredentials(v: Partial<StoredDeviceCredentials>): v is StoredDeviceCredentials {
  return (
    typeof v.deviceId === 'string' &&
    DEVICE_ID.test(v.deviceId) &&
    typeof v.deviceSecret === 'string' &&
    v.deviceSecret.length >= 32 &&
    v.deviceSecret.length <= 128 &&
    (v.dpopKey === undefined || isStoredKey(v.dpopKey))
  );
}

/** The entry's own fields only: nothing else is stored or read back. */
function entryOf(v: StoredDeviceCredentials): StoredDeviceCredentials {
  return { deviceId: v.deviceId, deviceSecret: v.deviceSecret, ...(v.dpopKey === undefined ? {} : { dpopKey: v.dpopKey }) };
}

export async function saveDeviceCredentials(secrets: SecretStore, creds: StoredDeviceCredentials): Promise<void> {
  if (!isCredentials(creds)) {
    throw new TypeError('Expected a device credential from enrolment (and, if given, a private EC P-256 device key) but received something else');
  }
  await secrets.set(SECRET_ACCOUNTS.deviceCredential, JSON.stringify(entryOf(creds)));
}

export type DeviceCredentialsRead = { state: 'ok'; credentials: StoredDeviceCredentials } | { state: 'missing' } | { state: 'damaged' };

/** Tells "never enrolled" (missing) from "enrolled, but damaged" (must enrol again); never throws for a damaged entry. */
export async function readDeviceCredentials(secrets: SecretStore): Promise<DeviceCredentialsRead> {
  const raw = await secrets.get(SECRET_ACCOUNTS.deviceCredential);
  if (raw === null) return { state: 'missing' };
  try {
    const v = JSON.parse(raw) as Partial<StoredDeviceCredentials> | null;
    if (typeof v === 'object' && v !== null && isCredentials(v)) return { state: 'ok', credentials: entryOf(v) };
  } catch {
    /* damaged entry */
  }
  return { state: 'damaged' };
}
