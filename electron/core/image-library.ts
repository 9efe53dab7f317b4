/**
 * The images on the desktop, in the order they were added: made bound to their patient's newest grant, ingest,
 * metadata, edits, removal, preview. Every change is saved (sealed draft) before it is answered; frozen ones never change.
 */
import type { BridgeEvents, BridgeResponse, ImageEdits, ImageMetadataPatch, ImageSource, ImageView, MetadataField, Settings } from '../../shared/contracts/bridge';
import type { ImageMetadata } from '../../shared/contracts/common';
import { AppError, BugIndicatingError, toAppError } from '../../shared/errors/app-error';
import { targetNotice } from '../imaging/targets';
import type { CaptureSession } from '../session';
import { toImagingEdits } from './edits';
import { applyMetadataPatch, imageView, isFrozen, missingFields, NO_EDITS, refreshDraftStatus, type ImageRecord } from './image-record';
import type { RenderAhead } from '../imaging/render-ahead';
import type { CoreParts, ImagingPort } from './ports';

export type ImageLibraryDeps = Pick<CoreParts, 'files' | 'working' | 'changed' | 'track' | 'notices' | 'log'> & {
  imaging: ImagingPort;
  /** Renders started once a photo is ready, taken at Send (../imaging/render-ahead). */
  renderAhead?: { ahead: RenderAhead; settings: () => Pick<Settings, 'inboxScanFormat' | 'maxAttachmentBytes'> };
  newId: () => string;
  /** Now, as ISO 8601 (an image's capture time). */
  iso: () => string;
  /** settings.requiredFields, read at each use. */
  requiredFields: () => readonly MetadataField[];
  progress: (p: BridgeEvents['image-progress']) => void;
  /** Adds what another unit knows of an image to its view (unconfirmed.ts). */
  decorate?: (view: ImageView) => void;
};

export class ImageLibrary {
  private readonly records = new Map<string, ImageRecord>();
  private seq = 0;

  constructor(private readonly deps: ImageLibraryDeps) {}

  /** Bound to the patient's newest grant; `processing` until ingested. */
  create(session: CaptureSession, source: ImageSource, label: string, metadata: ImageMetadata): ImageRecord {
    const grant = this.deps.working.grantFor(session.patient.id) ?? session.grant;
    // A grant from an NHI search reaches a session only once the GP confirmed it (and loses the flag then).
    if (grant.requiresConfirmation === true) throw new BugIndicatingError('unconfirmed grant bound to an image');
    const rec: ImageRecord = {
      id: this.deps.newId(),
      seq: ++this.seq,
      sessionId: session.id,
      patient: session.patient,
      grant,
      source,
      label: label.slice(0, 255),
      capturedAt: this.deps.iso(),
      status: 'processing',
      metadata,
      edits: NO_EDITS,
      inOutbox: false,
    };
    this.records.set(rec.id, rec);
    return rec;
  }

  /** Images added from now on come after a restored draft's `seq`. */
  reserveSeq(seq: number): void {
    this.seq = Math.max(this.seq, seq);
  }

  restore(rec: ImageRecord): void {
    this.records.set(rec.id, rec);
  }

  /** On failure the record and its files are gone and the error is thrown. */
  async ingest(rec: ImageRecord, input: { path: string } | { buffer: Buffer }): Promise<boolean> {
    const { deps } = this;
    deps.changed();
    try {
      const onThumbnail = (t: Buffer, mime: string): void => {
        if (!this.records.has(rec.id) || rec.master !== undefined) return; // first sight, before the master is written
        rec.thumbnailUrl = `data:${mime};base64,${t.toString('base64')}`;
        deps.changed();
      };
      // In a run of phone uploads only the first photo's render begins at its ingest; the rest wait for the pause.
      const incoming = deps.renderAhead?.ahead.incoming;
      const renderEarly = incoming === undefined ? undefined : () => incoming.claimEarlyRender();
      const res = await deps.track(deps.imaging.ingest(input, { dir: deps.files.workDir, id: rec.id }, { onThumbnail, renderEarly }));
      if (!this.records.has(rec.id)) {
        await deps.files.remove(rec.id); // removed while processing
        return false;
      }
      rec.master = { path: res.masterPath, width: res.width, height: res.height };
      rec.thumbnailUrl = `data:${res.thumbnailMime};base64,${res.thumbnail.toString('base64')}`;
      rec.status = 'needs-info';
      this.refresh(rec);
      if (deps.renderAhead !== undefined && this.missing(rec).length === 0) {
        const { inboxScanFormat, maxAttachmentBytes } = deps.renderAhead.settings();
        deps.renderAhead.ahead.warmImage(res.masterPath, toImagingEdits(rec.edits, res.width, res.height), inboxScanFormat, maxAttachmentBytes);
      }
      const targetsNote = targetNotice(res.masterPath); // e.g. a PDF: Inbox Scan only, told at once
      if (targetsNote !== null) deps.notices.notify('info', 'info', targetsNote, rec.patient.id);
      await deps.files.persist(rec);
      deps.progress({ imageId: rec.id, phase: 'ingest', fraction: 1 });
      deps.changed();
      return true;
    } catch (err) {
      this.records.delete(rec.id);
      await deps.files.remove(rec.id);
      deps.changed();
      throw toAppError(err);
    }
  }

