/**
 * Whatever ALEX (an OperationOutcome, `{statusCode, message}` or plain text) or the network answered → one
 * ERR_ALEX_* AppError. ALEX's free text may quote patient data: only status, issue codes and paths pass on.
 */
import { AppError } from '../../../shared/errors';
import { rec } from './types';

/** Parsed from an ALEX error body. `text` is for classification only and never leaves this module. */
export interface AlexErrorBody {
  /** Lower-cased concatenation of every human text in the body (diagnostics, details, message, raw text). */
  text: string;
  /** FHIR issue codes (`invalid`, `required`, …). */
  issueCodes: string[];
  /** FHIR element paths named by the issues (`Media.identifier`). */
  expressions: string[];
}

/** How one attempt failed below HTTP. */
export type NetworkFailure =
  /** The connection was never made (refused, DNS): ALEX certainly did not see the request. */
  | 'not-sent'
  /** Reset or broken after the request may have been sent: ALEX may or may not have processed it. */
  | 'reset'
  /** No answer within the timeout: ALEX may or may not have processed it. */
  | 'timeout';

/**
 * A 503 that says the practice's Hybrid Connection has no listener (ALEX.md: "503 — the facility's Hybrid
 * Connection is down — the practice PC that runs it is asleep"): the request never reached Evolution, so
 * nothing was stored. Any other 503 may have come after Evolution stored the create.
 */
export function isHybridConnectionDown(status: number, body: unknown): boolean {
  return status === 503 && parseAlexErrorBody(body).text.includes('no listeners connected');
}

/** True when a create failed in a way that leaves open whether ALEX stored it: nothing may resend it until that is proven. */
export function isAlexOutcomeUnknown(err: unknown): boolean {
  return err instanceof AppError && err.code === 'ERR_ALEX_OUTCOME_UNKNOWN';
}

const SAFE_TOKEN = /^[A-Za-z0-9_.\-[\]()]{1,80}$/;

/** An error body of any of ALEX's three shapes (a string, a Buffer, or already JSON-parsed) as a value. */
function bodyValue(body: unknown): unknown {
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : body;
  if (typeof text !== 'string') return text;
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return trimmed;
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    return trimmed;
  }
}

/** An OperationOutcome's issues: their codes and paths (safe tokens only) into `out`, their texts into `texts`. */
function readIssues(issues: unknown[], out: AlexErrorBody, texts: string[]): void {
  for (const issue of issues.map(rec)) {
    if (!issue) continue;
    if (typeof issue.code === 'string' && SAFE_TOKEN.test(issue.code)) out.issueCodes.push(issue.code);
    if (typeof issue.diagnostics === 'string') texts.push(issue.diagnostics);
    const details = rec(issue.details);
    if (details && typeof details.text === 'string') texts.push(details.text);
    const paths = [issue.expression, issue.location].flatMap((list) => (Array.isArray(list) ? (list as unknown[]) : []));
    for (const p of paths) if (typeof p === 'string' && SAFE_TOKEN.test(p)) out.expressions.push(p);
  }
}

const TEXT_KEYS = ['message', 'Message', 'error', 'error_description', 'title', 'detail'];

export function parseAlexErrorBody(body: unknown): AlexErrorBody {
  const out: AlexErrorBody = { text: '', issueCodes: [], expressions: [] };
  const value = bodyValue(body);
  const record = rec(value);
  const texts: string[] = typeof value === 'string' ? [value] : [];
  if (record?.resourceType === 'OperationOutcome' && Array.isArray(record.issue)) readIssues(record.issue, out, texts);
  else if (record) texts.push(...TEXT_KEYS.map((key) => record[key]).filter((t): t is string => typeof t === 'string'));
  out.text = texts.join(' | ').toLowerCase().slice(0, 2000);
  return out;
}

/** Retry-After (seconds or an HTTP date) → whole seconds ≥ 0, or undefined when absent or unreadable. */
export function parseRetryAfter(header: unknown, nowMs: number): number | undefined {
  const raw = Array.isArray(header) ? (header[0] as unknown) : header;
  if (typeof raw === 'number' && Number.isFinite(raw)) return Math.max(0, Math.ceil(raw));
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  const s = raw.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.max(0, Math.ceil(Number(s)));
  const at = Date.parse(s);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - nowMs) / 1000));
}

function safeDetail(status: number, body: AlexErrorBody): string {
  const parts = [`ALEX ${status}`];
  if (body.issueCodes.length) parts.push(`issue ${[...new Set(body.issueCodes)].slice(0, 5).join(',')}`);
  if (body.expressions.length) parts.push(`at ${[...new Set(body.expressions)].slice(0, 5).join(',')}`);
  return parts.join('; ');
}

export interface HttpFailure {
  status: number;
  body: unknown;
  retryAfterSeconds?: number;
  correlationId?: string;
  cause?: unknown;
}

/**
 * An HTTP error answer from ALEX → AppError. A 401 reaching here is final: the client has already
 * dropped its token, fetched a new one and retried once.
 */
export function normaliseAlexHttpError(f: HttpFailure): AppError {
  const body = parseAlexErrorBody(f.body);
  const base = { correlationId: f.correlationId, cause: f.cause };
  const { status } = f;
  if (status === 401) return new AppError('ERR_ALEX_AUTH', { ...base, detail: 'ALEX 401 after a fresh token' });
  if (status === 403) {
    if (body.text.includes('facility not found')) return new AppError('ERR_ALEX_FACILITY_NOT_FOUND', { ...base, detail: 'ALEX 403 facility' });
    return new AppError('ERR_ALEX_FORBIDDEN', { ...base, detail: safeDetail(status, body) });
  }
  if (status === 404) return new AppError('ERR_ALEX_NOT_FOUND', { ...base, detail: safeDetail(status, body) });
  if (status === 429) return new AppError('ERR_ALEX_THROTTLED', { ...base, retryAfterSeconds: f.retryAfterSeconds, detail: 'ALEX 429' });
  if (status === 503) return new AppError('ERR_ALEX_UNAVAILABLE', { ...base, retryAfterSeconds: f.retryAfterSeconds, detail: 'ALEX 503' });
  if (status === 504) return new AppError('ERR_ALEX_TIMEOUT', { ...base, detail: 'ALEX 504' });
  if (status >= 400 && status < 500) return new AppError('ERR_ALEX_REJECTED', { ...base, detail: safeDetail(status, body) });
  return new AppError('ERR_ALEX_ERROR', { ...base, retryAfterSeconds: f.retryAfterSeconds, detail: `ALEX ${status}` });
}

const NETWORK_ERRORS = {
  timeout: ['ERR_ALEX_TIMEOUT', 'no answer in time'],
  'not-sent': ['ERR_ALEX_UNAVAILABLE', 'could not connect'],
  reset: ['ERR_ALEX_UNAVAILABLE', 'connection lost'],
} as const;

export function normaliseAlexNetworkError(kind: NetworkFailure, correlationId?: string, cause?: unknown): AppError {
  const [code, detail] = NETWORK_ERRORS[kind];
  return new AppError(code, { correlationId, cause, detail });
}

/** Node/axios codes of a connection that was never made. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_INVALID_URL']);

export function classifyNetworkError(code: string | undefined, message: string | undefined): NetworkFailure {
  if (NOT_SENT.has(code ?? '')) return 'not-sent';
  if (code === 'ETIMEDOUT' || code === 'ESOCKETTIMEDOUT') return 'timeout';
  return code === 'ECONNABORTED' && /timeout/i.test(message ?? '') ? 'timeout' : 'reset';
}
