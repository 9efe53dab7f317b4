/**
 * One image on the desktop and the pure rules about it: missing required fields, `needs-info`/`ready`, frozen, its
 * view and its draft. Its patient and grant are set when it is made and say where it goes.
 */
import type { ImageEdits, ImageMetadataPatch, ImageStatus, ImageView, MetadataField } from '../../shared/contracts/bridge';
import type { ImageMetadata } from '../../shared/contracts/common';
import type { LaunchGrant } from '../../shared/contracts/gateway';
import type { ErrorBody } from '../../shared/errors/app-error';
import type { DraftRecord } from './image-files';

/** What its sealed draft keeps (image-files.ts `DraftRecord`), and what lives in memory only. */
export interface ImageRecord extends Omit<DraftRecord, 'v' | 'grant' | 'master' | 'thumbnailUrl'> {
  grant: LaunchGrant;
  status: ImageStatus;
  error?: ErrorBody;
  master?: DraftRecord['master'];
  thumbnailUrl?: string;
  progress?: number;
  committed?: { media?: { id: string }; documentReference?: { id: string } };
  /** Handed to the outbox, or being rendered for it: frozen. */
  inOutbox: boolean;
  committing?: boolean;
}

export const NO_EDITS: ImageEdits = { rotate: 0, annotations: [] };

export function missingFields(rec: ImageRecord, required: readonly MetadataField[]): MetadataField[] {
  return required.filter((f) => {
    const v = rec.metadata[f];
    return v === undefined || (typeof v === 'string' && v.trim() === '');
  });
}

/** `needs-info` until every required field has a value, then `ready`; no other status is touched. */
export function refreshDraftStatus(rec: ImageRecord, required: readonly MetadataField[]): void {
  if (rec.inOutbox || rec.status === 'processing') return;
  rec.status = missingFields(rec, required).length > 0 ? 'needs-info' : 'ready';
}

export function isFrozen(rec: ImageRecord): boolean {
  return rec.inOutbox || rec.committing === true;
}

/** A field given as null is removed. */
export function applyMetadataPatch(rec: ImageRecord, patch: ImageMetadataPatch, required: readonly MetadataField[]): void {
  const next: Record<string, unknown> = { ...rec.metadata };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete next[k];
    else if (v !== undefined) next[k] = v;
  }
  rec.metadata = next as ImageMetadata;
  refreshDraftStatus(rec, required);
}

export function imageView(rec: ImageRecord, workingPatientId: string | undefined, required: readonly MetadataField[]): ImageView {
  const v: ImageView = {
    id: rec.id,
    patientId: rec.patient.id,
    patient: rec.patient,
    isWorkingPatient: workingPatientId === rec.patient.id,
    source: rec.source,
    label: rec.label,
    capturedAt: rec.capturedAt,
    status: rec.status,
    metadata: rec.metadata,
    missingFields: rec.inOutbox ? [] : missingFields(rec, required),
    edits: rec.edits,
  };
  if (rec.thumbnailUrl !== undefined) v.thumbnailUrl = rec.thumbnailUrl;
  if (rec.master !== undefined) {
    const turned = rec.edits.rotate === 90 || rec.edits.rotate === 270;
    v.width = turned ? rec.master.height : rec.master.width;
    v.height = turned ? rec.master.width : rec.master.height;
  }
  if (rec.error !== undefined) v.error = rec.error;
  if (rec.progress !== undefined) v.progress = rec.progress;
  if (rec.committed !== undefined) v.committed = rec.committed;
  return v;
}

/** What the sealed draft keeps of a record; undefined while it has no master yet, or once committed. */
export function draftOf(rec: ImageRecord): DraftRecord | undefined {
  const { master, thumbnailUrl, status, error: _e, progress: _p, committed: _c, inOutbox: _i, committing: _k, ...kept } = rec;
  if (master === undefined || thumbnailUrl === undefined || status === 'committed') return undefined;
  return { v: 1, ...kept, master, thumbnailUrl };
}
