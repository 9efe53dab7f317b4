/**
 * What went wrong with a request from the phone, and what the page does about it. The server's ErrorBody carries the
 * message shown to the nurse; with no body (dropped Wi-Fi, a proxy page) the status picks the shared message.
 */
import { ERROR_CODES, isErrorCode, type ErrorCode } from '../../../shared/errors/codes';
import type { ErrorBody } from '../../../shared/errors/app-error';

export type Failure =
  | { kind: 'http'; status: number; body: ErrorBody }
  /** No answer: the connection dropped, the phone is offline, or the PC is unreachable. */
  | { kind: 'network' }
  | { kind: 'timeout' }
  /** Cancelled by the page (a photo removed, the session stopped). Not an error. */
  | { kind: 'aborted' };

export class RequestFailed extends Error {
  constructor(readonly failure: Failure) {
    super(failure.kind === 'http' ? failure.body.code : failure.kind);
    this.name = 'RequestFailed';
  }
}

/** A rejection from the transport as a Failure (anything unexpected counts as a dropped connection). */
export function failureOf(err: unknown): Failure {
  return err instanceof RequestFailed ? err.failure : { kind: 'network' };
}

/** The server's answer when it says this phone's session is over (see `classify`), else undefined. */
export function sessionEndOf(err: unknown): ErrorBody | undefined {
  const failure = failureOf(err);
  return failure.kind === 'http' && classify(failure) === 'session' ? failure.body : undefined;
}

/** The page's own words for states that have no server answer. */
export const PHONE_MESSAGES = {
  offline: 'No connection to the PC. Check the phone is on the practice Wi-Fi. Photos send by themselves when it is back.',
  reconnecting: 'The connection to the PC dropped. Trying again…',
  cannotConnect: 'The phone cannot reach the PC. Check the phone is on the practice Wi-Fi (not mobile data), then try again.',
  noLink: 'Open this page by scanning the QR code on the PC.',
  /** What to check when the PC cannot be reached, most likely first. */
  checks: [
    'The phone is on the practice Wi-Fi — the same network as the PC, not mobile data.',
    'It is not the guest Wi-Fi: guest networks keep phones apart from the practice PCs (client isolation).',
    'No VPN is switched on, on the phone.',
    'The PC is on and ClinicPro Images is open, showing the QR code.',
  ],
} as const;

export function bodyFor(code: ErrorCode, extra: Partial<ErrorBody> = {}): ErrorBody {
  const spec = ERROR_CODES[code];
  return { code, message: spec.message, action: spec.action, retryable: spec.retryable, ...extra };
}

const FALLBACK_BY_STATUS: Record<number, ErrorCode> = {
  400: 'ERR_REQUEST_INVALID',
  401: 'ERR_LAN_TOKEN_INVALID',
  403: 'ERR_LAN_CROSS_SITE',
  404: 'ERR_NOT_FOUND',
  409: 'ERR_IDEMPOTENCY_IN_PROGRESS',
  410: 'ERR_LAN_SESSION_ENDED',
  413: 'ERR_IMAGE_FILE_TOO_LARGE',
  415: 'ERR_IMAGE_UNSUPPORTED',
  421: 'ERR_LAN_HOST_REJECTED',
  429: 'ERR_RATE_LIMITED',
  507: 'ERR_STORAGE_FULL',
};

/** An HTTP error answer → its ErrorBody (the server's when it sent a well-formed one). */
export function parseErrorBody(status: number, text: string, retryAfterHeader?: string | null): ErrorBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const candidate = typeof parsed === 'object' && parsed !== null ? (parsed as { error?: unknown }).error : undefined;
  if (typeof candidate === 'object' && candidate !== null) {
    const b = candidate as Partial<ErrorBody>;
    if (isErrorCode(b.code) && typeof b.message === 'string' && b.message.length > 0) {
      const spec = ERROR_CODES[b.code];
      const body: ErrorBody = { code: b.code, message: b.message, action: b.action ?? spec.action, retryable: b.retryable ?? spec.retryable };
      if (typeof b.correlationId === 'string') body.correlationId = b.correlationId;
      if (typeof b.retryAfterSeconds === 'number') body.retryAfterSeconds = b.retryAfterSeconds;
      return body;
    }
  }
  const code = FALLBACK_BY_STATUS[status] ?? (status >= 500 ? 'ERR_INTERNAL' : 'ERR_REQUEST_INVALID');
  const retryAfter = retryAfterHeader ? Number(retryAfterHeader) : Number.NaN;
  return bodyFor(code, Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfterSeconds: retryAfter } : {});
}

/**
 * What a failed upload means:
 * - `session`: the session is over for this phone (patient changed, ended, credential dead) → stop every upload now;
 * - `retry`: try the same photo again later with the same clientUploadId (network, timeout, 5xx, 429, busy);
 * - `photo`: this photo cannot be sent (too large, not an image, damaged) → mark it, the others continue;
 * - `ignore`: cancelled by the page.
 */
export type FailureClass = 'session' | 'retry' | 'photo' | 'ignore';

const SESSION_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'ERR_LAN_PATIENT_CHANGED',
  'ERR_LAN_SESSION_ENDED',
  'ERR_LAN_SESSION_SENT',
  'ERR_LAN_TOKEN_INVALID',
  'ERR_LAN_TOKEN_EXPIRED',
  'ERR_LAN_HOST_REJECTED',
  'ERR_LAN_CROSS_SITE',
]);

export function classify(failure: Failure): FailureClass {
  switch (failure.kind) {
    case 'aborted':
      return 'ignore';
    case 'network':
    case 'timeout':
      return 'retry';
    case 'http': {
      const { status, body } = failure;
      if (SESSION_CODES.has(body.code)) return 'session';
      if (status >= 500 || status === 429 || body.code === 'ERR_IDEMPOTENCY_IN_PROGRESS' || body.code === 'ERR_RATE_LIMITED') return 'retry';
      return 'photo';
    }
  }
}
