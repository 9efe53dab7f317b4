import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadKeytar } from './keytar-store';
import { MemorySecretStore } from './store';

describe('MemorySecretStore', () => {
  it('stores, overwrites and deletes a secret', async () => {
    const s = new MemorySecretStore();
    expect(await s.get('a')).toBeNull();
    await s.set('a', 'one');
    await s.set('a', 'two');
    expect(await s.get('a')).toBe('two');
    expect(await s.delete('a')).toBe(true);
    expect(await s.delete('a')).toBe(false);
    expect(await s.get('a')).toBeNull();
  });

  it('refuses an empty account name', async () => {
    const s = new MemorySecretStore();
    await expect(s.set('', 'x')).rejects.toThrow(/account name/);
  });
});

function hasDbusRunSession(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v dbus-run-session && command -v gnome-keyring-daemon'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const dbus = hasDbusRunSession();
const keytar = loadKeytar();
if (!dbus) console.warn('SKIPPED real keytar test: dbus-run-session or gnome-keyring-daemon is not installed (apt-get install dbus gnome-keyring).');
else if (!keytar.ok) console.warn(`SKIPPED real keytar test: ${keytar.reason} (apt-get install libsecret-1-dev, then npm ci).`);

/** Runs keytar-probe.ts in its own D-Bus session with an unlocked gnome-keyring; its JSON answer. */
function probe(...args: string[]): unknown {
  const script = fileURLToPath(new URL('./testkit/keytar-probe.ts', import.meta.url));
  const service = `ClinicPro Images test ${randomUUID()}`;
  const r = spawnSync(
    'dbus-run-session',
    ['--', 'sh', '-c', 'echo -n pass | gnome-keyring-daemon --unlock --components=secrets >/dev/null; exec npx tsx "$0" "$@"', script, service, ...args],
    { encoding: 'utf8', timeout: 60_000 },
  );
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '');
}

describe.skipIf(!dbus || !keytar.ok)('KeytarSecretStore against the real OS credential store (gnome-keyring over D-Bus)', () => {
  it('stores, overwrites, reads back and deletes a secret', () => {
    expect(probe()).toEqual({ before: null, afterSet: 'second value ✓', deleted: true, afterDelete: null, deletedAgain: false });
  });

  it('keeps the device secret and its private DPoP key together, reads them back able to sign, and forgets both', () => {
    const r = probe('device-credential') as { storedBytes: number };
    expect(r).toEqual({ sameCredential: true, samePublicKey: true, storedBytes: expect.any(Number), proofParts: 3, forgotten: true, afterForget: null });
    // Windows Credential Manager keeps at most 2,560 bytes per credential.
    expect(r.storedBytes).toBeLessThan(2560);
  });
});
