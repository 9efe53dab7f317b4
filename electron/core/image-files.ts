/**
 * An image's files in the work folder, only `<id>.*` names: its master and its draft (patient, grant, metadata, edits,
 * thumbnail), sealed and written atomically before an add is acknowledged, so a crash loses nothing; restored at start.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ImageEdits, ImageSource } from '../../shared/contracts/bridge';
import { ImageMetadata, PatientSummary } from '../../shared/contracts/common';
import { AppError } from '../../shared/errors/app-error';
import type { SecretStore } from '../secrets';
import { loadOrCreateKeys, type OutboxKeys } from '../outbox/crypto';
import { nodeFs, TEMP_PREFIX, writeFileAtomic } from '../outbox/durable-fs';
import type { OutboxItemView } from '../outbox/types';
import { draftOf, type ImageRecord } from './image-record';
import type { CoreParts } from './ports';

export const DraftRecord = Type.Object({
  v: Type.Literal(1),
  id: Type.String(),
  /** The order the images were added in. */
  seq: Type.Integer({ minimum: 0 }),
  sessionId: Type.String(),
  patient: PatientSummary,
  grant: Type.Object({
    grantId: Type.String(),
    facilityId: Type.String(),
    patient: PatientSummary,
    providerId: Type.Optional(Type.String()),
    issuedAt: Type.String(),
    expiresAt: Type.String(),
  }),
  source: ImageSource,
  label: Type.String(),
  capturedAt: Type.String(),
  metadata: ImageMetadata,
  edits: ImageEdits,
  master: Type.Object({ path: Type.String(), width: Type.Integer(), height: Type.Integer() }),
  thumbnailUrl: Type.String(),
});
export type DraftRecord = Static<typeof DraftRecord>;

const SUFFIX = '.draft';
const aad = (id: string): string => `clinicpro-images/draft\n${id}`;

export class ImageFiles {
  /** Told before an image's files go (e.g. the renders held ahead for it are dropped). */
  onRemove: ((id: string) => void) | undefined;

  private constructor(
    readonly workDir: string,
    private readonly keys: OutboxKeys,
  ) {}

  static async open(workDir: string, secrets: SecretStore): Promise<ImageFiles> {
    return new ImageFiles(workDir, await loadOrCreateKeys(secrets));
  }

  /** The sealed draft next to the master: nothing is acknowledged before it is saved. */
  async persist(rec: ImageRecord): Promise<void> {
    const d = draftOf(rec);
    if (d === undefined) return;
    try {
      await this.save(d);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      throw new AppError(code === 'ENOSPC' ? 'ERR_STORAGE_FULL' : 'ERR_STORAGE_IO', { cause: err });
    }
  }

  async save(draft: DraftRecord): Promise<void> {
    const sealed = this.keys.seal(Buffer.from(JSON.stringify(draft), 'utf8'), aad(draft.id));
    await writeFileAtomic(nodeFs, this.workDir, `${draft.id}${SUFFIX}`, sealed);
  }

  /** Master, draft, temp files. */
  async remove(id: string): Promise<void> {
    this.onRemove?.(id);
    const entries = await readdir(this.workDir).catch(() => [] as string[]);
    await Promise.all(entries.filter((n) => n.startsWith(`${id}.`)).map((n) => rm(join(this.workDir, n), { force: true })));
  }

  /** Unreadable drafts are reported by id and left alone; temp files and masters without a draft are removed. */
  async recover(): Promise<{ drafts: DraftRecord[]; unreadable: string[] }> {
    const { workDir } = this;
    const names = await readdir(workDir).catch(() => [] as string[]);
    const drafts: DraftRecord[] = [];
    const unreadable: string[] = [];
    const withDraft = new Set<string>();
    for (const name of names) {
      if (name.startsWith(TEMP_PREFIX)) {
        await rm(join(workDir, name), { force: true });
        continue;
      }
      if (!name.endsWith(SUFFIX)) continue;
      const id = name.slice(0, -SUFFIX.length);
      withDraft.add(id);
      try {
        const parsed: unknown = JSON.parse(this.keys.open(await readFile(join(workDir, name)), aad(id)).toString('utf8'));
        if (!Value.Check(DraftRecord, parsed) || parsed.id !== id) throw new Error('draft shape');
        drafts.push(parsed);
      } catch {
        unreadable.push(id);
      }
    }
    // A master without a draft was never acknowledged (the process stopped mid-ingest): remove it.
    for (const name of names) {
      const id = name.split('.')[0] ?? '';
      if (!name.startsWith(TEMP_PREFIX) && !name.endsWith(SUFFIX) && !withDraft.has(id)) await rm(join(workDir, name), { force: true });
    }
    return { drafts, unreadable };
  }
}

export type ImageRecoveryDeps = Pick<CoreParts, 'files' | 'library' | 'outbox' | 'notices' | 'log'> & {
  /** Brings a restored image's status up to date with its outbox item. */
  applyOutbox: (item: OutboxItemView) => void;
};

export async function restoreImages(deps: ImageRecoveryDeps): Promise<void> {
  const { files, library, outbox, log } = deps;
  const { drafts: found, unreadable } = await files.recover();
  for (const d of found.sort((a, b) => a.seq - b.seq)) {
    library.reserveSeq(d.seq);
    const item = outbox.get(d.id);
    if (item?.state === 'committed') {
      await files.remove(d.id);
      continue;
    }
    const rec: ImageRecord = { ...d, status: 'needs-info', inOutbox: item !== undefined };
    library.restore(rec);
    if (item !== undefined) deps.applyOutbox(item);
    else library.refresh(rec);
  }
  if (unreadable.length > 0) {
    log.error({ count: unreadable.length }, 'some saved images could not be read');
    deps.notices.notify('info', 'error', `${unreadable.length} saved image${unreadable.length === 1 ? '' : 's'} could not be read back on this PC. Call support.`);
  }
  if (found.length > 0) log.info({ restored: library.size }, 'images restored');
}