  get(id: string): ImageRecord {
    const rec = this.records.get(id);
    if (rec === undefined) throw new AppError('ERR_NOT_FOUND', { detail: 'image' });
    return rec;
  }

  find(id: string): ImageRecord | undefined {
    return this.records.get(id);
  }

  all(): ImageRecord[] {
    return [...this.records.values()];
  }

  get size(): number {
    return this.records.size;
  }

  missing(rec: ImageRecord): MetadataField[] {
    return missingFields(rec, this.deps.requiredFields());
  }

  /** `needs-info` or `ready` again, after the metadata or the required fields changed. */
  refresh(rec: ImageRecord): void {
    refreshDraftStatus(rec, this.deps.requiredFields());
  }

  refreshAll(): void {
    for (const rec of this.records.values()) this.refresh(rec);
  }

  view(rec: ImageRecord): ImageView {
    const v = imageView(rec, this.deps.working.current()?.patient.id, this.deps.requiredFields());
    this.deps.decorate?.(v);
    return v;
  }

  views(): ImageView[] {
    return this.all().map((rec) => this.view(rec));
  }

  /** Frozen images are left out of `updated`. */
  async updateMetadata(ids: readonly string[], patch: ImageMetadataPatch): Promise<BridgeResponse<'images.updateMetadata'>> {
    return this.patchAll(ids.map((id) => this.get(id)), patch);
  }

  async applyToPatient(patientId: string, patch: ImageMetadataPatch): Promise<BridgeResponse<'images.applyMetadataToAll'>> {
    return this.patchAll(this.all().filter((rec) => rec.patient.id === patientId), patch);
  }

  private async patchAll(recs: ImageRecord[], patch: ImageMetadataPatch): Promise<{ updated: string[] }> {
    const updated: string[] = [];
    for (const rec of recs) {
      if (isFrozen(rec)) continue;
      applyMetadataPatch(rec, patch, this.deps.requiredFields());
      await this.deps.files.persist(rec);
      updated.push(rec.id);
    }
    this.deps.changed();
    return { updated };
  }

  /** Kept once they convert to something the renderer accepts, and are saved. */
  async edit(id: string, edits: ImageEdits): Promise<ImageView> {
    const rec = this.get(id);
    requireDraft(rec);
    if (rec.master === undefined) throw new AppError('ERR_NOT_FOUND', { detail: 'image file' });
    toImagingEdits(edits, rec.master.width, rec.master.height);
    const before = rec.edits;
    rec.edits = edits;
    try {
      await this.deps.files.persist(rec);
    } catch (err) {
      rec.edits = before;
      throw err;
    }
    this.deps.changed();
    return this.view(rec);
  }

  /** One frozen image refuses them all. */
  async remove(ids: readonly string[]): Promise<BridgeResponse<'images.remove'>> {
    const recs = ids.map((id) => this.get(id));
    for (const rec of recs) requireDraft(rec);
    for (const rec of recs) {
      this.records.delete(rec.id);
      await this.deps.files.remove(rec.id);
    }
    this.deps.changed();
    return { removed: recs.map((r) => r.id) };
  }

  async preview(id: string): Promise<BridgeResponse<'images.preview'>> {
    const rec = this.get(id);
    if (rec.master === undefined) throw new AppError('ERR_NOT_FOUND', { detail: 'image file' });
    const edits = toImagingEdits(rec.edits, rec.master.width, rec.master.height);
    const r = await this.deps.track(this.deps.imaging.render(rec.master.path, edits, { format: 'jpeg', maxBytes: 3_000_000 }));
    return { dataUrl: `data:${r.contentType};base64,${r.data.toString('base64')}`, width: r.width, height: r.height };
  }
}

function requireDraft(rec: ImageRecord): void {
  if (isFrozen(rec)) throw new AppError('ERR_IMAGE_LOCKED');
}
