/** The LAN server's errors: Fastify, busboy and file-system failures mapped to the coded error the phone sees. */
import type { FastifyError } from 'fastify';
import { AppError } from '../../shared/errors';

export const invalid = (detail: string): AppError => new AppError('ERR_REQUEST_INVALID', { detail });

export function toLanError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as Partial<FastifyError> & { syscall?: string };
  switch (String(e.code ?? '')) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('ERR_REQUEST_TOO_LARGE');
    case 'FST_PARTS_LIMIT':
    case 'FST_FILES_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return new AppError('ERR_LAN_TOO_MANY_PARTS', { detail: 'one file part and at most the documented fields per request' });
    case 'FST_REQ_FILE_TOO_LARGE':
      return new AppError('ERR_IMAGE_FILE_TOO_LARGE');
    case 'ENOSPC':
    case 'EDQUOT':
      return new AppError('ERR_STORAGE_FULL', { cause: err });
  }
  if (typeof e.syscall === 'string') return new AppError('ERR_STORAGE_IO', { cause: err });
  if (Array.isArray(e.validation)) return invalid('the request did not match the schema');
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return invalid('malformed request');
  return new AppError('ERR_INTERNAL', { cause: err });
}
