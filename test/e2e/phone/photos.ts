/**
 * Photos for the phone tests, in a temp folder: copies of the shared fixtures (the 12 MP JPEG and the iPhone
 * HEIC) plus smaller ones made here with sharp (noise over a gradient, so they compress like photos).
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';

/** The team's shared fixtures sit beside the repository (read-only: copied, never written). */
const FIXTURES = join(process.cwd(), '..', 'shared', 'fixtures', 'photos');

export interface PhonePhotos {
  heic: string;
  jpeg12mp: string;
  /** Made here: a 1600×1200 JPEG, a 1200×1600 JPEG and a 1000×750 PNG. */
  made: string[];
  all: string[];
}

/** A photo-like image: a colour gradient with noise. */
export async function makePhoto(path: string, width: number, height: number, seed: number, format: 'jpeg' | 'png' = 'jpeg'): Promise<string> {
  const channels = 3;
  const px = Buffer.alloc(width * height * channels);
  let s = seed * 2654435761;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      s = (s * 1103515245 + 12345) >>> 0;
      const n = (s >>> 24) % 24;
      const i = (y * width + x) * channels;
      px[i] = Math.min(255, ((x * 200) / width + seed * 40 + n) | 0);
      px[i + 1] = Math.min(255, ((y * 180) / height + n) | 0);
      px[i + 2] = Math.min(255, 120 + ((seed * 30 + n) % 100));
    }
  }
  const img = sharp(px, { raw: { width, height, channels } });
  await (format === 'png' ? img.png() : img.jpeg({ quality: 88 })).toFile(path);
  return path;
}

export async function preparePhotos(dir: string): Promise<PhonePhotos> {
  const d = join(dir, 'photos');
  await mkdir(d, { recursive: true });
  const heic = join(d, 'IMG_0001.HEIC');
  const jpeg12mp = join(d, 'IMG_0002.JPG');
  await copyFile(join(FIXTURES, 'photo-iphone-like.heic'), heic);
  await copyFile(join(FIXTURES, 'photo-12mp-orient6.jpg'), jpeg12mp);
  const made = [
    await makePhoto(join(d, 'IMG_0003.JPG'), 1600, 1200, 1),
    await makePhoto(join(d, 'IMG_0004.JPG'), 1200, 1600, 2),
    await makePhoto(join(d, 'Screenshot_0005.png'), 1000, 750, 3, 'png'),
  ];
  return { heic, jpeg12mp, made, all: [heic, jpeg12mp, ...made] };
}

/** Text saved with a .jpg name: the PC must refuse it by its bytes. */
export async function notAPhoto(dir: string): Promise<string> {
  const p = join(dir, 'notes.jpg');
  await writeFile(p, 'Shopping list: milk, bread. This is not a photo.\n'.repeat(20));
  return p;
}
