/**
 * Proof of possession for device requests (DPoP, RFC 9449; the order of checks: gateway/README.md). The jti
 * is remembered last, so only proofs that passed every other check are. The proof is never logged or echoed.
 */
import { createPublicKey } from 'node:crypto';
import { calculateJwkThumbprint, compactVerify, decodeProtectedHeader, errors as joseErrors, importJWK } from 'jose';
import { DPOP, type DpopPublicJwk } from '../../../shared/contracts/gateway';
import { AppError, type ErrorCode } from '../../../shared/errors';
import { sha256Hex } from '../crypto';
import type { ProofReplayCache } from './replay';

/** `required`: every device must prove (no key, no entry); `if-bound`: devices enrolled with a key must prove. */
export type DeviceProofMode = 'required' | 'if-bound';

/** JWK members that belong to private or symmetric keys (RFC 7518 §6). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const PUBLIC_MEMBERS = new Set(['kty', 'crv', 'x', 'y']);
const COORDINATE = /^[A-Za-z0-9_-]{43}$/;

/** A public key as sent at enrolment (or in a proof header): EC P-256, only kty/crv/x/y, a point on the curve. */
export function parseDpopPublicJwk(value: unknown): DpopPublicJwk {
  const invalid = (detail: string): AppError => new AppError('ERR_ENROL_KEY_INVALID', { detail });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('dpopJwk must be a JSON object');
  const jwk = value as Record<string, unknown>;
  if (PRIVATE_MEMBERS.some((m) => Object.prototype.hasOwnProperty.call(jwk, m))) throw new AppError('ERR_ENROL_KEY_PRIVATE');
  if (jwk.kty !== 'EC') throw invalid('dpopJwk.kty must be "EC"');
  if (jwk.crv !== 'P-256') throw invalid('dpopJwk.crv must be "P-256"');
  const extra = Object.keys(jwk).find((m) => !PUBLIC_MEMBERS.has(m));
  if (extra !== undefined) throw invalid('dpopJwk may hold only kty, crv, x and y');
  if (typeof jwk.x !== 'string' || !COORDINATE.test(jwk.x) || typeof jwk.y !== 'string' || !COORDINATE.test(jwk.y)) {
    throw invalid('dpopJwk.x and dpopJwk.y must be 32-byte base64url coordinates');
  }
  const key: DpopPublicJwk = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
  try {
    createPublicKey({ key, format: 'jwk' });
  } catch {
    throw invalid('dpopJwk is not a point on the P-256 curve');
  }
  return key;
}

/** RFC 7638 thumbprint (SHA-256, base64url) of a checked public key: what the device record keeps. */
export function dpopThumbprint(jwk: DpopPublicJwk): Promise<string> {
  return calculateJwkThumbprint(jwk, 'sha256');
}

/** Why a proof was refused (the audit reason) → fixed text, never request data: the answer's `detail`, the challenge's error_description. */
const FAILURE_TEXT = {
  missing: 'no DPoP proof',
  malformed: 'the DPoP proof is not a compact JWS',
  'too-large': `the DPoP proof is longer than ${DPOP.maxProofLength} characters`,
  typ: `the DPoP proof typ is not ${DPOP.type}`,
  alg: `the DPoP proof alg is not ${DPOP.alg}`,
  jwk: 'the DPoP proof jwk is not an EC P-256 public key',
  'key-mismatch': 'the DPoP proof key is not the key this device enrolled with',
  signature: 'the DPoP proof signature does not verify',
  claims: 'the DPoP proof claims are not a JSON object with jti, htm, htu and iat',
  jti: `the DPoP proof jti must be ${DPOP.minJtiLength}-${DPOP.maxJtiLength} characters`,
  htm: 'the DPoP proof htm is not the method of this request',
  htu: 'the DPoP proof htu is not the URL of this request',
  iat: `the DPoP proof iat is more than ${DPOP.maxSkewSeconds} s from the gateway clock`,
  replayed: 'the DPoP proof jti has been used before',
};
type ProofFailure = keyof typeof FAILURE_TEXT;
/** Every other failure is ERR_AUTH_PROOF_INVALID. */
const FAILURE_CODE: Partial<Record<ProofFailure, ErrorCode>> = { missing: 'ERR_AUTH_PROOF_MISSING', iat: 'ERR_AUTH_PROOF_CLOCK', replayed: 'ERR_AUTH_PROOF_REPLAYED' };

/** A refused proof: the coded error the device sees (plain reason in `detail`), with the short reason for audit. */
export class DpopProofError extends AppError {
  constructor(readonly reason: ProofFailure) {
    super(FAILURE_CODE[reason] ?? 'ERR_AUTH_PROOF_INVALID', { detail: FAILURE_TEXT[reason] });
  }
}

