/**
 * "Commit": each chosen image that is tagged and not frozen is rendered (JPEG for Media; PDF or TIFF for Inbox
 * Scan, each under settings.maxAttachmentBytes, with the caption strip on request) and handed to the durable outbox
 * with ITS OWN patient and that patient's newest grant. An image that cannot go yet is skipped with its plain
 * reason. Once something is queued for the working patient, their phone session ends (a Send of an earlier patient's
 * photos leaves it open); after a "send all", the photos that session had already numbered still arrive and follow the
 * same Send, after other Sends they wait on the desktop (./send-followers).
 */
import type { Logger } from 'pino';
import type { BridgeEvents, BridgeRequest, BridgeResponse, CommitTargets, Settings } from '../../shared/contracts/bridge';
import type { CommitTarget } from '../../shared/contracts/gateway';
import { AppError, toAppError, type ErrorBody } from '../../shared/errors/app-error';
import { planTargets } from '../imaging/targets';
import type { OutboxItemInput } from '../outbox/types';
import type { WorkingPatient } from '../session';
import { captionText } from './caption';
import { toImagingEdits } from './edits';
import type { ImageLibrary } from './image-library';
import { isFrozen, type ImageRecord } from './image-record';
import { errKind } from './log-safe';
import { photoLabelField } from './photo-label';
import type { NoticeBoard } from './notices';
import type { OutboxSync } from './outbox-sync';
import type { PhoneCapture } from './phone-capture';
import type { FollowPlan, SendFollowers } from './send-followers';
import { RenderAhead } from '../imaging/render-ahead';
import type { ImagingPort, OutboxPort } from './ports';

export interface CommitPipelineDeps {
  working: WorkingPatient;
  library: ImageLibrary;
  imaging: ImagingPort;
  /** Renders started ahead of Send (../imaging/render-ahead); without it each render starts at Send. */
  renderAhead?: RenderAhead;
  outbox: OutboxPort;
  sync: OutboxSync;
  phone: PhoneCapture;
  /** Absent: photos arriving after a Send wait for the next one. */
  followers?: Pick<SendFollowers, 'follow'>;
  notices: NoticeBoard;
  settings: () => Settings;
  progress: (p: BridgeEvents['image-progress']) => void;
  track: <T>(p: Promise<T>) => Promise<T>;
  changed: () => void;
  log: Logger;
}

type Skipped = { id: string; error: ErrorBody };

export class CommitPipeline {
  /** Renders held ahead, else made at Send (no entries held without deps.renderAhead). */
  private readonly ahead: RenderAhead;

  constructor(private readonly deps: CommitPipelineDeps) {
    this.ahead = deps.renderAhead ?? new RenderAhead((p, e, o) => deps.track(deps.imaging.render(p, e, o)), 0);
  }

  async start({ ids, targets, captionStrip }: BridgeRequest<'commit.start'>): Promise<BridgeResponse<'commit.start'>> {
    const { deps } = this;
    if (!targets.media && !targets.inboxScan) throw new AppError('ERR_REQUEST_INVALID', { detail: 'choose at least one target' });
    this.ahead.useTargets(targets);
    const chosen = this.chosen(ids);
    const followed = ids === undefined && chosen.some((r) => this.refusal(r) === undefined) && (await this.followFrom({ targets, captionStrip }));
    const queued: ImageRecord[] = [];
    const skipped: Skipped[] = [];
    for (const rec of chosen) {
      if (followed && isFrozen(rec)) continue; // already going (a photo that arrived meanwhile)
      const refused = this.refusal(rec) ?? (await this.commitOne(rec, targets, captionStrip));
      if (refused === undefined) queued.push(rec);
      else skipped.push({ id: rec.id, error: refused });
    }
    const workingNow = deps.working.current();
    if (workingNow !== null && queued.some((r) => r.patient.id === workingNow.patient.id)) await deps.phone.endFor(workingNow.id, 'committed');
    if (skipped.length > 0) deps.notices.notify('commit-failed', 'warning', `${skipped.length} image${skipped.length === 1 ? '' : 's'} could not be sent yet. Check the highlighted images.`);
    deps.log.info({ queued: queued.length, skipped: skipped.length }, 'commit started');
    deps.changed();
    return { queued: queued.map((r) => r.id), skipped };
  }

  /**
   * "Send all" that will send something, with a phone session open: the session takes nothing new from this moment
   * (not once the renders are done), and the photos it had numbered go with this Send as they arrive.
   */
  private async followFrom(plan: FollowPlan): Promise<boolean> {
    const cur = this.deps.working.current();
    const lanSession = cur === null ? undefined : this.deps.phone.lanSessionOf(cur.id);
    if (lanSession === undefined || cur === null || this.deps.followers === undefined) return false;
    this.deps.followers.follow(lanSession, cur.patient.id, plan);
    await this.deps.phone.endFor(cur.id, 'committed');
    return true;
  }

