import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEVELOPMENT_SECRETS_WARNING, DevelopmentOnlyFileSecretStore } from './dev-file-store';
import { KeytarSecretStore, loadKeytar, type KeytarApi } from './keytar-store';
import { openSecretStore, SecretStoreUnavailableError } from './open-store';

/** A MOCK keytar (an in-memory stand-in for the OS credential store) to see which store openSecretStore picks. */
function mockKeytar(): KeytarApi & { calls: string[] } {
  const values = new Map<string, string>();
  const calls: string[] = [];
  return {
    calls,
    async getPassword(service, account) {
      calls.push(`get ${service}/${account}`);
      return values.get(`${service}/${account}`) ?? null;
    },
    async setPassword(service, account, password) {
      calls.push(`set ${service}/${account}`);
      values.set(`${service}/${account}`, password);
    },
    async deletePassword(service, account) {
      calls.push(`delete ${service}/${account}`);
      return values.delete(`${service}/${account}`);
    },
  };
}

const missing = () => ({ ok: false as const, reason: 'keytar is not installed (its native build needs libsecret-1-dev on Linux)' });

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cpi-secrets-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('openSecretStore: which store the Electron app gets', () => {
  it('uses the OS credential store when keytar loads, packaged or not, and warns nobody', async () => {
    for (const packaged of [true, false]) {
      const keytar = mockKeytar();
      const warnings: string[] = [];
      const store = openSecretStore({ packaged, developmentFile: join(dir, 'dev.json'), warn: (m) => warnings.push(m), loadKeytar: () => ({ ok: true, keytar }) });
      expect(store).toBeInstanceOf(KeytarSecretStore);
      await store.set('device-credential', 'v');
      expect(keytar.calls).toEqual(['set ClinicPro Images/device-credential']);
      expect(warnings).toEqual([]);
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it('an installed (packaged) app without the OS credential store refuses to start, in plain words, and writes nothing', () => {
    const warnings: string[] = [];
    let thrown: unknown;
    try {
      openSecretStore({ packaged: true, developmentFile: join(dir, 'dev.json'), warn: (m) => warnings.push(m), loadKeytar: missing });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(SecretStoreUnavailableError);
    expect((thrown as Error).message).toMatch(/Windows Credential Manager.*will not start.*call ClinicPro support/);
    expect((thrown as SecretStoreUnavailableError).reason).toMatch(/not installed/);
    expect(warnings).toEqual([]);
    return expect(readdir(dir)).resolves.toEqual([]);
  });

  it('a developer run without keytar falls back to the development-only file, says so loudly, and it works', async () => {
    const warnings: string[] = [];
    const file = join(dir, 'data', 'DEVELOPMENT-ONLY-secrets.json');
    const store = openSecretStore({ packaged: false, developmentFile: file, warn: (m) => warnings.push(m), loadKeytar: missing });
    expect(store).toBeInstanceOf(DevelopmentOnlyFileSecretStore);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^WARNING: DEVELOPMENT ONLY secret store in use — keytar is not installed/);
    expect(warnings[0]).toContain(file);
    await store.set('outbox-key', 'k1');
    expect(await new DevelopmentOnlyFileSecretStore(file).get('outbox-key')).toBe('k1');
  });
});

describe('DevelopmentOnlyFileSecretStore', () => {
  it('keeps secrets across reopening, in a 0600 file that says what it is', async () => {
    const file = join(dir, 'secrets.json');
    const a = new DevelopmentOnlyFileSecretStore(file);
    expect(await a.get('device-credential')).toBeNull();
    await a.set('device-credential', 'one');
    await a.set('device-credential', 'two');
    await a.set('outbox-key', 'key');
    const b = new DevelopmentOnlyFileSecretStore(file);
    expect(await b.get('device-credential')).toBe('two');
    expect(await b.delete('device-credential')).toBe(true);
    expect(await b.delete('device-credential')).toBe(false);
    expect(await a.get('device-credential')).toBeNull();
    expect(await a.get('outbox-key')).toBe('key');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ warning: DEVELOPMENT_SECRETS_WARNING, secrets: { 'outbox-key': 'key' } });
    expect(await readdir(dir)).toEqual(['secrets.json']);
  });

  it('reads a file written before the warning field (accounts at the top level)', async () => {
    const file = join(dir, 'old.json');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, JSON.stringify({ 'outbox-key': 'old-key' }));
    expect(await new DevelopmentOnlyFileSecretStore(file).get('outbox-key')).toBe('old-key');
  });

  it('refuses an empty account name and writes nothing', async () => {
    const s = new DevelopmentOnlyFileSecretStore(join(dir, 's.json'));
    await expect(s.set('', 'x')).rejects.toThrow(/account name/);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('loadKeytar', () => {
  it('says plainly why keytar is not there, without throwing', () => {
    const notFound = Object.assign(new Error("Cannot find module 'keytar'"), { code: 'MODULE_NOT_FOUND' });
    expect(
      loadKeytar(() => {
        throw notFound;
      }),
    ).toEqual({ ok: false, reason: 'keytar is not installed (its native build needs libsecret-1-dev on Linux)' });
    expect(
      loadKeytar(() => {
        throw new Error('libsecret-1.so.0: cannot open shared object file\n at …');
      }),
    ).toEqual({ ok: false, reason: 'keytar could not be loaded (libsecret-1.so.0: cannot open shared object file)' });
    expect(loadKeytar(() => ({}))).toEqual({ ok: false, reason: 'keytar loaded but does not look like keytar' });
  });

  it('accepts keytar as CommonJS exports or as an ES module default', () => {
    const k = mockKeytar();
    expect(loadKeytar(() => k)).toEqual({ ok: true, keytar: k });
    expect(loadKeytar(() => ({ default: k }))).toEqual({ ok: true, keytar: k });
  });
});
