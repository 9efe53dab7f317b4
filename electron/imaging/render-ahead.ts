/**
 * An image's renders for Send (Media JPEG, Inbox Scan PDF or TIFF), started ahead once a photo is ready; an entry is
 * used only for exactly the same master, edits, targets and limit (README: Render ahead).
 */
import { basename } from 'node:path';
import { AppError } from '../../shared/errors';
import { jpegToPdf } from './pdf';
import { QuietSpell } from './quiet-spell';
import { planTargets, type TargetPlan } from './targets';
import type { Edits, RenderOutput, RenderResult } from './types';

export type RenderFn = (masterPath: string, edits: Edits, output: RenderOutput) => Promise<RenderResult>;

/** What Send hands the outbox: the Media render and the Inbox Scan render, each when its target is planned. */
export interface TargetRenders {
  media?: RenderResult;
  document?: RenderResult;
}

export interface RenderAheadOptions {
  /**
   * Photos still coming in (the core counts each phone upload). A render ahead starts only once they pause, so it never
   * takes a core from the next photo's upload and first look; Send taking it starts it at once.
   */
  incoming?: QuietSpell;
  /** Told of each render ahead as it is planned, so "nothing in flight" also waits for one still waiting for the pause. */
  track?: (work: Promise<unknown>) => void;
}

export class RenderAhead {
  private readonly entries = new Map<string, { masterPath: string; result: Promise<TargetRenders>; takeNow: () => void; drop: () => void }>();

  /** The targets of the last Send (both before one): what a ready photo is rendered ahead for. */
  private targets = { media: true, inboxScan: true };

  readonly incoming: QuietSpell;
  private readonly track: (work: Promise<unknown>) => void;

  constructor(
    private readonly render: RenderFn,
    private readonly maxEntries = 2,
    options: RenderAheadOptions = {},
  ) {
    this.incoming = options.incoming ?? new QuietSpell();
    this.track = options.track ?? (() => undefined);
  }

  /** Send chose these targets: the next photos are rendered ahead for them. */
  useTargets(targets: { media: boolean; inboxScan: boolean }): void {
    this.targets = { media: targets.media, inboxScan: targets.inboxScan };
  }

  /**
   * A photo is ready: its renders for the last Send's targets start once no photo is coming in (or Send takes them), unless
   * held, unplannable or the cache is full; an image removed before they start is never rendered.
   */
  warmImage(masterPath: string, edits: Edits, inboxScanFormat: TargetPlan['inboxScanFormat'], maxBytes: number): void {
    let plan: TargetPlan;
    try {
      plan = planTargets(masterPath, this.targets, inboxScanFormat);
    } catch {
      return; // e.g. a PDF while only Media is chosen: Send says why
    }
    const key = JSON.stringify([masterPath, edits, plan, maxBytes]);
    if (this.entries.has(key) || this.entries.size >= this.maxEntries) return;
    let takeNow = (): void => undefined;
    const taken = new Promise<void>((resolve) => (takeNow = resolve));
    let dropped = false;
    let drop = (): void => undefined;
    const gone = new Promise<void>((resolve) => (drop = () => ((dropped = true), resolve())));
    const start = (): Promise<TargetRenders> => {
      if (dropped) throw new AppError('ERR_NOT_FOUND', { detail: 'image removed before its render ahead' });
      return this.renderTargets(masterPath, edits, plan, maxBytes, { taken });
    };
    const result = this.incoming.quiet ? start() : Promise.race([this.incoming.whenQuiet(), taken, gone]).then(start);
    result.catch(() => undefined); // seen (and thrown) by whoever takes it
    this.track(result);
    this.entries.set(key, { masterPath, result, takeNow, drop });
  }

  /** The renders for exactly these inputs: the ones started ahead (taken out of the cache), else made now. */
  take(masterPath: string, edits: Edits, plan: TargetPlan, maxBytes: number): Promise<TargetRenders> {
    const key = JSON.stringify([masterPath, edits, plan, maxBytes]);
    const held = this.entries.get(key);
    if (held === undefined) return this.renderTargets(masterPath, edits, plan, maxBytes);
    this.entries.delete(key);
    held.takeNow(); // Send waits for it now: it no longer yields to new photos' first looks
    return held.result;
  }

  /**
   * Both targets' renders (`ahead`: behind new photos' first looks until taken). A PDF without a caption is the Media JPEG in a
   * page when that fits: the same pixels, encoded once; otherwise each is rendered on its own.
   */
  private async renderTargets(masterPath: string, edits: Edits, plan: TargetPlan, maxBytes: number, ahead?: RenderOutput['ahead']): Promise<TargetRenders> {
    const renderAs = (format: RenderOutput['format']): Promise<RenderResult> => this.render(masterPath, edits, { format, maxBytes, ...(ahead && { ahead }) });
    const sharesJpeg = plan.media && plan.inboxScan && plan.inboxScanFormat === 'pdf' && !edits.captionStrip?.trim();
    if (!sharesJpeg) {
      const [media, document] = await Promise.all([plan.media ? renderAs('jpeg') : undefined, plan.inboxScan ? renderAs(plan.inboxScanFormat) : undefined]);
      return { ...(media && { media }), ...(document && { document }) };
    }
    const media = await renderAs('jpeg');
    const pdf = await jpegToPdf(media.data, media.width, media.height, null);
    if (pdf.length > maxBytes) return { media, document: await renderAs('pdf') };
    return { media, document: { data: pdf, contentType: 'application/pdf', width: media.width, height: media.height, quality: media.quality } };
  }

  /** Drops what is held for this image (its master is named `<id>.…`): removed, edited away or committed. */
  forgetImage(imageId: string): void {
    for (const [key, entry] of this.entries) {
      if (!basename(entry.masterPath).startsWith(`${imageId}.`)) continue;
      this.entries.delete(key);
      entry.drop(); // not started yet: never is
    }
  }

  /** The companion is closing: renders ahead not started yet never are (one running finishes). */
  stop(): void {
    for (const entry of this.entries.values()) entry.drop();
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
