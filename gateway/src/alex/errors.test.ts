import { describe, expect, it } from 'vitest';
import { classifyNetworkError, normaliseAlexHttpError, parseAlexErrorBody, parseRetryAfter } from './errors';

const outcome = (code: string, diagnostics: string, expression?: string[]) => ({
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'error', code, diagnostics, ...(expression ? { expression } : {}) }],
});

describe('ALEX error normaliser', () => {
  it('reads all three shapes ALEX answers with: OperationOutcome, {statusCode, message}, plain text', () => {
    expect(parseAlexErrorBody(outcome('forbidden', 'Practice Facility not found')).text).toContain('practice facility not found');
    expect(parseAlexErrorBody({ statusCode: 404, message: 'Resource not found' }).text).toBe('resource not found');
    expect(parseAlexErrorBody('Service Unavailable').text).toBe('service unavailable');
    expect(parseAlexErrorBody(Buffer.from(JSON.stringify(outcome('invalid', 'x', ['Media.identifier'])))).expressions).toEqual(['Media.identifier']);
    expect(parseAlexErrorBody('{not json').text).toBe('{not json');
  });

  it.each([
    [401, outcome('login', 'token expired'), 'ERR_ALEX_AUTH'],
    [403, outcome('forbidden', 'Practice Facility not found'), 'ERR_ALEX_FACILITY_NOT_FOUND'],
    [403, { statusCode: 403, message: 'Practice Facility not found' }, 'ERR_ALEX_FACILITY_NOT_FOUND'],
    [403, outcome('forbidden', 'Authorization failed'), 'ERR_ALEX_FORBIDDEN'],
    [404, { statusCode: 404, message: 'Resource not found' }, 'ERR_ALEX_NOT_FOUND'],
    [400, 'Bad Request', 'ERR_ALEX_REJECTED'],
    [413, outcome('too-long', 'too big'), 'ERR_ALEX_REJECTED'],
    [422, outcome('required', 'identifier is required', ['Media.identifier']), 'ERR_ALEX_REJECTED'],
    [429, '', 'ERR_ALEX_THROTTLED'],
    [503, outcome('transient', 'Hybrid connection down'), 'ERR_ALEX_UNAVAILABLE'],
    [504, '', 'ERR_ALEX_TIMEOUT'],
    [500, 'An error occurred', 'ERR_ALEX_ERROR'],
    [502, '<html>Bad gateway</html>', 'ERR_ALEX_ERROR'],
  ])('%i %j → %s', (status, body, code) => {
    expect(normaliseAlexHttpError({ status, body }).code).toBe(code);
  });

  it('keeps only structural detail: issue codes and element paths, never ALEX free text (it may quote a patient)', () => {
    const e = normaliseAlexHttpError({
      status: 422,
      body: outcome('value', 'Patient ZZZ0016 Canary Testpatient born 1961-05-21 not found', ['Media.subject.reference', "x' OR 1=1 --"]),
      correlationId: 'c-1',
    });
    expect(e.detail).toBe('ALEX 422; issue value; at Media.subject.reference');
    expect(JSON.stringify(e.toBody())).not.toMatch(/ZZZ0016|Canary|1961/);
    expect(e.correlationId).toBe('c-1');
  });

  it('carries Retry-After on 429 and 503', () => {
    expect(normaliseAlexHttpError({ status: 429, body: '', retryAfterSeconds: 7 }).retryAfterSeconds).toBe(7);
    expect(normaliseAlexHttpError({ status: 503, body: '', retryAfterSeconds: 30 }).retryAfterSeconds).toBe(30);
  });

  it('parses Retry-After as seconds or an HTTP date, and ignores junk', () => {
    const now = Date.parse('2026-11-23T00:00:00Z');
    expect(parseRetryAfter('60', now)).toBe(60);
    expect(parseRetryAfter('1.2', now)).toBe(2);
    expect(parseRetryAfter('Mon, 23 Nov 2026 00:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Mon, 22 Nov 2026 00:00:30 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter(['5'], now)).toBe(5);
  });

  it('tells a connection never made from one that broke after sending, and a timeout', () => {
    expect(classifyNetworkError('ECONNREFUSED', '')).toBe('not-sent');
    expect(classifyNetworkError('ENOTFOUND', '')).toBe('not-sent');
    expect(classifyNetworkError('ECONNRESET', 'socket hang up')).toBe('reset');
    expect(classifyNetworkError('ETIMEDOUT', 'timeout of 300ms exceeded')).toBe('timeout');
    expect(classifyNetworkError('ECONNABORTED', 'timeout of 300ms exceeded')).toBe('timeout');
    expect(classifyNetworkError('ECONNABORTED', 'aborted')).toBe('reset');
    expect(classifyNetworkError(undefined, undefined)).toBe('reset');
  });
});
