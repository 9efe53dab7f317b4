/** Compiled TypeBox checkers for the gateway contract; registers the `date-time` format (TypeBox ships no formats). */
import { FormatRegistry, type TSchema, type Static } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/i;

if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (v) => DATE_TIME.test(v) && !Number.isNaN(Date.parse(v)));
}

export interface Checker<T extends TSchema> {
  check(value: unknown): value is Static<T>;
  /** First failing path and message, without the value itself (it may hold patient data). */
  firstError(value: unknown): string | undefined;
}

export function compile<T extends TSchema>(schema: T): Checker<T> {
  const c: TypeCheck<T> = TypeCompiler.Compile(schema);
  return {
    check: (value: unknown): value is Static<T> => c.Check(value),
    firstError: (value: unknown) => {
      const e = c.Errors(value).First();
      return e === undefined ? undefined : `${e.path || '/'}: ${e.message}`;
    },
  };
}
