/**
 * The companion's HTTP client for the cloud gateway (shared/contracts/gateway.ts): requests are checked before they
 * leave, answers before they are believed, and every failure is an AppError (the table in README.md).
 */
import { randomUUID } from 'node:crypto';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import type { TSchema, Static } from '@sinclair/typebox';
import type { Logger } from 'pino';
import { AppError } from '../../shared/errors';
import { LIMITS } from '../../shared/limits';
import {
  CommitRequest,
  CommitResponse,
  DEVICE_AUTH_SCHEME,
  DeviceInfo,
  EnrolRequest,
  EnrolResponse,
  GATEWAY_ROUTES,
  HEADERS,
  LaunchConfirmRequest,
  LaunchGrant,
  LaunchLookupRequest,
  LaunchVerifyRequest,
  VerifyResponse,
} from '../../shared/contracts/gateway';
import { Uuid } from '../../shared/contracts/common';
import { isValidNhi, normaliseNhi } from '../../shared/nhi';
import { createDpopProof, importDpopKey, type DpopKey } from './dpop';
import { compile, type Checker } from './validate';

export interface DeviceCredentials {
  deviceId: string;
  deviceSecret: string;
  /** The private DPoP key as stored (exportDpopKey); absent: enrolled before keys existed. */
  dpopKey?: string;
}

export interface GatewayClientOptions {
  /** No trailing path. */
  baseUrl: string;
  /** null when this PC is not enrolled. */
  credentials: () => Promise<DeviceCredentials | null>;
  timeoutMs?: number;
  logger: Logger;
  newCorrelationId?: () => string;
  /** The proofs' `iat`: the companion's clock. Default Date.now. */
  now?: () => number;
  /** The proofs' `jti` (tests). Default 128 random bits. */
  newProofId?: () => string;
}

export interface CallOptions {
  correlationId?: string;
  signal?: AbortSignal;
}

export interface GatewayClient {
  /** Sends no credential and stores nothing: the caller keeps the secret. */
  enrol(req: EnrolRequest, opts?: CallOptions): Promise<EnrolResponse>;
  me(opts?: CallOptions): Promise<DeviceInfo>;
  verifyLaunch(req: LaunchVerifyRequest, opts?: CallOptions): Promise<LaunchGrant>;
  /** The NHI is checked here first (nothing sent when bad); the grant answered waits for the GP's confirmation. */
  lookupPatientByNhi(nhi: string, opts?: CallOptions): Promise<LaunchGrant>;
  /** The GP's "Yes, this patient": the gateway answers the grant confirmed, with its new expiry. */
  confirmLookup(grantId: string, opts?: CallOptions): Promise<LaunchGrant>;
  /** Idempotency-Key = req.imageId, so a resend after a crash or timeout is safe. */
  commit(req: CommitRequest, opts: CallOptions & { correlationId: string }): Promise<CommitResponse>;
  verifyCommit(imageId: string, opts?: CallOptions): Promise<VerifyResponse>;
  /** A person saw the image in Medtech after ERR_COMMIT_UNCONFIRMED (audited at the gateway). */
  confirmCommit(imageId: string, opts?: CallOptions): Promise<CommitResponse>;
}

/** The part of the client the outbox needs (so tests and other transports can stand in). */
export type CommitClient = Pick<GatewayClient, 'commit'> & Partial<Pick<GatewayClient, 'confirmCommit'>>;

const checks = {
  enrolReq: compile(EnrolRequest),
  enrolRes: compile(EnrolResponse),
  me: compile(DeviceInfo),
  launchReq: compile(LaunchVerifyRequest),
  lookupReq: compile(LaunchLookupRequest),
  confirmReq: compile(LaunchConfirmRequest),
  grant: compile(LaunchGrant),
  commitReq: compile(CommitRequest),
  commitRes: compile(CommitResponse),
  verifyRes: compile(VerifyResponse),
  uuid: compile(Uuid),
};

function retryAfterSeconds(res: AxiosResponse): number | undefined {
  const h: unknown = res.headers['retry-after'];
  if (typeof h !== 'string') return undefined;
  const n = Number(h);
  if (Number.isFinite(n) && n >= 0) return n;
  const t = Date.parse(h);
  return Number.isNaN(t) ? undefined : Math.max(0, Math.ceil((t - Date.now()) / 1000));
}

function errorBodyOf(res: AxiosResponse): unknown {
  const body: unknown = res.data;
  return typeof body === 'object' && body !== null && 'error' in body ? (body as { error: unknown }).error : undefined;
}