  /** One photo that arrived after a "send all", with that Send's choices: undefined once queued, else why not. */
  async sendFollower(rec: ImageRecord, plan: FollowPlan): Promise<ErrorBody | undefined> {
    if (isFrozen(rec)) return undefined;
    const refused = this.refusal(rec) ?? (await this.commitOne(rec, plan.targets, plan.captionStrip));
    this.deps.log.info({ imageId: rec.id, queued: refused === undefined }, 'photo followed a Send');
    this.deps.changed();
    return refused;
  }

  /** The named images, or with no ids ("commit all") the working patient's images that can go. */
  private chosen(ids: readonly string[] | undefined): ImageRecord[] {
    if (ids !== undefined) return ids.map((id) => this.deps.library.get(id));
    const cur = this.deps.working.requireCurrent();
    return this.deps.library.all().filter((r) => r.patient.id === cur.patient.id && !isFrozen(r) && r.status !== 'processing');
  }

  /** Why this image cannot go now (undefined: it can). */
  private refusal(rec: ImageRecord): ErrorBody | undefined {
    if (isFrozen(rec)) return new AppError('ERR_IMAGE_LOCKED').toBody();
    if (rec.status === 'processing' || rec.master === undefined) return new AppError('ERR_NOT_FOUND', { detail: 'image still processing' }).toBody();
    const missing = this.deps.library.missing(rec);
    if (missing.length > 0) return new AppError('ERR_IMAGE_METADATA_REQUIRED', { detail: missing.join(', ') }).toBody();
    return undefined;
  }

  /** Render and enqueue one image, frozen meanwhile; a failure stays on the image and is answered. */
  private async commitOne(rec: ImageRecord, targets: CommitTargets, captionStrip: boolean): Promise<ErrorBody | undefined> {
    rec.committing = true;
    try {
      await this.renderAndEnqueue(rec, targets, captionStrip);
      return undefined;
    } catch (err) {
      const e = toAppError(err);
      if (e.code === 'ERR_INTERNAL') this.deps.log.error({ imageId: rec.id, ...errKind(e.cause ?? err) }, 'commit preparation failed unexpectedly');
      delete rec.progress;
      rec.error = e.toBody();
      if (!rec.inOutbox) this.deps.library.refresh(rec);
      return e.toBody();
    } finally {
      delete rec.committing;
    }
  }

  private async renderAndEnqueue(rec: ImageRecord, targets: CommitTargets, captionStrip: boolean): Promise<void> {
    const { deps } = this;
    if (rec.master === undefined) throw new AppError('ERR_NOT_FOUND', { detail: 'image file' });
    const settings = deps.settings();
    const grant = deps.working.grantFor(rec.patient.id) ?? rec.grant;
    rec.grant = grant;
    rec.status = 'sending';
    rec.progress = 0;
    deps.changed();
    const rendered = await this.render(rec, targets, captionStrip, settings);
    const source = rec.source === 'phone' ? `Phone upload, ${settings.roomLabel}` : `Desktop, ${settings.roomLabel}`;
    await deps.outbox.enqueue({
      imageId: rec.id,
      patient: rec.patient,
      grantId: grant.grantId,
      facilityId: grant.facilityId,
      capturedAt: rec.capturedAt,
      metadata: rec.metadata,
      ...rendered,
      source: source.slice(0, 100),
      ...photoLabelField(rec.label),
    });
    rec.inOutbox = true;
    const item = deps.outbox.get(rec.id);
    if (item !== undefined) deps.sync.apply(item);
  }

  /** The attachments for the chosen targets, with their edits (and caption strip) burned in; renders held ahead are taken. */
  private async render(rec: ImageRecord, targets: CommitTargets, captionStrip: boolean, settings: Settings): Promise<Pick<OutboxItemInput, 'targets' | 'media' | 'document'>> {
    const { deps } = this;
    const master = rec.master as NonNullable<ImageRecord['master']>;
    const edits = toImagingEdits(rec.edits, master.width, master.height, captionStrip ? captionText(rec.metadata, rec.capturedAt) : undefined);
    const plan = planTargets(master.path, targets, settings.inboxScanFormat); // a PDF goes to the Inbox Scan only
    const out: Pick<OutboxItemInput, 'targets' | 'media' | 'document'> = { targets: [] as CommitTarget[] };
    const { media: m, document: d } = await this.ahead.take(master.path, edits, plan, settings.maxAttachmentBytes);
    if (m !== undefined) {
      out.media = { bytes: m.data, contentType: m.contentType === 'image/png' ? 'image/png' : 'image/jpeg', width: m.width, height: m.height };
      out.targets.push('media');
    }
    if (d !== undefined) {
      out.document = { bytes: d.data, contentType: d.contentType === 'image/tiff' ? 'image/tiff' : 'application/pdf' };
      out.targets.push('documentReference');
    }
    deps.progress({ imageId: rec.id, phase: 'render', fraction: 1 });
    return out;
  }
}
