import { AppError } from '../../shared/errors';
import type { OutputFormat } from './types';

/** A photo goes to any target; a PDF only to the Inbox Scan, as itself. Known from the name this service gave it. */
const isPdfMaster = (masterPath: string): boolean => masterPath.endsWith('.master.pdf');

export interface TargetPlan {
  media: boolean;
  inboxScan: boolean;
  /** The format the Inbox Scan copy is rendered in: the practice's setting for a photo, PDF for a PDF. */
  inboxScanFormat: Extract<OutputFormat, 'tiff' | 'pdf'>;
}

/**
 * The targets a master actually goes to, of those chosen. A PDF goes to the Inbox Scan only (Media takes photos;
 * a PDF is never rasterised), so it is sent to the targets it can reach; when none of the chosen ones can take
 * it, ERR_IMAGE_PDF_INBOX_ONLY says so in plain words.
 */
export function planTargets(
  masterPath: string,
  chosen: { media: boolean; inboxScan: boolean },
  inboxScanFormat: TargetPlan['inboxScanFormat'],
): TargetPlan {
  if (!isPdfMaster(masterPath)) return { media: chosen.media, inboxScan: chosen.inboxScan, inboxScanFormat };
  if (!chosen.inboxScan) throw new AppError('ERR_IMAGE_PDF_INBOX_ONLY');
  return { media: false, inboxScan: true, inboxScanFormat: 'pdf' };
}

/** What the GP is told when a file is added that cannot go to every target; null when it can. */
export function targetNotice(masterPath: string): string | null {
  return isPdfMaster(masterPath) ? "This PDF can go to the Inbox Scan only; Medtech's Media takes photos. It will be sent to the Inbox Scan." : null;
}
