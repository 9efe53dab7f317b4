/** An image's files in the work folder: its master and sealed draft (drafts.ts). Only `<id>.*` names are touched. */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../shared/errors/app-error';
import type { SecretStore } from '../secrets';
import { openDraftJournal, type DraftJournal, type DraftRecord } from './drafts';
import { draftOf, type ImageRecord } from './image-record';

export class ImageFiles {
  private constructor(
    readonly workDir: string,
    private readonly drafts: DraftJournal,
  ) {}

  static async open(workDir: string, secrets: SecretStore): Promise<ImageFiles> {
    return new ImageFiles(workDir, await openDraftJournal(workDir, secrets));
  }

  /** The sealed draft next to the master: nothing is acknowledged before it is saved. */
  async persist(rec: ImageRecord): Promise<void> {
    const d = draftOf(rec);
    if (d === undefined) return;
    try {
      await this.drafts.save(d);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      throw new AppError(code === 'ENOSPC' ? 'ERR_STORAGE_FULL' : 'ERR_STORAGE_IO', { cause: err });
    }
  }

  /** Told before an image's files go (e.g. the renders held ahead for it are dropped). */
  onRemove: ((id: string) => void) | undefined;

  /** Master, draft, temp files. */
  async remove(id: string): Promise<void> {
    this.onRemove?.(id);
    const entries = await readdir(this.workDir).catch(() => [] as string[]);
    await Promise.all(entries.filter((n) => n.startsWith(`${id}.`)).map((n) => rm(join(this.workDir, n), { force: true })));
  }

  recover(): Promise<{ drafts: DraftRecord[]; unreadable: string[] }> {
    return this.drafts.recover();
  }
}
