/**
 * Checks on the image bytes before anything reaches ALEX: strict base64, the size limit, and magic
 * bytes that match the declared content type.
 */
import { AppError } from '../../../shared/errors';
import type { CommitRequest } from '../../../shared/contracts/gateway';
import { base64Head, base64Size } from '../base64';
import { attachmentKind, type AttachmentKind } from '../fhir/builders';
import { checkImageWellFormed } from './image-check';

export type CommitBody = CommitRequest;

/**
 * Checks one attachment (returns the decoded size): bad base64 → ERR_REQUEST_INVALID; over maxBytes →
 * ERR_COMMIT_IMAGE_TOO_LARGE; bytes not of the declared type → ERR_COMMIT_IMAGE_TYPE; not a clean image
 * → ERR_COMMIT_IMAGE_MALFORMED (./image-check).
 */
export function checkAttachmentData(field: 'media' | 'document', data: string, contentType: AttachmentKind, maxBytes: number): number {
  // Reject on length first: never decode more than the limit allows.
  if (Math.floor((data.length * 3) / 4) - 2 > maxBytes) throw new AppError('ERR_COMMIT_IMAGE_TOO_LARGE', { detail: field });
  const size = base64Size(data, true);
  if (size === null) throw new AppError('ERR_REQUEST_INVALID', { detail: `${field}.data is not valid base64` });
  if (size > maxBytes) throw new AppError('ERR_COMMIT_IMAGE_TOO_LARGE', { detail: field });
  if (attachmentKind(base64Head(data, 8)) !== contentType) throw new AppError('ERR_COMMIT_IMAGE_TYPE', { detail: `${field}: not ${contentType}` });
  checkImageWellFormed(field, data, contentType);
  return size;
}
