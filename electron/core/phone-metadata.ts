/**
 * The details a nurse gave with a phone photo (body site, side, the patient's consent), checked again on the PC
 * side and turned into the image's metadata. Anything not valid is left out, never guessed.
 */
import type { ImageMetadata } from '../../shared/contracts/common';
import { CONSENTS, LATERALITIES } from '../../shared/coded/values';
import type { LanFile } from './ports';

export function phoneMetadata(given: LanFile['metadata']): ImageMetadata {
  const metadata: ImageMetadata = {};
  if (given.bodySiteCode !== undefined && /^[0-9]{6,18}$/.test(given.bodySiteCode)) metadata.bodySiteCode = given.bodySiteCode;
  if (given.laterality !== undefined && LATERALITIES.some((l) => l.key === given.laterality)) metadata.laterality = given.laterality;
  if (given.consent !== undefined && CONSENTS.some((c) => c.key === given.consent)) metadata.consent = given.consent;
  return metadata;
}
