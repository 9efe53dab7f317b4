import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withTable } from '../../scripts/error-table';
import { AppError, toAppError } from './app-error';
import { ALL_ERROR_CODES, ERROR_CODES } from './codes';

describe('error vocabulary', () => {
  it('documents every code in shared/README.md (run `npx tsx scripts/error-table.ts`)', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(withTable(readme)).toBe(readme);
    for (const code of ALL_ERROR_CODES) expect(readme).toContain(`\`${code}\``);
  });

  it('names codes ERR_<AREA>_<WHAT> with an HTTP status and a plain message', () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^ERR(_[A-Z0-9]+)+$/);
      expect(spec.status).toBeGreaterThanOrEqual(400);
      expect(spec.status).toBeLessThan(600);
      expect(spec.message.length).toBeGreaterThan(10);
      // Plain language: no jargon a GP would not know.
      expect(spec.message).not.toMatch(/FHIR|OAuth|HTTP|stack|exception|null|undefined|idempotency/i);
    }
  });

  it('round-trips an error through its wire form without a stack', () => {
    const e = new AppError('ERR_ALEX_THROTTLED', { correlationId: 'c-1', retryAfterSeconds: 30, detail: 'token endpoint' });
    const body = JSON.parse(JSON.stringify(e.toBody()));
    expect(body).not.toHaveProperty('stack');
    const back = AppError.fromBody(body);
    expect(back.code).toBe('ERR_ALEX_THROTTLED');
    expect(back.retryable).toBe(true);
    expect(back.retryAfterSeconds).toBe(30);
    expect(back.correlationId).toBe('c-1');
  });

  it('turns unknown codes and thrown values into ERR_INTERNAL', () => {
    expect(AppError.fromBody({ code: 'ERR_MADE_UP', message: 'x' }).code).toBe('ERR_INTERNAL');
    expect(AppError.fromBody('nonsense').code).toBe('ERR_INTERNAL');
    const wrapped = toAppError(new TypeError('boom'));
    expect(wrapped.code).toBe('ERR_INTERNAL');
    expect(wrapped.message).not.toContain('boom');
  });
});
