/**
 * Fixtures for desktop-window specs: one fresh stack per test (gateway + ALEX sandbox + companion core + browser
 * host, temporary folders, ephemeral loopback ports) and the page object opened on it. Photos are copies of the
 * shared fixtures (read-only: copied, never written).
 */
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test as base } from '@playwright/test';
import pino from 'pino';
import sharp from 'sharp';
import { startDevStack, type DevStack } from '../../scripts/browser-host/stack';
import { DesktopPage, SCREENSHOT_DIR } from './pages/desktop-page';

export const FIXTURES = join(process.cwd(), '..', 'shared', 'fixtures', 'photos');
export const AROHA = { nhi: 'ZZZ0016', name: 'TESTPATIENT, Aroha' };
export const WIREMU = { nhi: 'ZZZ0024', name: 'TESTPATIENT, Wiremu' };

export interface DesktopFixtures {
  dir: string;
  /** One copy of the fixture photo-1600-portrait.png (photo-01.png), or `smallPhotos` generated JPEGs. */
  photos: string[];
  /** When > 0: that many small photos made here instead (photo-01.jpg, …), for tests that need many cards. */
  smallPhotos: number;
  stack: DevStack;
  desktop: DesktopPage;
}

export const test = base.extend<DesktopFixtures>({
  smallPhotos: [0, { option: true }],
  dir: async ({}, use) => {
    const dir = await mkdtemp(join(tmpdir(), 'cpi-e2e-desktop-'));
    await use(dir);
    await rm(dir, { recursive: true, force: true });
  },
  photos: async ({ dir, smallPhotos }, use) => {
    const photoDir = join(dir, 'photos');
    await mkdir(photoDir);
    const paths: string[] = [];
    if (smallPhotos === 0) {
      const p = join(photoDir, 'photo-01.png');
      await copyFile(join(FIXTURES, 'photo-1600-portrait.png'), p);
      paths.push(p);
    }
    for (let i = 1; i <= smallPhotos; i++) {
      // Made here with sharp: an 800×600 JPEG of one flat colour per photo (the grid only needs cards).
      const p = join(photoDir, `photo-${String(i).padStart(2, '0')}.jpg`);
      await sharp({ create: { width: 800, height: 600, channels: 3, background: { r: 40 * i, g: 120, b: 200 - 20 * i } } }).jpeg().toFile(p);
      paths.push(p);
    }
    await use(paths);
  },
  stack: async ({ dir }, use) => {
    const stack = await startDevStack({
      dataDir: join(dir, 'data'),
      staticDir: join(process.cwd(), 'dist', 'renderer'),
      autoEnrol: true,
      memorySecrets: true,
      lan: { host: '127.0.0.1', port: 0 },
      mobileAssetsDir: join(process.cwd(), 'dist', 'renderer', 'mobile'),
      logger: pino({ level: 'silent' }),
    });
    await use(stack);
    await stack.close();
  },
  desktop: async ({ page, stack }, use) => {
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    const desktop = new DesktopPage(page);
    await desktop.open(stack.host.url);
    await use(desktop);
  },
});

/** Launch from "Evolution": the signed pair arrives on the loopback launch listener, as the toolbar icon delivers it. */
export async function launch(stack: DevStack, nhi: string): Promise<void> {
  const custom = new URL(stack.launchUrlFor(nhi));
  const url = stack.loopback.launchTemplate
    .replace('{context}', encodeURIComponent(custom.searchParams.get('context') ?? ''))
    .replace('{signature}', encodeURIComponent(custom.searchParams.get('signature') ?? ''));
  const res = await fetch(url);
  expect(res.status).toBe(200);
}

export function patientId(stack: DevStack, nhi: string): string {
  const p = stack.sandbox.patients.find((x) => x.nhi === nhi);
  if (!p) throw new Error(`no sandbox patient with NHI ${nhi}`);
  return p.id;
}

/** Patient searches that reached Medtech (the sandbox). */
export function patientSearches(stack: DevStack): number {
  return stack.sandbox.store.requests().filter((r) => r.path === '/FHIR/Patient').length;
}
