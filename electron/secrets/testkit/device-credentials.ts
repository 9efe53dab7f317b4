/** Test helpers over the device credential entry: read it back as the gateway client would, or forget it. */
import { readDeviceCredentials, type StoredDeviceCredentials } from '../device-credentials';
import { SECRET_ACCOUNTS, type SecretStore } from '../store';

/** A damaged entry reads as null (not enrolled), as the core treats it. */
export async function loadDeviceCredentials(secrets: SecretStore): Promise<StoredDeviceCredentials | null> {
  const read = await readDeviceCredentials(secrets);
  return read.state === 'ok' ? read.credentials : null;
}

export async function forgetDeviceCredentials(secrets: SecretStore): Promise<boolean> {
  return secrets.delete(SECRET_ACCOUNTS.deviceCredential);
}

/** The `credentials` callback for createGatewayClient. */
export function deviceCredentialsFrom(secrets: SecretStore): () => Promise<StoredDeviceCredentials | null> {
  return () => loadDeviceCredentials(secrets);
}
