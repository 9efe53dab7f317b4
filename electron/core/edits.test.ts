import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageEdits } from '../../shared/contracts/bridge';
import { createImagingService } from '../imaging';
import type { ImagingService, IngestResult } from '../imaging/types';
import { toImagingEdits, unrotate } from './edits';

// A real 400×300 master with four coloured quadrants: red (top-left), green (top-right),
// blue (bottom-left), white (bottom-right), made with sharp and ingested by the real imaging service.
let dir: string;
let imaging: ImagingService;
let master: IngestResult;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'core-edits-'));
  imaging = createImagingService();
  const q = (r: number, g: number, b: number) => sharp({ create: { width: 200, height: 150, channels: 3, background: { r, g, b } } }).png().toBuffer();
  const png = await sharp({ create: { width: 400, height: 300, channels: 3, background: '#000' } })
    .composite([
      { input: await q(255, 0, 0), left: 0, top: 0 },
      { input: await q(0, 255, 0), left: 200, top: 0 },
      { input: await q(0, 0, 255), left: 0, top: 150 },
      { input: await q(255, 255, 255), left: 200, top: 150 },
    ])
    .png()
    .toBuffer();
  master = await imaging.ingest({ buffer: png }, { dir, id: '11111111-2222-4333-8444-555555555555' });
});

afterAll(async () => {
  await imaging.close();
  await rm(dir, { recursive: true, force: true });
});

async function meanColour(edits: ImageEdits): Promise<[number, number, number]> {
  const out = await imaging.render(master.masterPath, toImagingEdits(edits, master.width, master.height), { format: 'png' });
  const { channels } = await sharp(out.data).stats();
  return [channels[0]?.mean ?? 0, channels[1]?.mean ?? 0, channels[2]?.mean ?? 0].map(Math.round) as [number, number, number];
}

const topLeftQuarter = { x: 0.02, y: 0.02, width: 0.46, height: 0.46 };

describe('bridge edits → imaging edits (rotate, then crop in the rotated frame)', () => {
  it('maps points back to the master frame for every rotation', () => {
    expect(unrotate(0, 0.1, 0.2)).toEqual({ x: 0.1, y: 0.2 });
    expect(unrotate(90, 0, 0)).toEqual({ x: 0, y: 1 });
    expect(unrotate(180, 0.25, 0.75)).toEqual({ x: 0.75, y: 0.25 });
    expect(unrotate(270, 0, 0)).toEqual({ x: 1, y: 0 });
  });

  it.each([
    [0, 'red', [255, 0, 0]],
    [90, 'blue', [0, 0, 255]],
    [180, 'white', [255, 255, 255]],
    [270, 'green', [0, 255, 0]],
  ] as const)('rotate %i then crop the top-left quarter shows the %s quadrant (real render)', async (rotate, _name, expected) => {
    const [r, g, b] = await meanColour({ rotate, crop: topLeftQuarter, annotations: [] });
    expect(Math.abs(r - expected[0])).toBeLessThan(20);
    expect(Math.abs(g - expected[1])).toBeLessThan(20);
    expect(Math.abs(b - expected[2])).toBeLessThan(20);
  });

  it('keeps crops inside the master and at least 8 px, and scales annotations to master pixels', () => {
    const e = toImagingEdits(
      { rotate: 90, crop: { x: 0.99, y: 0.99, width: 0.01, height: 0.01 }, annotations: [{ kind: 'circle', centre: { x: 1, y: 1 }, radius: 0.5, colour: 'red' }] },
      400,
      300,
    );
    expect(e.crop).toBeDefined();
    const c = e.crop ?? { x: 0, y: 0, width: 0, height: 0 };
    expect(c.width).toBeGreaterThanOrEqual(8);
    expect(c.x + c.width).toBeLessThanOrEqual(400);
    expect(c.y + c.height).toBeLessThanOrEqual(300);
    expect(e.annotations[0]).toEqual({ kind: 'circle', center: { x: 400, y: 0 }, radius: 150, color: '#ff2d2d' });
    expect(toImagingEdits({ rotate: 0, annotations: [] }, 400, 300, 'Left Forearm')).toEqual({ rotate: 0, annotations: [], captionStrip: 'Left Forearm' });
  });
});