function errorFromResponse(res: AxiosResponse, correlationId: string): AppError {
  const body = errorBodyOf(res);
  if (body !== undefined) {
    const err = AppError.fromBody(body);
    return new AppError(err.code, {
      message: err.message,
      detail: err.detail,
      correlationId: err.correlationId ?? correlationId,
      retryAfterSeconds: err.retryAfterSeconds ?? retryAfterSeconds(res),
    });
  }
  const detail = `gateway answered HTTP ${res.status}`;
  if (res.status === 429) return new AppError('ERR_RATE_LIMITED', { detail, correlationId, retryAfterSeconds: retryAfterSeconds(res) });
  if (res.status >= 500 || res.status === 408) return new AppError('ERR_GATEWAY_UNREACHABLE', { detail, correlationId, retryAfterSeconds: retryAfterSeconds(res) });
  return new AppError('ERR_REQUEST_INVALID', { detail, correlationId });
}

type Route = keyof typeof GATEWAY_ROUTES;
interface CallSpec extends CallOptions {
  route: Route;
  method: 'GET' | 'POST';
  body?: unknown;
  auth: boolean;
  imageId?: string;
  idempotencyKey?: string;
}

/** The wire: axios with hard limits, the device's credential and a fresh DPoP proof per attempt. */
class GatewayTransport {
  private readonly http: AxiosInstance;
  /** Calls go to `${baseUrl}${path}`: also the URL each proof is signed for. */
  private readonly baseUrl: string;

  constructor(private readonly options: GatewayClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.http = axios.create({
      baseURL: this.baseUrl,
      timeout: options.timeoutMs ?? 30_000,
      validateStatus: () => true,
      maxRedirects: 0,
      maxBodyLength: LIMITS.gatewayMaxBodyBytes,
      maxContentLength: 4 * 1024 * 1024,
      responseType: 'json',
      headers: { accept: 'application/json' },
    });
  }

  private async deviceAuth(): Promise<{ authorization: string; key: DpopKey | null }> {
    const creds = await this.options.credentials();
    if (!creds) throw new AppError('ERR_NOT_ENROLLED');
    let key: DpopKey | null = null;
    try {
      if (creds.dpopKey !== undefined) key = importDpopKey(creds.dpopKey);
    } catch (cause) {
      // Without its key this PC cannot prove who it is: it has to be enrolled again.
      throw new AppError('ERR_NOT_ENROLLED', { detail: 'the stored device key could not be read', cause });
    }
    return { authorization: `${DEVICE_AUTH_SCHEME} ${creds.deviceId}.${creds.deviceSecret}`, key };
  }

  async call<S extends TSchema>(spec: CallSpec, resCheck: Checker<S>): Promise<Static<S>> {
    const correlationId = spec.correlationId ?? (this.options.newCorrelationId ?? randomUUID)();
    const headers: Record<string, string> = { [HEADERS.correlationId]: correlationId };
    const auth = spec.auth ? await this.deviceAuth() : null;
    if (auth) headers[HEADERS.authorization] = auth.authorization;
    if (spec.idempotencyKey !== undefined) headers[HEADERS.idempotencyKey] = spec.idempotencyKey;
    const log = { route: spec.route, correlationId };
    const started = Date.now();
    const res = await this.exchange(spec, headers, auth?.key ?? null, log, started);
    this.options.logger.debug({ ...log, status: res.status, ms: Date.now() - started }, 'gateway call');
    if (res.status < 200 || res.status >= 300) throw errorFromResponse(res, correlationId);
    if (!resCheck.check(res.data)) {
      this.options.logger.error({ ...log, status: res.status, problem: resCheck.firstError(res.data) }, 'gateway answer does not match the contract');
      throw new AppError('ERR_INTERNAL', { detail: 'unexpected answer from the gateway', correlationId });
    }
    return res.data;
  }

  /** The request and its one re-signed repeat; a network fault or cancellation becomes its AppError. */
  private async exchange(spec: CallSpec, headers: Record<string, string>, key: DpopKey | null, log: { route: string; correlationId: string }, started: number): Promise<AxiosResponse> {
    try {
      let res = await this.send(spec, headers, key);
      // A proof is accepted once. One the gateway has seen already (a copy, or the rare repeated jti) is no
      // reason to fail: sign a new one and send the call once more (the refused call did nothing).
      if (key && res.status === 401 && (errorBodyOf(res) as { code?: unknown } | null | undefined)?.code === 'ERR_AUTH_PROOF_REPLAYED') {
        this.options.logger.info(log, 'gateway call re-signed after a replayed proof');
        res = await this.send(spec, headers, key);
      }
      return res;
    } catch (err) {
      if (spec.signal?.aborted === true || axios.isCancel(err)) {
        // The caller stopped waiting: not a network fault, and nothing to show the GP.
        this.options.logger.debug({ ...log, ms: Date.now() - started }, 'gateway call cancelled');
        throw new AppError('ERR_REQUEST_CANCELLED', { correlationId: log.correlationId, cause: err });
      }
      const code = axios.isAxiosError(err) ? (err.code ?? 'network') : 'network';
      this.options.logger.warn({ ...log, code, ms: Date.now() - started }, 'gateway unreachable');
      throw new AppError('ERR_GATEWAY_UNREACHABLE', { detail: `network: ${code}`, correlationId: log.correlationId, cause: err });
    }
  }

