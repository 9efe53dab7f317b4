import { describe, expect, it } from 'vitest';
import type { CommitRequest } from '../../../shared/contracts/gateway';
import { sha256Hex } from '../crypto';
import { canonicalJson, commitFingerprint } from './fingerprint';

describe('commitFingerprint', () => {
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
