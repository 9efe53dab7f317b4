import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../shared/errors';

const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8');
const serverSource = readFileSync(new URL('./server.ts', import.meta.url), 'utf8') + readFileSync(new URL('./sessions.ts', import.meta.url), 'utf8');

describe('electron/lan README', () => {
  it('documents, in an error table, every error code the LAN server can send', () => {
    const used = [...new Set([...serverSource.matchAll(/'(ERR_[A-Z_]+)'/g)].map((m) => m[1]!))];
    expect(used.length).toBeGreaterThan(10);
    for (const code of used) {
      expect(Object.hasOwn(ERROR_CODES, code), `${code} is a known code`).toBe(true);
      expect(readme, `${code} missing from README error tables`).toMatch(new RegExp(`\\| [^\\n]*${code}`));
    }
  });
});
