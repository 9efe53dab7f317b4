/**
 * One image on the desktop, from ingest to a confirmed commit, and the pure rules about it: which required fields
 * it lacks, whether it is `needs-info` or `ready`, when it is frozen, and the view the bridge shows of it.
 * Its patient and grant are set when the record is made and say where it goes (patient binding is structural).
 */
import type { ImageEdits, ImageMetadataPatch, ImageSource, ImageStatus, ImageView, MetadataField } from '../../shared/contracts/bridge';
import type { ImageMetadata, PatientSummary } from '../../shared/contracts/common';
import type { LaunchGrant } from '../../shared/contracts/gateway';
import type { ErrorBody } from '../../shared/errors/app-error';
import type { DraftRecord } from './drafts';

export interface ImageRecord {
  id: string;
  seq: number;
  sessionId: string;
  patient: PatientSummary;
  grant: LaunchGrant;
  source: ImageSource;
  label: string;
  capturedAt: string;
  status: ImageStatus;
  error?: ErrorBody;
  metadata: ImageMetadata;
  edits: ImageEdits;
  master?: { path: string; width: number; height: number };
  thumbnailUrl?: string;
  progress?: number;
  committed?: { media?: { id: string }; documentReference?: { id: string } };
  /** Handed to the outbox: metadata and edits are frozen. */
  inOutbox: boolean;
  /** Being rendered for a commit: frozen too. */
  committing?: boolean;
}

export const NO_EDITS: ImageEdits = { rotate: 0, annotations: [] };

/** The required fields (settings.requiredFields) this image has no value for. */
export function missingFields(rec: ImageRecord, required: readonly MetadataField[]): MetadataField[] {
  return required.filter((f) => {
    const v = rec.metadata[f];
    return v === undefined || (typeof v === 'string' && v.trim() === '');
  });
}

/** A draft is `needs-info` until every required field has a value, then `ready`. Nothing else is touched. */
export function refreshDraftStatus(rec: ImageRecord, required: readonly MetadataField[]): void {
  if (rec.inOutbox || rec.status === 'processing') return;
  rec.status = missingFields(rec, required).length > 0 ? 'needs-info' : 'ready';
}

/** In the outbox or being rendered for it: metadata and edits can no longer change. */
export function isFrozen(rec: ImageRecord): boolean {
  return rec.inOutbox || rec.committing === true;
}

/** A patch sets each field given, and removes each field given as null. */
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
  if (rec.master === undefined || rec.thumbnailUrl === undefined || rec.status === 'committed') return undefined;
  return {
    v: 1,
    id: rec.id,
    seq: rec.seq,
    sessionId: rec.sessionId,
    patient: rec.patient,
    grant: rec.grant,
    source: rec.source,
    label: rec.label,
    capturedAt: rec.capturedAt,
    metadata: rec.metadata,
    edits: rec.edits,
    master: rec.master,
    thumbnailUrl: rec.thumbnailUrl,
  };
}
