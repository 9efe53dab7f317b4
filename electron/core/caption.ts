/**
 * The caption strip burned into a rendition on request: Medtech does not show Media metadata fields, so this is how
 * body site, side, view and type reach the GP. No patient identifiers: the record already is the patient's.
 */
import type { ImageMetadata } from '../../shared/contracts/common';
import { findBodySite, imageTypeDisplay, lateralityDisplay, viewDisplay } from '../../shared/coded/values';
import { LIMITS } from '../../shared/limits';

/** e.g. "Left Forearm · Wound · Close-up · 3 Mar 2026 · healing well". */
export function captionText(metadata: ImageMetadata, capturedAt: string, timeZone = 'Pacific/Auckland'): string {
  const site = metadata.bodySiteCode === undefined ? undefined : findBodySite(metadata.bodySiteCode)?.display;
  const where = [metadata.laterality === undefined ? undefined : lateralityDisplay(metadata.laterality), site].filter(Boolean).join(' ');
  const date = new Intl.DateTimeFormat('en-NZ', { day: 'numeric', month: 'short', year: 'numeric', timeZone }).format(new Date(capturedAt));
  const parts = [
    where || undefined,
    metadata.imageType === undefined ? undefined : imageTypeDisplay(metadata.imageType),
    metadata.view === undefined ? undefined : viewDisplay(metadata.view),
    date,
    metadata.caption?.trim() || undefined,
  ].filter((p): p is string => p !== undefined);
  return parts.join(' · ').slice(0, LIMITS.maxCaptionChars);
}
