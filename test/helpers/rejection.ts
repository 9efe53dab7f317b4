/** The AppError a promise rejects with; the test fails if it resolves or rejects with anything else. */
import { expect } from 'vitest';
import { AppError } from '../../shared/errors';

export async function rejection(p: Promise<unknown>): Promise<AppError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AppError);
  return e as AppError;
}
