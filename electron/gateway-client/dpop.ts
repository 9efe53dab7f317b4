/**
 * DPoP (RFC 9449) for the companion, node:crypto only: the device key pair and one proof per gateway call (a new jti
 * every time, made just before sending, for the exact method and URL). Contract: `DPOP` in shared/contracts/gateway.ts.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type JsonWebKey, type KeyObject } from 'node:crypto';
import { DPOP, type DpopPublicJwk } from '../../shared/contracts/gateway';
import { AppError } from '../../shared/errors';

export interface DpopKey {
  privateKey: KeyObject;
  /** What enrolment sends as `dpopJwk` and every proof carries in its header. */
  publicJwk: DpopPublicJwk;
}

export function generateDpopKey(): DpopKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicJwk: publicJwkOf(publicKey) };
}

/** The private key as a JWK JSON string, for the OS credential store. Treat it as a secret. */
export function exportDpopKey(key: DpopKey): string {
  return JSON.stringify(key.privateKey.export({ format: 'jwk' }));
}

/** Back from exportDpopKey. A value that is not an EC P-256 private key → ERR_INTERNAL (nothing to sign with). */
export function importDpopKey(stored: string): DpopKey {
  try {
    const jwk = JSON.parse(stored) as JsonWebKey;
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.d !== 'string') throw new Error('not an EC P-256 private key');
    const privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
    return { privateKey, publicJwk: publicJwkOf(createPublicKey(privateKey)) };
  } catch (cause) {
    throw new AppError('ERR_INTERNAL', { detail: 'the stored device key could not be read', cause });
  }
}

export interface ProofOptions {
  /** Upper case, as sent. */
  method: string;
  /** The absolute URL of the call; query and fragment are dropped. */
  url: string;
  /** Epoch ms. */
  now?: number;
  jti?: string;
}

/** One DPoP proof (compact JWS, ES256) for one call. */
export function createDpopProof(key: DpopKey, options: ProofOptions): string {
  const u = new URL(options.url);
  u.search = '';
  u.hash = '';
  const header = { typ: DPOP.type, alg: DPOP.alg, jwk: key.publicJwk };
  const payload = {
    jti: options.jti ?? randomBytes(16).toString('base64url'),
    htm: options.method,
    htu: u.href,
    iat: Math.floor((options.now ?? Date.now()) / 1000),
  };
  const signingInput = `${b64json(header)}.${b64json(payload)}`;
  // JWS ES256 signatures are r || s (IEEE P1363, 64 bytes), not DER.
  const signature = sign('sha256', Buffer.from(signingInput), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${signingInput}.${signature.toString('base64url')}`;
}

function publicJwkOf(publicKey: KeyObject): DpopPublicJwk {
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string') {
    throw new AppError('ERR_INTERNAL', { detail: 'the device key is not EC P-256' });
  }
  return { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
}

function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