  /** One attempt: a fresh proof for exactly this method and URL, made just before it leaves. */
  private send(spec: CallSpec, headers: Record<string, string>, key: DpopKey | null): Promise<AxiosResponse> {
    const path = GATEWAY_ROUTES[spec.route].replace(':imageId', encodeURIComponent(spec.imageId ?? ''));
    const attempt = { ...headers };
    if (key !== null) {
      const now = (this.options.now ?? Date.now)();
      attempt[HEADERS.dpop] = createDpopProof(key, { method: spec.method, url: `${this.baseUrl}${path}`, now, jti: this.options.newProofId?.() });
    }
    return this.http.request({ url: path, method: spec.method, data: spec.body, headers: attempt, signal: spec.signal });
  }
}

function checkRequest<S extends TSchema>(checker: Checker<S>, value: unknown): void {
  if (!checker.check(value)) throw new AppError('ERR_REQUEST_INVALID', { detail: checker.firstError(value) });
}

/** An answer for something else than what was asked is not believed. */
function notBelieved(detail: string, opts: CallOptions): AppError {
  return new AppError('ERR_INTERNAL', { detail, correlationId: opts.correlationId });
}

export function createGatewayClient(options: GatewayClientOptions): GatewayClient {
  const transport = new GatewayTransport(options);
  const post = async <S extends TSchema>(route: Route, body: unknown, req: Checker<TSchema>, res: Checker<S>, opts: CallOptions & Partial<CallSpec>): Promise<Static<S>> => {
    checkRequest(req, body);
    return transport.call({ auth: true, ...opts, route, method: 'POST', body }, res);
  };
  return {
    enrol: (req, opts = {}) => post('enrol', req, checks.enrolReq, checks.enrolRes, { ...opts, auth: false }),
    me: (opts = {}) => transport.call({ ...opts, route: 'me', method: 'GET', auth: true }, checks.me),
    verifyLaunch: (req, opts = {}) => post('launchVerify', req, checks.launchReq, checks.grant, opts),
    async lookupPatientByNhi(nhi, opts = {}) {
      const value = typeof nhi === 'string' ? normaliseNhi(nhi) : '';
      // Both formats and the check digit; the detail never carries the value (it identifies a patient).
      if (!isValidNhi(value)) throw new AppError('ERR_LOOKUP_NHI_INVALID', { detail: /^[A-Z]{3}[0-9]{2}[0-9A-Z]{2}$/.test(value) ? 'check digit' : 'format' });
      const grant = await post('launchLookup', { nhi: value } satisfies LaunchLookupRequest, checks.lookupReq, checks.grant, opts);
      if (grant.patient.nhi !== value) throw notBelieved('gateway answered for a different NHI', opts);
      return grant;
    },
    async confirmLookup(grantId, opts = {}) {
      const grant = await post('launchConfirm', { grantId } satisfies LaunchConfirmRequest, checks.confirmReq, checks.grant, opts);
      if (grant.grantId !== grantId || grant.requiresConfirmation === true) throw notBelieved('gateway did not confirm that grant', opts);
      return grant;
    },
    async commit(req, opts) {
      const res = await post('commit', req, checks.commitReq, checks.commitRes, { ...opts, idempotencyKey: req.imageId });
      if (res.imageId !== req.imageId) throw notBelieved('gateway answered for a different image', opts);
      return res;
    },
    async verifyCommit(imageId, opts = {}) {
      checkRequest(checks.uuid, imageId);
      return transport.call({ ...opts, route: 'commitVerify', imageId, method: 'GET', auth: true }, checks.verifyRes);
    },
    async confirmCommit(imageId, opts = {}) {
      checkRequest(checks.uuid, imageId);
      const res = await transport.call({ auth: true, ...opts, route: 'commitConfirm', method: 'POST', body: {}, imageId }, checks.commitRes);
      if (res.imageId !== imageId || res.confirmedBy !== 'person') throw notBelieved('gateway did not confirm that image', opts);
      return res;
    },
  };
}
