import { AppError } from '../../shared/errors';

/** Turns a sharp/libvips decode failure into the coded error a GP sees. The cause stays for logs only. */
export function decodeError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(message)) return new AppError('ERR_IMAGE_TOO_MANY_PIXELS', { cause: err });
  if (/unsupported image format/i.test(message)) return new AppError('ERR_IMAGE_UNSUPPORTED', { cause: err });
  return new AppError('ERR_IMAGE_CORRUPT', { cause: err });
}

/** Turns a file-system failure into ERR_STORAGE_FULL / ERR_STORAGE_IO (or keeps an AppError). */
export function storageError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new AppError('ERR_STORAGE_FULL', { cause: err });
  return new AppError('ERR_STORAGE_IO', { cause: err });
}

/** A bad argument from our own UI (edits, output options): fail early and say what was expected. */
export function invalidArgument(name: string, expected: string, received: unknown): AppError {
  // Never echo text back (annotation or caption text may hold clinical words): say only its length.
  let shown: string;
  if (typeof received === 'string') shown = `a string of ${received.length} characters`;
  else if (typeof received === 'number' || typeof received === 'boolean' || received === null || received === undefined) shown = String(received);
  else shown = Array.isArray(received) ? `an array of ${received.length}` : typeof received;
  return new AppError('ERR_REQUEST_INVALID', { detail: `Expected ${expected} for ${name} but received ${shown}` });
}
