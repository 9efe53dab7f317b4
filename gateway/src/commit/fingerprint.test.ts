import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CommitRequest } from '../../../shared/contracts/gateway';
import { sha256Hex } from '../crypto';
import { canonicalJsonSha256, commitFingerprint } from './fingerprint';
import { canonicalJson } from './fingerprint.testkit';

describe('canonicalJsonSha256', () => {
  it('is sha256(canonicalJson(v)) for any JSON value, large base64 and large non-base64 strings included', () => {
    const big = fc.oneof(
      fc.uint8Array({ minLength: 800, maxLength: 3000 }).map((b) => Buffer.from(b).toString('base64')),
      fc.uint8Array({ minLength: 800, maxLength: 3000 }).map((b) => `${Buffer.from(b).toString('base64')}"\\\n\u2028é`),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, fc.jsonValue(), big, fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(fc.string(), tie('node'), { maxKeys: 4 })),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        expect(canonicalJsonSha256(v)).toBe(sha256Hex(canonicalJson(v)));
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps the stored fingerprints of commits: the same value as before, without the grant id', () => {
    const data = Buffer.alloc(5000, 9).toString('base64');
    const req: CommitRequest = {
      imageId: '0b9f3a5e-8a8e-4c1e-9d7b-2f1c3e4d5a6b',
      grantId: 'g'.repeat(43),
      patientId: 'p1',
      capturedAt: '2026-11-23T10:00:00.000Z',
      metadata: { bodySiteCode: '89545001', laterality: 'left', caption: 'a "quoted" caption' },
      media: { contentType: 'image/jpeg', data },
    };
    const { grantId: _g, ...rest } = req;
    expect(commitFingerprint(req)).toBe(sha256Hex(canonicalJson(rest)));
    expect(commitFingerprint({ ...req, grantId: 'other' })).toBe(commitFingerprint(req));
    expect(commitFingerprint({ ...req, media: { contentType: 'image/jpeg', data: `${data.slice(0, -4)}AAAA` } })).not.toBe(commitFingerprint(req));
  });
});
