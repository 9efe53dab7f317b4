import { describe, expect, it } from 'vitest';
import { uuidV4 } from './ids';
import { readFragmentToken } from './token';

const TOKEN = 'A'.repeat(20) + '_-' + 'b'.repeat(21);

describe('readFragmentToken', () => {
  it('reads the QR token from #t=', () => {
    expect(readFragmentToken(`#t=${TOKEN}`)).toEqual({ kind: 'token', token: TOKEN });
  });
  it('treats no fragment as no token (a reload in the same tab)', () => {
    expect(readFragmentToken('')).toEqual({ kind: 'none' });
    expect(readFragmentToken('#')).toEqual({ kind: 'none' });
    expect(readFragmentToken('#x=1')).toEqual({ kind: 'none' });
  });
  it.each([`#t=${TOKEN}x`, '#t=short', '#t=', `#t=${TOKEN.slice(0, 42)}%`, '#t=<script>'])('refuses a malformed token %s', (hash) => {
    expect(readFragmentToken(hash)).toEqual({ kind: 'malformed' });
  });
});

describe('uuidV4', () => {
  it('makes v4 UUIDs from getRandomValues (randomUUID is missing on plain-http LAN pages)', () => {
    const ids = new Set(Array.from({ length: 200 }, () => uuidV4()));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
  it('sets the version and variant bits whatever the random bytes are', () => {
    expect(uuidV4((b) => b.fill(0xff))).toBe('ffffffff-ffff-4fff-bfff-ffffffffffff');
    expect(uuidV4((b) => b.fill(0))).toBe('00000000-0000-4000-8000-000000000000');
  });
});
