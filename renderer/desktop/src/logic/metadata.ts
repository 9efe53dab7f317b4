/** The details form over one or more selected images: shared or mixed values, and the patch of the touched fields. */
import type { ImageMetadataPatch, ImageView, MetadataField } from '../../../../shared/contracts/bridge';
import type { ImageMetadata } from '../../../../shared/contracts/common';
import { consentDisplay, findBodySite, lateralityDisplay } from '../../../../shared/coded/values';

export const FIELD_LABELS: Record<MetadataField, string> = {
  bodySiteCode: 'Body site',
  laterality: 'Side',
  view: 'View',
  imageType: 'Image type',
  caption: 'Caption',
  consent: 'Patient consent',
};

/** The form's values: a value, '' (empty), or MIXED when the selected images differ. */
export const MIXED = '\u0000mixed';
export type Draft = Record<MetadataField, string>;

export const METADATA_FIELDS = Object.keys(FIELD_LABELS) as MetadataField[];

export function draftFrom(images: readonly ImageView[]): Draft {
  const draft = {} as Draft;
  for (const f of METADATA_FIELDS) {
    const values = new Set(images.map((i) => i.metadata[f] ?? ''));
    draft[f] = values.size === 1 ? [...values][0]! : values.size === 0 ? '' : MIXED;
  }
  return draft;
}

export function isLateralSite(code: string): boolean {
  return code !== '' && code !== MIXED && (findBodySite(code)?.lateral ?? false);
}

/** An emptied field clears it (null); the side is cleared with a site that has none, so a "Left" never sticks to a "Nose". */
export function patchFrom(draft: Draft, dirty: ReadonlySet<MetadataField>): ImageMetadataPatch {
  const patch: Partial<Record<MetadataField, string | null>> = {};
  for (const f of dirty) {
    if (draft[f] === MIXED) continue;
    const value = f === 'caption' ? draft.caption.trim() : draft[f];
    patch[f] = value === '' ? null : value;
  }
  if (patch.bodySiteCode !== undefined && !isLateralSite(patch.bodySiteCode ?? '')) patch.laterality = null;
  return patch as ImageMetadataPatch;
}

/** One line describing an image's tags, e.g. "Forearm, Left · Wound · Close-up". */
export function describeMetadata(m: ImageMetadata): string {
  const parts: string[] = [];
  if (m.bodySiteCode) {
    const site = findBodySite(m.bodySiteCode)?.display ?? 'Body site';
    parts.push(m.laterality ? `${site}, ${lateralityDisplay(m.laterality)}` : site);
  }
  if (m.imageType) parts.push(m.imageType === 'post-operative' ? 'Post-operative' : m.imageType.charAt(0).toUpperCase() + m.imageType.slice(1));
  if (m.view) parts.push(m.view === 'close-up' ? 'Close-up' : m.view.charAt(0).toUpperCase() + m.view.slice(1));
  if (m.consent) parts.push(`Consent: ${consentDisplay(m.consent).toLowerCase()}`);
  return parts.join(' · ');
}

/** "Needs: body site, side" (or "Needs: patient consent") from missingFields. */
export function missingText(fields: readonly MetadataField[]): string {
  if (fields.length === 0) return '';
  return `Needs: ${fields.map((f) => FIELD_LABELS[f].toLowerCase()).join(', ')}`;
}
