/** Pure state of the window: which snapshot wins, images grouped by patient, progress, how a commit is going. */
import type { AppState, ImageProgress, ImageStatus, ImageView, OutboxItemView } from '../../../../shared/contracts/bridge';
import type { PatientSummary } from '../../../../shared/contracts/common';

/** The higher `revision` wins; `force` takes any (after a reconnect the core may have restarted from 0). */
export function acceptSnapshot(current: AppState | null, next: AppState, force = false): AppState {
  if (current === null || force || next.revision > current.revision) return next;
  return current;
}

/** The images of the patient on screen, and those of each other patient in order of their first image; never mixed. */
export function groupImages(images: readonly ImageView[]): { working: ImageView[]; others: { patient: PatientSummary; images: ImageView[] }[] } {
  const working: ImageView[] = [];
  const others = new Map<string, { patient: PatientSummary; images: ImageView[] }>();
  for (const img of images) {
    if (img.isWorkingPatient) {
      working.push(img);
      continue;
    }
    let g = others.get(img.patientId);
    if (!g) others.set(img.patientId, (g = { patient: img.patient, images: [] }));
    g.images.push(img);
  }
  return { working, others: [...others.values()] };
}

export type ProgressMap = Readonly<Record<string, ImageProgress>>;

export function mergeProgress(map: ProgressMap, ev: ImageProgress): ProgressMap {
  return { ...map, [ev.imageId]: ev };
}

/** Forget progress of images that are no longer processing or sending. */
export function pruneProgress(map: ProgressMap, images: readonly ImageView[]): ProgressMap {
  const live = new Set(images.filter((i) => i.status === 'processing' || i.status === 'sending').map((i) => i.id));
  const keys = Object.keys(map);
  if (keys.every((k) => live.has(k))) return map;
  const out: Record<string, ImageProgress> = {};
  for (const k of keys) if (live.has(k)) out[k] = map[k]!;
  return out;
}

/** The progress (0..1) to draw for an image, or null when there is none to show. */
export function imageProgress(image: ImageView, map: ProgressMap): { fraction: number; label: string } | null {
  if (image.status !== 'processing' && image.status !== 'sending') return null;
  const ev = map[image.id];
  const fraction = ev?.fraction ?? image.progress;
  if (fraction === undefined) return null;
  const phase = ev?.phase ?? (image.status === 'processing' ? 'ingest' : 'upload');
  const label = phase === 'ingest' ? 'Preparing' : phase === 'render' ? 'Making it fit for Medtech' : phase === 'upload' ? 'Sending' : 'Checking in Medtech';
  return { fraction: Math.min(1, Math.max(0, fraction)), label };
}

export interface CommitTally {
  total: number;
  committed: number;
  failed: ImageView[];
  waiting: ImageView[];
  inProgress: number;
  /** Nothing is still moving: every image is committed, failed or waiting to retry by itself. */
  settled: boolean;
}

const IN_PROGRESS: readonly ImageStatus[] = ['processing', 'needs-info', 'ready', 'sending'];

/** How a commit of `ids` goes. An id gone from `images` was committed and wiped, unless the outbox still has it unsent. */
export function tallyCommit(ids: readonly string[], images: readonly ImageView[], outbox: readonly OutboxItemView[] = []): CommitTally {
  const byId = new Map(images.map((i) => [i.id, i]));
  const outboxById = new Map(outbox.map((o) => [o.imageId, o]));
  const t: CommitTally = { total: ids.length, committed: 0, failed: [], waiting: [], inProgress: 0, settled: false };
  for (const id of ids) {
    const img = byId.get(id);
    if (!img) {
      const o = outboxById.get(id);
      if (o && o.status !== 'committed') t.inProgress += 1;
      else t.committed += 1;
      continue;
    }
    if (img.status === 'committed') t.committed += 1;
    else if (img.status === 'failed') t.failed.push(img);
    else if (img.status === 'waiting' || img.status === 'unconfirmed') t.waiting.push(img);
    else if (IN_PROGRESS.includes(img.status)) t.inProgress += 1;
  }
  t.settled = t.inProgress === 0;
  return t;
}

export function readyImages(images: readonly ImageView[]): ImageView[] {
  return images.filter((i) => i.status === 'ready');
}

/** Outbox items split for the drawer: live ones (newest problem first) and the committed history. */
export function splitOutbox(items: readonly OutboxItemView[]): { live: OutboxItemView[]; history: OutboxItemView[] } {
  const rank: Record<OutboxItemView['status'], number> = { unconfirmed: 0, failed: 0, waiting: 1, sending: 2, queued: 3, committed: 4 };
  const live = items.filter((i) => i.status !== 'committed').sort((a, b) => rank[a.status] - rank[b.status] || a.updatedAt.localeCompare(b.updatedAt));
  const history = items.filter((i) => i.status === 'committed').sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  return { live, history };
}
