/**
 * DPoP test helpers: the gateway listening on loopback, plain HTTP requests to it (node:http, so the
 * Host, duplicate headers and exact bytes are ours), enrolment with a device key, and hand-made
 * JWS for forged proofs (alg none, HS256, wrong typ, oversized header, tampered payload).
 */
import { createHmac, randomUUID, sign, type KeyObject } from 'node:crypto';
import { request } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { DpopPublicJwk, EnrolResponse } from '../../../shared/contracts/gateway';
import { createDpopProof, generateDpopKey, type DpopKey } from '../../../electron/gateway-client/dpop';
import { FACILITY, type Harness } from './harness';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The error code of an `{ error }` answer, else null. */
  code: string | null;
  detail: string | null;
  json<T>(): T;
}

/** Listen on 127.0.0.1 on a free port; the harness's close() stops it. Returns the base URL. */
export async function listenOnLoopback(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  if (typeof addr !== 'object' || addr === null) throw new Error('not listening');
  return `http://127.0.0.1:${addr.port}`;
}

/** One HTTP/1.1 request over a real socket. Header values given as arrays are sent as repeated lines. */
export function httpRequest(base: string, method: string, path: string, headers: Record<string, string | string[]> = {}, body?: unknown): Promise<HttpAnswer> {
  const url = new URL(path, base);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method, path: url.pathname + url.search, agent: false, headers: { ...headers, ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = null;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = null;
          }
          const error = (parsed as { error?: { code?: string; detail?: string } } | null)?.error;
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: text,
            code: error?.code ?? null,
            detail: error?.detail ?? null,
            json: <T>() => parsed as T,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

export interface KeyedDevice extends EnrolResponse {
  key: DpopKey;
}

/** Enrol over HTTP with a new device key (or a given public JWK, for refusals). */
export async function enrolWithKey(h: Harness, base: string, facility = FACILITY): Promise<KeyedDevice> {
  const key = generateDpopKey();
  const { code } = await h.devices.issueEnrolmentCode(facility, 'Test Practice', 72);
  const res = await httpRequest(base, 'POST', '/v1/devices/enrol', {}, { enrolmentCode: code, deviceName: 'Keyed PC', dpopJwk: key.publicJwk });
  if (res.status !== 201) throw new Error(`enrol failed: ${res.body}`);
  return { ...res.json<EnrolResponse>(), key };
}

/** A proof for `method base+path` at the harness clock (shifted by `iatOffsetSeconds`). */
export function proofFor(h: Harness, key: DpopKey, method: string, url: string, opts: { iatOffsetSeconds?: number; jti?: string } = {}): string {
  return createDpopProof(key, { method, url, now: h.clock.now() + (opts.iatOffsetSeconds ?? 0) * 1000, ...(opts.jti ? { jti: opts.jti } : {}) });
}

const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

export type Signer = { kind: 'es256'; key: KeyObject } | { kind: 'hs256'; secret: Buffer } | { kind: 'none' };

/** A compact JWS from any header and payload, signed as told: for proofs the gateway must refuse. */
export function handMadeJws(header: Record<string, unknown>, payload: unknown, signer: Signer): string {
  const input = `${b64(header)}.${b64(payload)}`;
  switch (signer.kind) {
    case 'es256':
      return `${input}.${sign('sha256', Buffer.from(input), { key: signer.key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
    case 'hs256':
      return `${input}.${createHmac('sha256', signer.secret).update(input).digest('base64url')}`;
    case 'none':
      return `${input}.`;
  }
}

/** The claims a good proof would carry for this call now. */
export function claimsFor(h: Harness, method: string, url: string, jti = randomUUID()): Record<string, unknown> {
  return { jti, htm: method, htu: url, iat: Math.floor(h.clock.now() / 1000) };
}

export const dpopHeader = (jwk: DpopPublicJwk, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ typ: 'dpop+jwt', alg: 'ES256', jwk, ...extra });
