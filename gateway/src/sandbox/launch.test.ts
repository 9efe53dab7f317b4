import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createLaunchCodec, MAX_LAUNCH_SEGMENT_CHARS } from './launch';

const claims = { patientId: '14e52e16edb7a435bfa05e307afd008b', facilityCode: 'F2N060-E', providerId: null, createdTime: '2026-11-23T00:00:00.000Z' };

describe('launch codec', () => {
  it('issues opaque standard-base64 pairs that carry + / = and decode back', () => {
    const codec = createLaunchCodec(randomBytes(32), randomBytes);
    const seen = { plus: false, slash: false };
    for (let i = 0; i < 200; i++) {
      const patientId = `patient-${i}-14e52e16edb7a435bfa05e307afd008b`;
      const pair = codec.issue({ ...claims, patientId });
      expect(pair.context).toMatch(/^[A-Za-z0-9+/]+=+$/);
      expect(pair.signature).toMatch(/^[A-Za-z0-9+/]{43}=$/);
      expect(Buffer.from(pair.context, 'base64').includes(patientId)).toBe(false);
      seen.plus ||= pair.context.includes('+');
      seen.slash ||= pair.context.includes('/');
      expect(codec.decode(pair.context, pair.signature)).toEqual({ ok: true, claims: { ...claims, patientId } });
    }
    expect(seen).toEqual({ plus: true, slash: true });
  });

  it('rejects every single-character change of the context or the signature', () => {
    const codec = createLaunchCodec(randomBytes(32), randomBytes);
    const pair = codec.issue(claims);
    for (let i = 0; i < pair.context.length - 2; i++) {
      const c = pair.context[i] === 'A' ? 'B' : 'A';
      const tampered = pair.context.slice(0, i) + c + pair.context.slice(i + 1);
      expect(codec.decode(tampered, pair.signature).ok).toBe(false);
    }
    for (let i = 0; i < pair.signature.length - 2; i++) {
      const c = pair.signature[i] === 'A' ? 'B' : 'A';
      expect(codec.decode(pair.context, pair.signature.slice(0, i) + c + pair.signature.slice(i + 1))).toEqual({ ok: false, reason: 'signature' });
    }
  });

  it('tells garbage (malformed) from a wrong key (signature)', () => {
    const a = createLaunchCodec(randomBytes(32), randomBytes);
    const b = createLaunchCodec(randomBytes(32), randomBytes);
    const pair = a.issue(claims);
    expect(b.decode(pair.context, pair.signature)).toEqual({ ok: false, reason: 'signature' });
    expect(a.decode('', pair.signature)).toEqual({ ok: false, reason: 'malformed' });
    expect(a.decode('not base64!', pair.signature)).toEqual({ ok: false, reason: 'malformed' });
    expect(a.decode('A'.repeat(MAX_LAUNCH_SEGMENT_CHARS + 4), pair.signature)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('decodes pairs from the same secret across instances (SANDBOX_LAUNCH_SECRET survives a restart)', () => {
    const secret = Buffer.from('a fixed sandbox secret');
    const pair = createLaunchCodec(secret, randomBytes).issue(claims);
    expect(createLaunchCodec(secret, randomBytes).decode(pair.context, pair.signature)).toEqual({ ok: true, claims });
  });
});
