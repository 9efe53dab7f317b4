/**
 * Renders started ahead of Send: once a photo is ready, its outputs for the targets the GP is likely to send
 * are rendered while the next photos still arrive, so Send can hand them to the outbox at once. A render is a
 * pure function of (master, edits, output): an entry is used only for exactly the same three, and taken out
 * when used, so a changed edit, caption or target simply renders afresh. At most `maxEntries` are held (the
 * first photos of a batch are the ones Send needs first, so a full cache starts nothing new); `forgetImage` drops
 * an image's entries when it is removed or committed.
 */
import { basename } from 'node:path';
import { planTargets, type TargetPlan } from './targets';
import type { Edits, RenderOutput, RenderResult } from './types';

export type RenderFn = (masterPath: string, edits: Edits, output: RenderOutput) => Promise<RenderResult>;

/**
 * Four renders: the first two photos of a batch sent to Media and Inbox Scan. Only the first photo's render
 * is on the path from Send to "in Medtech"; later ones render while earlier ones' creates are in flight. More
 * ahead would compete for the imaging queue with the next photos' ingest (their thumbnails) and gain nothing.
 */
export const DEFAULT_RENDER_AHEAD_ENTRIES = 4;

function keyOf(masterPath: string, edits: Edits, output: RenderOutput): string {
  return JSON.stringify([masterPath, edits, output.format, output.maxBytes]);
}

export class RenderAhead {
  private readonly entries = new Map<string, { masterPath: string; result: Promise<RenderResult> }>();

  /** The targets of the last Send (both before one): what a ready photo is rendered ahead for. */
  private targets = { media: true, inboxScan: true };

  constructor(
    private readonly render: RenderFn,
    private readonly maxEntries = DEFAULT_RENDER_AHEAD_ENTRIES,
  ) {}

  /** Send chose these targets: the next photos are rendered ahead for them. */
  useTargets(targets: { media: boolean; inboxScan: boolean }): void {
    this.targets = { media: targets.media, inboxScan: targets.inboxScan };
  }

  /** A photo is ready: start its renders for the last Send's targets. */
  warmImage(masterPath: string, edits: Edits, inboxScanFormat: TargetPlan['inboxScanFormat'], maxBytes: number): void {
    this.warmTargets(masterPath, edits, this.targets, inboxScanFormat, maxBytes);
  }

  /** Starts this render now unless it is already held or the cache is full. A failure shows only when taken. */
  warm(masterPath: string, edits: Edits, output: RenderOutput): void {
    const key = keyOf(masterPath, edits, output);
    if (this.entries.has(key) || this.entries.size >= this.maxEntries) return;
    const result = this.render(masterPath, edits, output);
    result.catch(() => undefined); // seen (and thrown) by whoever takes it
    this.entries.set(key, { masterPath, result });
  }

  /** The render for exactly these inputs: the one started ahead (taken out of the cache), else a new one. */
  take(masterPath: string, edits: Edits, output: RenderOutput): Promise<RenderResult> {
    const key = keyOf(masterPath, edits, output);
    const held = this.entries.get(key);
    if (held === undefined) return this.render(masterPath, edits, output);
    this.entries.delete(key);
    return held.result;
  }

  /** Starts the renders Send will need for these targets (as `planTargets` decides them for this master). */
  warmTargets(masterPath: string, edits: Edits, targets: { media: boolean; inboxScan: boolean }, inboxScanFormat: TargetPlan['inboxScanFormat'], maxBytes: number): void {
    const plan = planTargets(masterPath, targets, inboxScanFormat);
    if (plan.media) this.warm(masterPath, edits, { format: 'jpeg', maxBytes });
    if (plan.inboxScan) this.warm(masterPath, edits, { format: plan.inboxScanFormat, maxBytes });
  }

  /** Drops every render held for this image (its master is named `<id>.…`): removed, edited away or committed. */
  forgetImage(imageId: string): void {
    for (const [key, entry] of this.entries) if (basename(entry.masterPath).startsWith(`${imageId}.`)) this.entries.delete(key);
  }

  /** Renders held now. */
  get size(): number {
    return this.entries.size;
  }
}
