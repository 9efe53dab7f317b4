import sharp from 'sharp';
import type { Sharp } from 'sharp';
import type { DecodedRgba, HeicColour } from './heic';
import { makeIccProfile, nclxColour } from './icc';
import { rawToTaggedTiff } from './raw-tiff';

const nclxProfiles = new Map<string, Buffer>();

/** The ICC profile that describes decoded HEIC pixels, or null when they are sRGB already (or say nothing). */
export function heicProfile(colour: HeicColour): Buffer | null {
  if (!colour) return null;
  if ('icc' in colour) return colour.icc;
  const described = nclxColour(colour.nclx);
  if (!described) return null;
  const key = `${colour.nclx.primaries}/${colour.nclx.transfer}`;
  let icc = nclxProfiles.get(key);
  if (!icc) {
    icc = makeIccProfile(described, `nclx ${key}`);
    nclxProfiles.set(key, icc);
  }
  return icc;
}

/**
 * A sharp pipeline over decoded HEIC pixels that knows their colour space: tagged with the HEIC's own
 * ICC profile (or one built from its nclx), so sharp converts to sRGB exactly as for a tagged JPEG.
 */
export function heicPixels(decoded: DecodedRgba, limitInputPixels: number): Sharp {
  const icc = heicProfile(decoded.colour);
  if (!icc) return sharp(decoded.data, { raw: { width: decoded.width, height: decoded.height, channels: 4 }, limitInputPixels });
  // failOn 'warning' as for every untrusted input: a damaged embedded profile refuses the file.
  return sharp(rawToTaggedTiff(decoded.data, decoded.width, decoded.height, 4, icc), { limitInputPixels, failOn: 'warning' });
}
