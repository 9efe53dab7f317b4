import { decodeProtectedHeader, EmbeddedJWK, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors';
import { createDpopProof, exportDpopKey, generateDpopKey, importDpopKey } from './dpop';

const NOW = Date.parse('2026-01-15T00:00:00Z');

describe('DPoP proofs made with node:crypto', () => {
  it('verify with jose as ES256 dpop+jwt carrying the public key, with the claims of the call', async () => {
    const key = generateDpopKey();
    const proof = createDpopProof(key, { method: 'POST', url: 'https://gw.example.org/v1/commits?x=1#frag', now: NOW + 999 });
    const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'], currentDate: new Date(NOW) });
    expect(protectedHeader).toEqual({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.publicJwk });
    expect(Object.keys(key.publicJwk).sort()).toEqual(['crv', 'kty', 'x', 'y']);
    expect(payload).toEqual({ jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/), htm: 'POST', htu: 'https://gw.example.org/v1/commits', iat: NOW / 1000 });
  });

  it('uses a new 128-bit jti for every proof', () => {
    const key = generateDpopKey();
    const jtis = new Set(Array.from({ length: 50 }, () => JSON.parse(Buffer.from(createDpopProof(key, { method: 'GET', url: 'https://gw.example.org/' }).split('.')[1] ?? '', 'base64url').toString()).jti));
    expect(jtis.size).toBe(50);
  });

  it('round-trips the private key through its stored form, and refuses anything else', async () => {
    const key = generateDpopKey();
    const back = importDpopKey(exportDpopKey(key));
    expect(back.publicJwk).toEqual(key.publicJwk);
    const proof = createDpopProof(back, { method: 'GET', url: 'https://gw.example.org/v1/devices/me', now: NOW });
    expect(decodeProtectedHeader(proof).jwk).toEqual(key.publicJwk);
    await expect(jwtVerify(proof, EmbeddedJWK, { currentDate: new Date(NOW) })).resolves.toBeDefined();
    for (const bad of ['', 'null', '{}', JSON.stringify(key.publicJwk), JSON.stringify({ ...JSON.parse(exportDpopKey(key)), crv: 'P-384' })]) {
      expect(() => importDpopKey(bad)).toThrow(AppError);
    }
  });
});
