import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemorySecretStore } from '../secrets';
import { ImageFiles, type DraftRecord } from './image-files';

const P = { id: 'pat-a', nhi: 'ZZZ0016', familyName: 'Testpatient', givenName: 'Canary', birthDate: '1970-01-02', sex: 'female' as const };
const ID = '0f1e2d3c-4b5a-4697-8877-665544332211';
const draft = (dir: string, id = ID): DraftRecord => ({
  v: 1,
  id,
  seq: 1,
  sessionId: 'cs-1',
  patient: P,
  grant: { grantId: 'g'.repeat(43), facilityId: 'F2N060-E', patient: P, issuedAt: '2026-01-01T00:00:00.000Z', expiresAt: '2026-01-01T12:00:00.000Z' },
  source: 'phone',
  label: 'Phone photo 1',
  capturedAt: '2026-01-01T00:00:00.000Z',
  metadata: { caption: 'left shin ulcer' },
  edits: { rotate: 0, annotations: [] },
  master: { path: join(dir, `${id}.master.jpg`), width: 10, height: 10 },
  thumbnailUrl: 'data:image/jpeg;base64,AAAA',
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'drafts-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('draft journal', () => {
  it('round-trips a draft, sealed: no patient data in clear on disk', async () => {
    const secrets = new MemorySecretStore();
    const j = await ImageFiles.open(dir, secrets);
    await writeFile(join(dir, `${ID}.master.jpg`), 'x');
    await j.save(draft(dir));
    const raw = await readFile(join(dir, `${ID}.draft`), 'latin1');
    for (const s of ['ZZZ0016', 'Testpatient', 'shin ulcer', 'F2N060-E']) expect(raw).not.toContain(s);
    const again = await ImageFiles.open(dir, secrets);
    expect(await again.recover()).toEqual({ drafts: [draft(dir)], unreadable: [] });
  });

  it('reports a tampered or foreign-key draft as unreadable and keeps its files; removes temp files and masters without a draft', async () => {
    const secrets = new MemorySecretStore();
    const j = await ImageFiles.open(dir, secrets);
    await j.save(draft(dir));
    await writeFile(join(dir, `${ID}.master.jpg`), 'x');
    const path = join(dir, `${ID}.draft`);
    const bytes = await readFile(path);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
    await writeFile(path, bytes);
    await writeFile(join(dir, '.tmp-deadbeef'), 'partial');
    await writeFile(join(dir, '99999999-9999-4999-8999-999999999999.master.jpg'), 'never acknowledged');
    const r = await (await ImageFiles.open(dir, secrets)).recover();
    expect(r).toEqual({ drafts: [], unreadable: [ID] });
    expect((await readdir(dir)).sort()).toEqual([`${ID}.draft`, `${ID}.master.jpg`]);
    // under another key nothing opens either
    expect((await (await ImageFiles.open(dir, new MemorySecretStore())).recover()).unreadable).toEqual([ID]);
  });
});
