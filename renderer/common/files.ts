/**
 * Picking files to send over the bridge: which files go in which batch, which are refused before sending,
 * and base64 encoding. Pure (no DOM types beyond Uint8Array), so the rules are unit-tested.
 */
import { AppError, type ErrorBody } from '../../shared/errors/app-error';
import { LIMITS } from '../../shared/limits';

/** What the file picker, drop zone and paste accept. HEIC/HEIF often have no MIME type, so extensions too. */
export const ACCEPT_ATTRIBUTE = 'image/jpeg,image/png,image/webp,image/tiff,image/heic,image/heif,application/pdf,.jpg,.jpeg,.png,.webp,.tif,.tiff,.heic,.heif,.pdf';

export interface BatchPlan {
  /** Each file's index and the name to send (trimmed to the contract's 255 characters, extension kept). */
  batches: { index: number; name: string }[][];
  /** Files refused before sending, with the same coded message the core would give. */
  rejected: { index: number; name: string; error: ErrorBody }[];
}

export const BATCH_LIMITS = {
  maxFilesPerBatch: LIMITS.maxUploadFilesPerRequest,
  maxFileBytes: LIMITS.maxUploadFileBytes,
  /** Raw bytes per batch (base64 adds a third on the wire). A single larger file still goes alone. */
  maxBatchBytes: 40 * 1024 * 1024,
};

/** A safe display/sending name: no path parts, no control characters, at most 255 characters with the extension kept. */
export function cleanFileName(raw: string, fallback = 'Pasted image'): string {
  const base = raw.split(/[\\/]/).pop() ?? '';
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  if (!clean) return fallback;
  if (clean.length <= 255) return clean;
  const dot = clean.lastIndexOf('.');
  const ext = dot > 0 && clean.length - dot <= 10 ? clean.slice(dot) : '';
  return clean.slice(0, 255 - ext.length) + ext;
}

/**
 * Split files into batches within the bridge contract (at most 10 files, within a byte budget) and refuse,
 * before sending, files that can never be accepted: empty files and files over 40 MB.
 */
export function planBatches(files: readonly { name: string; size: number }[]): BatchPlan {
  const plan: BatchPlan = { batches: [], rejected: [] };
  let current: BatchPlan['batches'][number] = [];
  let currentBytes = 0;
  files.forEach((f, index) => {
    const name = cleanFileName(f.name);
    if (f.size <= 0) {
      plan.rejected.push({ index, name, error: new AppError('ERR_IMAGE_CORRUPT', { detail: 'empty file' }).toBody() });
      return;
    }
    if (f.size > BATCH_LIMITS.maxFileBytes) {
      plan.rejected.push({ index, name, error: new AppError('ERR_IMAGE_FILE_TOO_LARGE').toBody() });
      return;
    }
    if (current.length > 0 && (current.length >= BATCH_LIMITS.maxFilesPerBatch || currentBytes + f.size > BATCH_LIMITS.maxBatchBytes)) {
      plan.batches.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push({ index, name });
    currentBytes += f.size;
  });
  if (current.length > 0) plan.batches.push(current);
  return plan;
}

/** Bytes per btoa call: a multiple of 3 (so no padding mid-way), small enough for String.fromCharCode's arguments. */
const BASE64_CHUNK_BYTES = 3 * 8192;

/**
 * Standard, padded base64 of bytes (the contract's Base64), never one character at a time (a dropped photo can be
 * 40 MB): the platform's `Uint8Array.prototype.toBase64` (Chromium 140+, i.e. Electron 38+) when present, else btoa per chunk.
 */
export function bytesToBase64(bytes: Uint8Array): string {
  const native = (bytes as Uint8Array & { toBase64?: () => string }).toBase64;
  if (typeof native === 'function') return native.call(bytes);
  return bytesToBase64Chunked(bytes);
}

/** The fallback of bytesToBase64 (exported for its test: Node 20 has no `toBase64`). */
export function bytesToBase64Chunked(bytes: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += BASE64_CHUNK_BYTES) {
    parts.push(btoa(String.fromCharCode(...bytes.subarray(i, i + BASE64_CHUNK_BYTES))));
  }
  return parts.join('');
}

/** A file name for a pasted image: "Pasted image 14-05-33.png". */
export function pastedName(mime: string, at: Date): string {
  const ext = mime === 'image/png' ? 'png' : mime === 'image/jpeg' ? 'jpg' : mime === 'image/webp' ? 'webp' : mime.startsWith('image/') ? mime.slice(6).replace(/[^a-z0-9]/g, '') || 'img' : 'img';
  const t = [at.getHours(), at.getMinutes(), at.getSeconds()].map((x) => String(x).padStart(2, '0')).join('-');
  return `Pasted image ${t}.${ext}`;
}
