/**
 * The draft journal: `<workDir>/<imageId>.draft` per image not yet confirmed, beside its master: its patient, grant,
 * metadata, edits and thumbnail, so a crash loses nothing and a restored image goes only to its patient. Sealed under
 * the outbox's key, written atomically before an upload is acknowledged.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ImageEdits } from '../../shared/contracts/bridge';
import { ImageMetadata, PatientSummary } from '../../shared/contracts/common';
import type { SecretStore } from '../secrets';
import { loadOrCreateKeys, type OutboxKeys } from '../outbox/crypto';
import { nodeFs, TEMP_PREFIX, writeFileAtomic } from '../outbox/durable-fs';

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
  source: Type.Union([Type.Literal('desktop'), Type.Literal('phone')]),
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

export interface DraftJournal {
  save(draft: DraftRecord): Promise<void>;
  /** Unreadable drafts are reported by id and left alone; temp files and masters without a draft are removed. */
  recover(): Promise<{ drafts: DraftRecord[]; unreadable: string[] }>;
}

export async function openDraftJournal(workDir: string, secrets: SecretStore): Promise<DraftJournal> {
  let keys: OutboxKeys | undefined;
  const k = async (): Promise<OutboxKeys> => (keys ??= await loadOrCreateKeys(secrets));
  await k();
  return {
    async save(draft) {
      const sealed = (await k()).seal(Buffer.from(JSON.stringify(draft), 'utf8'), aad(draft.id));
      await writeFileAtomic(nodeFs, workDir, `${draft.id}${SUFFIX}`, sealed);
    },
    async recover() {
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
          const plain = (await k()).open(await readFile(join(workDir, name)), aad(id));
          const parsed: unknown = JSON.parse(plain.toString('utf8'));
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
    },
  };
}