const PROOF_CODES = new Set<ErrorCode>(['ERR_AUTH_PROOF_MISSING', 'ERR_AUTH_PROOF_INVALID', 'ERR_AUTH_PROOF_CLOCK', 'ERR_AUTH_PROOF_REPLAYED']);

/** The `WWW-Authenticate` value for a 401 about the proof (RFC 9449 §7.1), or null for other errors. */
export function dpopChallenge(err: AppError): string | null {
  if (!PROOF_CODES.has(err.code)) return null;
  if (err.code === 'ERR_AUTH_PROOF_MISSING') return `DPoP algs="${DPOP.alg}"`;
  const description = (err.detail ?? 'invalid DPoP proof').replace(/["\\]/g, '');
  return `DPoP error="invalid_dpop_proof", error_description="${description}", algs="${DPOP.alg}"`;
}

/** The htu a request must be signed for: GATEWAY_PUBLIC_URL, else the request's own scheme and Host; then the path. */
export function requestHtu(publicBaseUrl: string | null, request: { protocol: string; host: string | undefined; url: string }): string {
  const path = request.url.split(/[?#]/, 1)[0] ?? '/';
  const base = publicBaseUrl ?? `${request.protocol}://${request.host ?? ''}`;
  return `${base}${path.startsWith('/') ? path : `/${path}`}`;
}

/** scheme://host[:port]/path, lower-case scheme and host, default port dropped, no query or fragment; null when not an http(s) URL. */
export function normaliseHtu(value: string): string | null {
  if (!URL.canParse(value)) return null;
  const u = new URL(value);
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return null;
  if (u.username !== '' || u.password !== '') return null;
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/** `proof`: the DPoP header as received (an array when sent more than once); `htu`: requestHtu(...); `jkt`: the device's thumbprint. */
interface ProofRequest {
  proof: string | string[] | undefined;
  method: string;
  htu: string;
  jkt: string;
  now: number;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Verify one DPoP proof. Resolves when it is good (and records its jti); otherwise rejects with a DpopProofError. */
export async function verifyDpopProof(req: ProofRequest, replay: ProofReplayCache): Promise<void> {
  const refuse: (reason: ProofFailure) => never = (reason) => {
    throw new DpopProofError(reason);
  };
  const proof = req.proof;
  if (proof === undefined || proof === '') refuse('missing');
  if (typeof proof !== 'string') return refuse('malformed'); // sent more than once
  if (proof.length > DPOP.maxProofLength) refuse('too-large');
  if (!COMPACT_JWS.test(proof)) refuse('malformed');

  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(proof) as Record<string, unknown>;
  } catch {
    return refuse('malformed');
  }
  if (header.typ !== DPOP.type) refuse('typ');
  if (header.alg !== DPOP.alg) refuse('alg');
  let jwk: DpopPublicJwk;
  try {
    jwk = parseDpopPublicJwk(header.jwk);
  } catch {
    return refuse('jwk');
  }
  if ((await dpopThumbprint(jwk)) !== req.jkt) refuse('key-mismatch');

  let payloadBytes: Uint8Array;
  try {
    const key = await importJWK(jwk, DPOP.alg);
    ({ payload: payloadBytes } = await compactVerify(proof, key, { algorithms: [DPOP.alg] }));
  } catch (err) {
    return refuse(err instanceof joseErrors.JWSSignatureVerificationFailed ? 'signature' : 'malformed');
  }

  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payloadBytes).toString('utf8'));
  } catch {
    return refuse('claims');
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) return refuse('claims');
  const { jti, htm, htu, iat } = claims as Record<string, unknown>;
  if (typeof jti !== 'string' || typeof htm !== 'string' || typeof htu !== 'string' || typeof iat !== 'number' || !Number.isFinite(iat)) {
    return refuse('claims');
  }
  if (jti.length < DPOP.minJtiLength || jti.length > DPOP.maxJtiLength) refuse('jti');
  if (htm !== req.method) refuse('htm');
  const presented = normaliseHtu(htu);
  if (presented === null || presented !== normaliseHtu(req.htu)) refuse('htu');
  if (Math.abs(req.now / 1000 - iat) > DPOP.maxSkewSeconds) refuse('iat');

  // Kept until the proof could no longer pass the iat check (iat + skew), plus a second for rounding.
  const expiresAt = Math.ceil((iat + DPOP.maxSkewSeconds + 1) * 1000);
  if (!(await replay.markUsed(sha256Hex(`clinicpro-images/dpop-jti\n${req.jkt}\n${jti}`), expiresAt, req.now))) refuse('replayed');
}
