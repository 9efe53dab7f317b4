/**
 * Adding files on the PC with the real imaging service: good files become images of the session's patient in the
 * order given; each bad one is reported by name with its plain error (one notice for all), and leaves nothing behind.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Notice } from '../../shared/contracts/bridge';
import { bytesInputs, ImageIntake, pathInputs } from './image-intake';
import { NoticeBoard } from './notices';
import { AROHA, libraryKit, photoIn, silentLog, tempDir, verify } from './test-support';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('ImageIntake', () => {
  it('adds good files in the order given and names each refused one with its reason, in one notice', async () => {
    const kit = await libraryKit(cleanup);
    const pushed: Notice[] = [];
    const intake = new ImageIntake({ library: kit.library, notices: new NoticeBoard(() => 'now', (n) => pushed.push(n)), log: silentLog });
    const dir = await tempDir('core-intake-', cleanup);
    await mkdir(join(dir, 'a-folder'));
    const first = await photoIn(dir);
    const second = await photoIn(dir);
    const res = await intake.add(verify(kit.working, AROHA), pathInputs([first, 'relative/photo.jpg', join(dir, 'a-folder'), second, join(dir, 'missing.jpg')]));
    expect(res.imageIds).toHaveLength(2);
    expect(kit.library.all().map((r) => r.id)).toEqual(res.imageIds);
    expect(kit.library.all().every((r) => r.patient.id === AROHA.id)).toBe(true);
    expect(res.rejected.map((r) => [r.name, r.error.code])).toEqual([
      ['photo.jpg', 'ERR_IMAGE_UNSUPPORTED'],
      ['a-folder', 'ERR_IMAGE_UNSUPPORTED'],
      ['missing.jpg', 'ERR_IMAGE_UNSUPPORTED'],
    ]);
    expect(pushed.map((n) => [n.kind, n.message])).toEqual([['images-rejected', '3 files could not be added.']]);
  });

  it('refuses empty bytes and junk bytes with plain errors, and writes nothing', async () => {
    const kit = await libraryKit(cleanup);
    const intake = new ImageIntake({ library: kit.library, notices: new NoticeBoard(() => 'now', () => undefined), log: silentLog });
    const junk = join(await tempDir('core-intake-', cleanup), 'junk.jpg');
    await writeFile(junk, 'this is text pretending to be a photo');
    const res = await intake.add(verify(kit.working, AROHA), [...bytesInputs([{ name: 'empty.jpg', dataBase64: '' }]), ...pathInputs([junk])]);
    expect(res.imageIds).toEqual([]);
    expect(res.rejected.map((r) => r.error.code)).toEqual(['ERR_IMAGE_UNSUPPORTED', 'ERR_IMAGE_UNSUPPORTED']);
    expect(res.rejected[0]?.error.message.length).toBeGreaterThan(10);
    expect(kit.library.all()).toEqual([]);
    expect(await readdir(kit.workDir)).toEqual([]);
  });
});
