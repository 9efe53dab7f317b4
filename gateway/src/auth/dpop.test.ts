import { generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../shared/errors';
import { dpopChallenge, DpopProofError, dpopThumbprint, normaliseHtu, parseDpopPublicJwk, requestHtu, verifyDpopProof } from './dpop';
import { MemoryProofReplayCache } from './replay';

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
const NOW = Date.parse('2026-01-15T00:00:00Z');
const URL_ME = 'https://gw.example.org/v1/devices/me';

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof AppError) return e.code;
    throw e;
  }
  return 'none';
};

async function joseKey() {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const { kty, crv, x, y } = await exportJWK(publicKey);
  const jwk = { kty: kty as 'EC', crv: crv as 'P-256', x: x as string, y: y as string };
  return { privateKey, jwk, jkt: await dpopThumbprint(jwk) };
}

describe('device public keys', () => {
  const good = (() => {
    const { kty, crv, x, y } = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    return { kty, crv, x, y } as Record<string, string>;
  })();

  it('accepts an EC P-256 public key and keeps its RFC 7638 thumbprint', async () => {
    expect(parseDpopPublicJwk(good)).toEqual(good);
    expect(await dpopThumbprint(parseDpopPublicJwk(good))).toBe(await calculateJwkThumbprint(good, 'sha256'));
    expect(await dpopThumbprint(parseDpopPublicJwk(good))).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('refuses private members with their own code, and every other kind of key', () => {
    const priv = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    expect(codeOf(() => parseDpopPublicJwk(priv))).toBe('ERR_ENROL_KEY_PRIVATE');
    expect(codeOf(() => parseDpopPublicJwk({ kty: 'oct', k: 'c2VjcmV0' }))).toBe('ERR_ENROL_KEY_PRIVATE');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' });
    const offCurve = { ...good, y: good.x };
    for (const bad of [null, 'key', [good], rsa, p384, { ...good, kid: 'k1' }, { ...good, alg: 'ES256' }, { ...good, x: 'short' }, { kty: 'EC', crv: 'P-256', x: good.x }, offCurve]) {
      expect(codeOf(() => parseDpopPublicJwk(bad))).toBe('ERR_ENROL_KEY_INVALID');
    }
  });
});

describe('htu', () => {
  it('is the public URL or the request scheme and Host, plus the path without query or fragment', () => {
    expect(requestHtu(null, { protocol: 'http', host: '127.0.0.1:4000', url: '/v1/commits?x=1' })).toBe('http://127.0.0.1:4000/v1/commits');
    expect(requestHtu('https://gw.example.org/images', { protocol: 'http', host: 'internal:4000', url: '/v1/devices/me#x' })).toBe('https://gw.example.org/images/v1/devices/me');
  });

  it('compares after normalising case, default ports, query and fragment', () => {
    expect(normaliseHtu('HTTPS://GW.Example.org:443/v1/devices/me?a=1#f')).toBe(URL_ME);
    expect(normaliseHtu('http://127.0.0.1:80/x')).toBe('http://127.0.0.1/x');
    for (const bad of ['/v1/devices/me', 'ftp://gw.example.org/x', 'https://u:p@gw.example.org/x', 'not a url']) expect(normaliseHtu(bad)).toBeNull();
  });
});

describe('challenges', () => {
  it('answers a missing proof with the bare DPoP challenge and a bad one with invalid_dpop_proof', () => {
    expect(dpopChallenge(new DpopProofError('missing'))).toBe('DPoP algs="ES256"');
    expect(dpopChallenge(new DpopProofError('htu'))).toBe('DPoP error="invalid_dpop_proof", error_description="the DPoP proof htu is not the URL of this request", algs="ES256"');
    expect(dpopChallenge(new DpopProofError('replayed'))).toContain('invalid_dpop_proof');
    expect(dpopChallenge(new AppError('ERR_AUTH_DEVICE_REVOKED'))).toBeNull();
  });
});

describe('verifyDpopProof with proofs signed by jose', () => {
  const sign = (privateKey: SigningKey, jwk: object, claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
    new SignJWT(claims).setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk, ...header }).sign(privateKey);
  const claims = (over: Record<string, unknown> = {}) => ({ jti: crypto.randomUUID(), htm: 'GET', htu: URL_ME, iat: NOW / 1000, ...over });
  const reasonOf = async (p: Promise<void>): Promise<string> => {
    try {
      await p;
      return 'accepted';
    } catch (e) {
      if (e instanceof DpopProofError) return e.reason;
      throw e;
    }
  };

  it('accepts a good proof once, and refuses each broken claim with its reason', async () => {
    const { privateKey, jwk, jkt } = await joseKey();
    const cache = new MemoryProofReplayCache();
    const verify = (proof: string | string[] | undefined, method = 'GET', htu = URL_ME) => reasonOf(verifyDpopProof({ proof, method, htu, jkt, now: NOW }, cache));
    const good = await sign(privateKey, jwk, claims());
    expect(await verify(good)).toBe('accepted');
    expect(await verify(good)).toBe('replayed');
    expect(await verify(undefined)).toBe('missing');
    expect(await verify([good, good])).toBe('malformed');
    expect(await verify(await sign(privateKey, jwk, claims()), 'POST')).toBe('htm');
    expect(await verify(await sign(privateKey, jwk, claims({ htu: 'https://gw.example.org/v1/commits' })))).toBe('htu');
    expect(await verify(await sign(privateKey, jwk, claims({ htu: `${URL_ME}?q=1` })))).toBe('accepted');
    expect(await verify(await sign(privateKey, jwk, claims({ iat: NOW / 1000 - 61 })))).toBe('iat');
    expect(await verify(await sign(privateKey, jwk, claims({ iat: NOW / 1000 + 61 })))).toBe('iat');
    expect(await verify(await sign(privateKey, jwk, claims({ iat: NOW / 1000 - 60 })))).toBe('accepted');
    expect(await verify(await sign(privateKey, jwk, claims({ iat: NOW / 1000 + 60 })))).toBe('accepted');
    expect(await verify(await sign(privateKey, jwk, claims({ jti: 'short' })))).toBe('jti');
    expect(await verify(await sign(privateKey, jwk, { htm: 'GET', htu: URL_ME, iat: NOW / 1000 }))).toBe('claims');
    expect(await verify(await sign(privateKey, jwk, claims({ iat: String(NOW / 1000) })))).toBe('claims');
    expect(await verify(await sign(privateKey, jwk, claims(), { typ: 'JWT' }))).toBe('typ');
    expect(await verify(await sign(privateKey, { ...jwk, d: 'x'.repeat(43) }, claims()))).toBe('jwk');
    const other = await joseKey();
    expect(await verify(await sign(other.privateKey, other.jwk, claims()))).toBe('key-mismatch');
    expect(await verify(await sign(other.privateKey, jwk, claims()))).toBe('signature');
    expect(await verify('a'.repeat(3000))).toBe('too-large');
    expect(await verify('not.a jws.at all')).toBe('malformed');
  });

  it('keeps a jti until the proof could no longer pass the clock check, then forgets it', async () => {
    const cache = new MemoryProofReplayCache(1_000);
    expect(await cache.markUsed('k', NOW + 121_000, NOW)).toBe(true);
    expect(await cache.markUsed('k', NOW + 121_000, NOW + 120_999)).toBe(false);
    expect(await cache.markUsed('k', NOW + 121_000, NOW + 121_000)).toBe(true); // expired: a new entry
    expect(await cache.markUsed('other', NOW + 300_000, NOW + 123_000)).toBe(true); // the sweep drops 'k'
    expect(cache.size).toBe(1);
  });
});
