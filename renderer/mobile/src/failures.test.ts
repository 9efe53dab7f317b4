import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../../shared/errors/codes';
import { classify, parseErrorBody } from './failures';

describe('parseErrorBody', () => {
  it('keeps the server message and code', () => {
    const text = JSON.stringify({ error: { code: 'ERR_LAN_PATIENT_CHANGED', message: 'Changed.', action: 'rescan', retryable: false, correlationId: 'c1' } });
    expect(parseErrorBody(409, text)).toEqual({ code: 'ERR_LAN_PATIENT_CHANGED', message: 'Changed.', action: 'rescan', retryable: false, correlationId: 'c1' });
  });
  it('falls back to the shared message for the status when the body is not ours', () => {
    expect(parseErrorBody(413, '<html>nginx</html>')).toMatchObject({ code: 'ERR_IMAGE_FILE_TOO_LARGE', message: ERROR_CODES.ERR_IMAGE_FILE_TOO_LARGE.message });
    expect(parseErrorBody(502, '')).toMatchObject({ code: 'ERR_INTERNAL', retryable: true });
    expect(parseErrorBody(409, JSON.stringify({ error: { code: 'ERR_MADE_UP', message: 'x' } })).code).toBe('ERR_IDEMPOTENCY_IN_PROGRESS');
  });
  it('takes Retry-After from the header when the body has none', () => {
    expect(parseErrorBody(429, '', '60')).toMatchObject({ code: 'ERR_RATE_LIMITED', retryAfterSeconds: 60 });
  });
});

describe('classify', () => {
  const http = (status: number, code: keyof typeof ERROR_CODES) => ({ kind: 'http' as const, status, body: { code, message: 'm', action: 'retry' as const, retryable: false } });
  it("stops the whole session on patient change, end, the GP's Send, expiry and a dead link", () => {
    expect(classify(http(409, 'ERR_LAN_PATIENT_CHANGED'))).toBe('session');
    expect(classify(http(410, 'ERR_LAN_SESSION_ENDED'))).toBe('session');
    expect(classify(http(410, 'ERR_LAN_SESSION_SENT'))).toBe('session');
    expect(classify(http(401, 'ERR_LAN_TOKEN_EXPIRED'))).toBe('session');
    expect(classify(http(401, 'ERR_LAN_TOKEN_INVALID'))).toBe('session');
  });
  it('retries network drops, timeouts, 5xx, 429 and a still-streaming duplicate', () => {
    expect(classify({ kind: 'network' })).toBe('retry');
    expect(classify({ kind: 'timeout' })).toBe('retry');
    expect(classify(http(500, 'ERR_STORAGE_IO'))).toBe('retry');
    expect(classify(http(507, 'ERR_STORAGE_FULL'))).toBe('retry');
    expect(classify(http(429, 'ERR_RATE_LIMITED'))).toBe('retry');
    expect(classify(http(409, 'ERR_IDEMPOTENCY_IN_PROGRESS'))).toBe('retry');
  });
  it('fails only the photo for a bad file', () => {
    expect(classify(http(413, 'ERR_IMAGE_FILE_TOO_LARGE'))).toBe('photo');
    expect(classify(http(415, 'ERR_IMAGE_UNSUPPORTED'))).toBe('photo');
    expect(classify(http(422, 'ERR_IMAGE_CORRUPT'))).toBe('photo');
    expect(classify(http(400, 'ERR_REQUEST_INVALID'))).toBe('photo');
  });
  it('ignores its own cancellations', () => {
    expect(classify({ kind: 'aborted' })).toBe('ignore');
  });
});
