/**
 * Checks on the image bytes before anything reaches ALEX: strict base64, the size limit, and magic
 * bytes that match the declared content type.
 */
import { AppError } from '../../../shared/errors';
import type { CommitRequest } from '../../../shared/contracts/gateway';
import { base64Head, base64Size } from '../base64';
import { checkImageWellFormed } from './image-check';

export type CommitBody = CommitRequest;

export type CommitContentType = 'image/jpeg' | 'image/png' | 'image/tiff' | 'application/pdf';

const startsWith = (b: Buffer, sig: readonly number[]): boolean => b.length >= sig.length && sig.every((v, i) => b[i] === v);

export function magicMatches(bytes: Buffer, contentType: CommitContentType): boolean {
  switch (contentType) {
    case 'image/jpeg':
      return startsWith(bytes, [0xff, 0xd8, 0xff]);
    case 'image/png':
      return startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    case 'image/tiff':
      return startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a]);
    case 'application/pdf':
      return startsWith(bytes, [0x25, 0x50, 0x44, 0x46, 0x2d]);
  }
}

/**
 * Checks one attachment (returns the decoded size): bad base64 → ERR_REQUEST_INVALID; over maxBytes →
 * ERR_COMMIT_IMAGE_TOO_LARGE; bytes not of the declared type → ERR_COMMIT_IMAGE_TYPE; not a clean image
 * → ERR_COMMIT_IMAGE_MALFORMED (./image-check).
 */
export function checkAttachmentData(field: 'media' | 'document', data: string, contentType: CommitContentType, maxBytes: number): number {
  // Reject on length first: never decode more than the limit allows.
  if (Math.floor((data.length * 3) / 4) - 2 > maxBytes) throw new AppError('ERR_COMMIT_IMAGE_TOO_LARGE', { detail: field });
  const size = base64Size(data, true);
  if (size === null) throw new AppError('ERR_REQUEST_INVALID', { detail: `${field}.data is not valid base64` });
  if (size > maxBytes) throw new AppError('ERR_COMMIT_IMAGE_TOO_LARGE', { detail: field });
  if (!magicMatches(base64Head(data, 8), contentType)) throw new AppError('ERR_COMMIT_IMAGE_TYPE', { detail: `${field}: not ${contentType}` });
  checkImageWellFormed(field, data, contentType);
  return size;
}
