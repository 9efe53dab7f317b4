import type { Static } from '@sinclair/typebox';
import type { ErrorBodySchema } from '../contracts/common';
import { ERROR_CODES, isErrorCode, type ErrorAction, type ErrorCode } from './codes';

/** The wire form of an error (its schema: shared/contracts/common.ts). */
export type ErrorBody = Static<typeof ErrorBodySchema>;

export type AppErrorOptions = Partial<Pick<ErrorBody, 'message' | 'detail' | 'correlationId' | 'retryAfterSeconds'>> & { cause?: unknown };

/** An expected, coded failure (a bad file, a revoked device, ALEX down). Not a bug. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly action: ErrorAction;
  readonly retryable: boolean;
  readonly detail: string | undefined;
  readonly correlationId: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, options: AppErrorOptions = {}) {
    const spec = ERROR_CODES[code];
    super(options.message ?? spec.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = spec.status;
    this.action = spec.action;
    this.retryable = spec.retryable;
    this.detail = options.detail;
    this.correlationId = options.correlationId;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { code: this.code, message: this.message, action: this.action, retryable: this.retryable };
    if (this.correlationId !== undefined) body.correlationId = this.correlationId;
    if (this.retryAfterSeconds !== undefined) body.retryAfterSeconds = this.retryAfterSeconds;
    if (this.detail !== undefined) body.detail = this.detail;
    return body;
  }

  /** Rebuild an AppError from its wire form (e.g. after crossing HTTP or IPC). Unknown codes become ERR_INTERNAL. */
  static fromBody(body: unknown): AppError {
    if (typeof body === 'object' && body !== null) {
      const b = body as Partial<ErrorBody>;
      if (isErrorCode(b.code)) {
        return new AppError(b.code, {
          message: typeof b.message === 'string' ? b.message : undefined,
          detail: typeof b.detail === 'string' ? b.detail : undefined,
          correlationId: typeof b.correlationId === 'string' ? b.correlationId : undefined,
          retryAfterSeconds: typeof b.retryAfterSeconds === 'number' ? b.retryAfterSeconds : undefined,
        });
      }
    }
    return new AppError('ERR_INTERNAL');
  }
}

/** A broken invariant: a bug in our code, never a user's mistake. Shown as ERR_INTERNAL. */
export class BugIndicatingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BugIndicatingError';
  }
}

/** Any thrown value → AppError (unknown errors become ERR_INTERNAL, keeping the cause for logs). */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  return new AppError('ERR_INTERNAL', { cause: err });
}
