/**
 * Exercises KeytarSecretStore against the real OS credential store and prints one JSON line.
 * Run by secrets.test.ts inside `dbus-run-session` with an unlocked gnome-keyring.
 * Usage: tsx electron/secrets/keytar-probe.ts <service>
 */
import { KeytarSecretStore } from './index';

const service = process.argv[2];
if (!service) throw new Error('usage: keytar-probe <service>');
const store = new KeytarSecretStore(service);
const before = await store.get('probe');
await store.set('probe', 'first');
await store.set('probe', 'second value ✓');
const afterSet = await store.get('probe');
const deleted = await store.delete('probe');
const afterDelete = await store.get('probe');
const deletedAgain = await store.delete('probe');
process.stdout.write(`${JSON.stringify({ before, afterSet, deleted, afterDelete, deletedAgain })}\n`);
