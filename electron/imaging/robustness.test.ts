import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors';
import { createImagingService } from './service';
import type { ImagingService } from './types';
import { PHOTO_12MP, heifEnc, orientedJpeg, quadrantRaw } from './testkit/images';

let root: string;
let svc: ImagingService;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'imaging-robust-'));
  svc = createImagingService();
});
afterAll(async () => {
  await svc.close();
  await fs.rm(root, { recursive: true, force: true });
});

const IMAGE_ERRORS = new Set(['ERR_IMAGE_CORRUPT', 'ERR_IMAGE_UNSUPPORTED', 'ERR_IMAGE_TOO_MANY_PIXELS']);

describe('mutated inputs (zzuf, Debian) never crash the pipeline', () => {
  // A small version of CHECKS.md U5 for every run: 25 zzuf mutations (ratio 0.4%) of five small seeds.
  it('each mutation either ingests cleanly or fails with an image error, leaving nothing behind on failure', async () => {
    const raw = quadrantRaw(160, 96);
    const rawIn = { raw: { width: 160, height: 96, channels: 3 as const } };
    const seeds: Array<[string, Buffer]> = [
      ['jpeg', await orientedJpeg(6)],
      ['png', await sharp(raw, rawIn).png().toBuffer()],
      ['webp', await sharp(raw, rawIn).webp().toBuffer()],
      ['tiff', await sharp(raw, rawIn).tiff({ compression: 'lzw' }).toBuffer()],
      ['heic', await heifEnc(await orientedJpeg(1), root, 'seed')],
    ];
    let ok = 0;
    let refused = 0;
    for (const [name, seed] of seeds) {
      for (let s = 1; s <= 25; s++) {
        const mutated = execFileSync('zzuf', ['-s', String(s), '-r', '0.004'], { input: seed, maxBuffer: 10 * 1024 * 1024 });
        const dir = await fs.mkdtemp(path.join(root, `${name}-${s}-`));
        try {
          const r = await svc.ingest({ buffer: mutated }, { dir, id: 'm' });
          expect((await sharp(r.masterPath).metadata()).exif).toBeUndefined();
          ok++;
        } catch (err) {
          expect(err).toBeInstanceOf(AppError);
          expect(IMAGE_ERRORS.has((err as AppError).code)).toBe(true);
          expect(await fs.readdir(dir)).toEqual([]);
          refused++;
        }
      }
    }
    expect(ok + refused).toBe(125);
    expect(refused).toBeGreaterThan(0); // the mutations really did damage something
  });
});

describe('service lifecycle', () => {
  it('close() lets queued work finish, then refuses new work', async () => {
    const own = createImagingService({ concurrency: 1 });
    const dir = await fs.mkdtemp(path.join(root, 'close-'));
    const a = own.ingest({ path: PHOTO_12MP }, { dir, id: 'a' });
    const b = own.ingest({ buffer: await orientedJpeg(3) }, { dir, id: 'b' });
    const closing = own.close();
    await expect(a).resolves.toMatchObject({ sourceType: 'jpeg' });
    await expect(b).resolves.toMatchObject({ width: 160, height: 96 });
    await closing;
    const err = await own.ingest({ buffer: await orientedJpeg(1) }, { dir, id: 'c' }).catch((e: unknown) => e);
    expect((err as AppError).code).toBe('ERR_INTERNAL');
    expect((await fs.readdir(dir)).sort()).toEqual(['a.master.jpg', 'b.master.jpg']);
  });

  it('logs sizes and codes, never paths, ids or text', async () => {
    const lines: string[] = [];
    const log = (o: object, m?: string): void => {
      lines.push(`${m ?? ''} ${JSON.stringify(o)}`);
    };
    const own = createImagingService({ logger: { info: log, warn: log } });
    const dir = await fs.mkdtemp(path.join(root, 'log-'));
    const m = await own.ingest({ buffer: await orientedJpeg(1) }, { dir, id: 'canary-id-7731' });
    await own.render(m.masterPath, { rotate: 0, annotations: [{ kind: 'text', at: { x: 5, y: 20 }, text: 'Canary Testpatient' }], captionStrip: 'ZZZ0016 Canary' }, { format: 'jpeg' });
    await own.ingest({ buffer: Buffer.from('GIF89a') }, { dir, id: 'x' }).catch(() => undefined);
    await own.close();
    const all = lines.join('\n');
    expect(lines.length).toBe(3);
    expect(all).toContain('ERR_IMAGE_UNSUPPORTED');
    for (const secret of ['canary-id-7731', 'Canary', 'ZZZ0016', dir, 'master']) expect(all).not.toContain(secret);
  });
});
