/**
 * Writes the error-code table in shared/README.md from shared/errors/codes.ts.
 * Run after adding a code: `npx tsx scripts/error-table.ts` (shared/errors/codes.test.ts fails until you do).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES } from '../shared/errors/codes';

export const START = '<!-- error-table:start -->';
export const END = '<!-- error-table:end -->';

export function renderErrorTable(): string {
  const rows = Object.entries(ERROR_CODES).map(
    ([code, s]) => `| \`${code}\` | ${s.status} | ${s.action} | ${s.retryable ? 'yes' : 'no'} | ${s.message.replace(/\|/g, '\\|')} |`,
  );
  return [START, '| code | HTTP | action | retryable | message shown |', '|---|---|---|---|---|', ...rows, END].join('\n');
}

export function withTable(readme: string): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < 0) throw new Error('shared/README.md has no error-table markers');
  return readme.slice(0, a) + renderErrorTable() + readme.slice(b + END.length);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = fileURLToPath(new URL('../shared/README.md', import.meta.url));
  writeFileSync(path, withTable(readFileSync(path, 'utf8')));
  console.log('shared/README.md error table updated');
}
