import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MemorySecretStore } from '../secrets';
import { startCompanion } from './compose';
import { MemorySettingsStore } from './test-support';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('startCompanion', () => {
  it('removes the upload spool an earlier version left (sealed .part files): phone photos now stay in memory until stored', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'core-compose-'));
    dirs.push(dataDir);
    await mkdir(join(dataDir, 'lan', 'a1b2'), { recursive: true });
    await writeFile(join(dataDir, 'lan', 'a1b2', 'c3d4.part'), 'CPS1 sealed bytes left by a crash');
    const companion = await startCompanion({ dataDir, secrets: new MemorySecretStore(), settingsStore: new MemorySettingsStore(), logger: pino({ level: 'silent' }), lan: false });
    try {
      expect((await readdir(dataDir)).includes('lan')).toBe(false);
    } finally {
      await companion.close();
    }
  });
});
