import { mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemorySecretStore } from '../secrets';
import { isSealed, loadSealKey, sealedFiles, sealLegacyMasters } from './index';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealed-files-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const photo = () => sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 200, g: 60, b: 40 } } }).jpeg().toBuffer();
const codeOf = async (p: Promise<unknown>): Promise<string> => p.then(() => 'none', (e: { code?: string }) => e.code ?? 'no code');

describe('sealed files', () => {
  it('a master is written sealed (no JPEG bytes on disk, no temp file left) and read back whole; the key comes from the credential store', async () => {
    const secrets = new MemorySecretStore();
    const files = sealedFiles(await loadSealKey(secrets));
    const jpeg = await photo();
    const path = join(dir, 'a.master.jpg');
    await files.masters.write(path, jpeg);
    const disk = await readFile(path);
    expect(isSealed(disk)).toBe(true);
    expect(disk.includes(jpeg.subarray(100, 164))).toBe(false);
    expect(await readdir(dir)).toEqual(['a.master.jpg']);
    expect((await files.masters.read(path)).equals(jpeg)).toBe(true);
    // The same credential store opens it again (another process, a restart); another store's key does not.
    expect((await sealedFiles(await loadSealKey(secrets)).masters.read(path)).equals(jpeg)).toBe(true);
    expect(await codeOf(sealedFiles(await loadSealKey(new MemorySecretStore())).masters.read(path))).toBe('ERR_STORAGE_CORRUPT');
  });

  it('refuses an altered, truncated or renamed file (ERR_STORAGE_CORRUPT) and a missing one (ERR_NOT_FOUND)', async () => {
    const files = sealedFiles(await loadSealKey(new MemorySecretStore()));
    const jpeg = await photo();
    const a = join(dir, 'a.master.jpg');
    await files.masters.write(a, jpeg);
    const sealed = await readFile(a);
    const flipped = Buffer.from(sealed);
    flipped[40] = (flipped[40] ?? 0) ^ 1;
    await writeFile(a, flipped);
    expect(await codeOf(files.masters.read(a))).toBe('ERR_STORAGE_CORRUPT');
    await writeFile(a, sealed.subarray(0, sealed.length - 5));
    expect(await codeOf(files.masters.read(a))).toBe('ERR_STORAGE_CORRUPT');
    await writeFile(a, sealed);
    await rename(a, join(dir, 'b.master.jpg'));
    expect(await codeOf(files.masters.read(join(dir, 'b.master.jpg')))).toBe('ERR_STORAGE_CORRUPT');
    expect(await codeOf(files.masters.read(join(dir, 'gone.master.jpg')))).toBe('ERR_NOT_FOUND');
  });

  it('masters an earlier version left in clear are sealed at start-up and on first read', async () => {
    const files = sealedFiles(await loadSealKey(new MemorySecretStore()));
    const jpeg = await photo();
    await writeFile(join(dir, 'old.master.jpg'), jpeg);
    await writeFile(join(dir, 'old2.master.jpg'), jpeg);
    await writeFile(join(dir, 'notes.txt'), 'not a master');
    expect((await files.masters.read(join(dir, 'old2.master.jpg'))).equals(jpeg)).toBe(true);
    expect(isSealed(await readFile(join(dir, 'old2.master.jpg')))).toBe(true);
    expect(await sealLegacyMasters(dir, files)).toBe(1);
    expect(isSealed(await readFile(join(dir, 'old.master.jpg')))).toBe(true);
    expect((await files.masters.read(join(dir, 'old.master.jpg'))).equals(jpeg)).toBe(true);
    expect(await readFile(join(dir, 'notes.txt'), 'utf8')).toBe('not a master');
  });
});
