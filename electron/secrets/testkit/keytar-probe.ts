/**
 * Exercises KeytarSecretStore against the real OS credential store and prints one JSON line.
 * Run by secrets.test.ts inside `dbus-run-session` with an unlocked gnome-keyring.
 * Usage: tsx electron/secrets/testkit/keytar-probe.ts <service> [device-credential]
 *   (no mode)            set, overwrite, read, delete one secret
 *   device-credential    save a device credential with its DPoP key as enrolment does, read it back, sign with it
 */
import { createDpopProof, exportDpopKey, generateDpopKey, importDpopKey } from '../../gateway-client/dpop';
import { saveDeviceCredentials } from '../device-credentials';
import { deviceCredentialsFrom, forgetDeviceCredentials } from './device-credentials';
import { KeytarSecretStore, loadKeytar } from '../keytar-store';
import { SECRET_ACCOUNTS } from '../store';

const service = process.argv[2];
const mode = process.argv[3];
if (!service) throw new Error('usage: keytar-probe <service> [device-credential]');
const loaded = loadKeytar();
if (!loaded.ok) throw new Error(loaded.reason);
const store = new KeytarSecretStore(loaded.keytar, service);

if (mode === 'device-credential') {
  const key = generateDpopKey();
  const creds = { deviceId: 'dev_abcdefghijklmnopqrstuv', deviceSecret: 'S'.repeat(43), dpopKey: exportDpopKey(key) };
  await saveDeviceCredentials(store, creds);
  const stored = (await store.get(SECRET_ACCOUNTS.deviceCredential)) ?? '';
  const loaded = await deviceCredentialsFrom(store)();
  const back = importDpopKey(loaded?.dpopKey ?? '');
  const proof = createDpopProof(back, { method: 'GET', url: 'https://gw.example.org/v1/devices/me' });
  const forgotten = await forgetDeviceCredentials(store);
  const afterForget = await deviceCredentialsFrom(store)();
  process.stdout.write(
    `${JSON.stringify({
      sameCredential: JSON.stringify(loaded) === JSON.stringify(creds),
      samePublicKey: JSON.stringify(back.publicJwk) === JSON.stringify(key.publicJwk),
      storedBytes: Buffer.byteLength(stored),
      proofParts: proof.split('.').length,
      forgotten,
      afterForget,
    })}\n`,
  );
} else {
  const before = await store.get('probe');
  await store.set('probe', 'first');
  await store.set('probe', 'second value ✓');
  const afterSet = await store.get('probe');
  const deleted = await store.delete('probe');
  const afterDelete = await store.get('probe');
  const deletedAgain = await store.delete('probe');
  process.stdout.write(`${JSON.stringify({ before, afterSet, deleted, afterDelete, deletedAgain })}\n`);
}
