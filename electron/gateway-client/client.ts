/**
 * The companion's HTTP client for the cloud gateway, typed by shared/contracts/gateway.ts.
 * Requests are validated before they leave, responses before they are believed.
 * Every failure is an AppError:
 *   - the gateway's `{ error: ErrorBody }`                   → AppError.fromBody (its code, message, retryability)
 *   - network error, timeout, 5xx/408 without an error body   → ERR_GATEWAY_UNREACHABLE (retryable)
 *   - 429 without an error body                               → ERR_RATE_LIMITED (retryable, Retry-After kept)
 *   - other 4xx without an error body                         → ERR_REQUEST_INVALID
 *   - a 2xx answer that does not match the contract           → ERR_INTERNAL (retryable: commits are idempotent)
 *   - no device credential, or its device key cannot be read  → ERR_NOT_ENROLLED (nothing is sent)
 *   - the caller's AbortSignal fired                          → ERR_REQUEST_CANCELLED (not a failure: the caller stopped
 *                                                               waiting; never shown to the GP as an error)
 * Proof of possession (DPoP, RFC 9449): a device enrolled with a key (`DeviceCredentials.dpopKey`) sends a fresh
 * `DPoP` proof with every authenticated call, signed for that call's method and URL, a new one for every attempt.
 * A proof the gateway says it has seen before (ERR_AUTH_PROOF_REPLAYED) is signed again and the call sent once
 * more. A device enrolled before keys existed (no `dpopKey`) sends none.
 * Logs carry route, status, duration and correlation id only: never bodies, grants, credentials, keys or proofs.
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
  /** The device's private DPoP key in its stored form (exportDpopKey); absent: enrolled before keys existed. */
  dpopKey?: string;
}

export interface GatewayClientOptions {
  /** e.g. `https://gateway.clinicpro.co.nz` (no trailing path). */
  baseUrl: string;
  /** The enrolled device's credential, read from the SecretStore; null when not enrolled. */
  credentials: () => Promise<DeviceCredentials | null>;
  /** Per-request timeout. Default 30 s. */
  timeoutMs?: number;
  logger: Logger;
  /** Correlation ids for calls that are not given one. Default crypto.randomUUID. */
  newCorrelationId?: () => string;
  /** Epoch ms for the proofs' `iat` (the companion's clock). Default Date.now. */
  now?: () => number;
  /** The proofs' `jti`. Default: 128 random bits. Only tests set it. */
  newProofId?: () => string;
}

export interface CallOptions {
  correlationId?: string;
  signal?: AbortSignal;
}

export interface GatewayClient {
  /** Exchange a one-time enrolment code for a device credential. Stores nothing: the caller keeps the secret. */
  enrol(req: EnrolRequest, opts?: CallOptions): Promise<EnrolResponse>;
  me(opts?: CallOptions): Promise<DeviceInfo>;
  verifyLaunch(req: LaunchVerifyRequest, opts?: CallOptions): Promise<LaunchGrant>;
  /**
   * The NHI fallback: find the patient by NHI in this device's facility. The NHI (old AAANNNC or new AAANNAC
   * format, check digit) is checked here first: a bad one → ERR_LOOKUP_NHI_INVALID and nothing is sent.
   * The grant that comes back is for a patient the GP has NOT confirmed yet (`requiresConfirmation`): the
   * caller must show it and ask before using it.
   */
  lookupPatientByNhi(nhi: string, opts?: CallOptions): Promise<LaunchGrant>;
  /**
   * The GP said "Yes, this patient" for a grant from lookupPatientByNhi: the gateway makes it usable and answers
   * it without `requiresConfirmation`, with its new expiry. Until then the gateway refuses the grant for every
   * use. Unknown or another device's grant → ERR_LOOKUP_ENDED; too late → ERR_LOOKUP_EXPIRED.
   */
  confirmLookup(grantId: string, opts?: CallOptions): Promise<LaunchGrant>;
  /** POST one image. Idempotency-Key = req.imageId, so a resend after a crash or timeout is safe. */
  commit(req: CommitRequest, opts: CallOptions & { correlationId: string }): Promise<CommitResponse>;
  verifyCommit(imageId: string, opts?: CallOptions): Promise<VerifyResponse>;
  /**
   * A person looked in Medtech after ERR_COMMIT_UNCONFIRMED and saw the image there: the gateway records the outcome
   * as confirmed by a person (audited) and answers the CommitResponse with `confirmedBy: 'person'`. An answer for
   * another image, or not confirmed by a person, is not believed (ERR_INTERNAL).
   */
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

/** The `code` of a gateway error body, if the answer is one. */
function errorCodeOf(res: AxiosResponse): unknown {
  const body: unknown = res.data;
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const error: unknown = (body as { error: unknown }).error;
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

function errorFromResponse(res: AxiosResponse, correlationId: string): AppError {
  const body: unknown = res.data;
  if (typeof body === 'object' && body !== null && 'error' in body) {
    const err = AppError.fromBody((body as { error: unknown }).error);
    if (err.correlationId === undefined || err.retryAfterSeconds === undefined) {
      return new AppError(err.code, {
        message: err.message,
        detail: err.detail,
        correlationId: err.correlationId ?? correlationId,
        retryAfterSeconds: err.retryAfterSeconds ?? retryAfterSeconds(res),
      });
    }
    return err;
  }
  const detail = `gateway answered HTTP ${res.status}`;
  if (res.status === 429) return new AppError('ERR_RATE_LIMITED', { detail, correlationId, retryAfterSeconds: retryAfterSeconds(res) });
  if (res.status >= 500 || res.status === 408) return new AppError('ERR_GATEWAY_UNREACHABLE', { detail, correlationId, retryAfterSeconds: retryAfterSeconds(res) });
  return new AppError('ERR_REQUEST_INVALID', { detail, correlationId });
}

type CallSpec = { correlationId?: string; signal?: AbortSignal; auth: boolean; idempotencyKey?: string; logRoute: string };

/**
 * The wire: axios with hard limits, the device's credential and a fresh DPoP proof per attempt, one re-sign after
 * a replayed proof, every failure an AppError, every answer checked against the contract before it is believed.
 */
class GatewayTransport {
  private readonly http: AxiosInstance;
  private readonly logger: Logger;
  private readonly newCorrelationId: () => string;
  /** Calls go to `${baseUrl}${route}`: also the URL each proof is signed for. */
  private readonly baseUrl: string;
  private readonly now: () => number;
  /** The last stored key read, so a key is parsed once, not on every call. */
  private keyCache: { stored: string; key: DpopKey } | undefined;

  constructor(private readonly options: GatewayClientOptions) {
    this.logger = options.logger;
    this.newCorrelationId = options.newCorrelationId ?? randomUUID;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.now = options.now ?? Date.now;
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

  /** The device's credential as headers: `Authorization`, and a signer for `DPoP` when it has a key. */
  private async deviceAuth(): Promise<{ authorization: string; key: DpopKey | null }> {
    const creds = await this.options.credentials();
    if (!creds) throw new AppError('ERR_NOT_ENROLLED');
    let key: DpopKey | null = null;
    if (creds.dpopKey !== undefined) {
      if (this.keyCache?.stored !== creds.dpopKey) {
        try {
          this.keyCache = { stored: creds.dpopKey, key: importDpopKey(creds.dpopKey) };
        } catch (cause) {
          // Without its key this PC cannot prove who it is: it has to be enrolled again.
          throw new AppError('ERR_NOT_ENROLLED', { detail: 'the stored device key could not be read', cause });
        }
      }
      key = this.keyCache.key;
    }
    return { authorization: `${DEVICE_AUTH_SCHEME} ${creds.deviceId}.${creds.deviceSecret}`, key };
  }

  async call<S extends TSchema>(route: string, method: 'GET' | 'POST', body: unknown, resCheck: Checker<S>, opts: CallSpec): Promise<Static<S>> {
    const correlationId = opts.correlationId ?? this.newCorrelationId();
    const headers: Record<string, string> = { [HEADERS.correlationId]: correlationId };
    const auth = opts.auth ? await this.deviceAuth() : null;
    if (auth) headers[HEADERS.authorization] = auth.authorization;
    if (opts.idempotencyKey !== undefined) headers[HEADERS.idempotencyKey] = opts.idempotencyKey;
    const started = Date.now();
    const res = await this.exchange(route, method, body, headers, auth?.key ?? null, { ...opts, correlationId, started });
    this.logger.debug({ route: opts.logRoute, correlationId, status: res.status, ms: Date.now() - started }, 'gateway call');
    if (res.status < 200 || res.status >= 300) throw errorFromResponse(res, correlationId);
    if (!resCheck.check(res.data)) {
      this.logger.error({ route: opts.logRoute, correlationId, status: res.status, problem: resCheck.firstError(res.data) }, 'gateway answer does not match the contract');
      throw new AppError('ERR_INTERNAL', { detail: 'unexpected answer from the gateway', correlationId });
    }
    return res.data;
  }

  /** The request and its one re-signed repeat; a network fault or cancellation becomes its AppError. */
  private async exchange(
    route: string,
    method: 'GET' | 'POST',
    body: unknown,
    headers: Record<string, string>,
    key: DpopKey | null,
    opts: CallSpec & { correlationId: string; started: number },
  ): Promise<AxiosResponse> {
    const { correlationId, started } = opts;
    try {
      let res = await this.send(route, method, body, headers, key, opts.signal);
      // A proof is accepted once. One the gateway has seen already (a copy, or the rare repeated jti) is no
      // reason to fail: sign a new one and send the call once more (the refused call did nothing).
      if (key && res.status === 401 && errorCodeOf(res) === 'ERR_AUTH_PROOF_REPLAYED') {
        this.logger.info({ route: opts.logRoute, correlationId }, 'gateway call re-signed after a replayed proof');
        res = await this.send(route, method, body, headers, key, opts.signal);
      }
      return res;
    } catch (err) {
      if (opts.signal?.aborted === true || axios.isCancel(err)) {
        // The caller stopped waiting: not a network fault, and nothing to show the GP.
        this.logger.debug({ route: opts.logRoute, correlationId, ms: Date.now() - started }, 'gateway call cancelled');
        throw new AppError('ERR_REQUEST_CANCELLED', { correlationId, cause: err });
      }
      const code = axios.isAxiosError(err) ? (err.code ?? 'network') : 'network';
      this.logger.warn({ route: opts.logRoute, correlationId, code, ms: Date.now() - started }, 'gateway unreachable');
      throw new AppError('ERR_GATEWAY_UNREACHABLE', { detail: `network: ${code}`, correlationId, cause: err });
    }
  }

  /** One attempt: a fresh proof for exactly this method and URL, made just before it leaves. */
  private send(route: string, method: 'GET' | 'POST', body: unknown, headers: Record<string, string>, key: DpopKey | null, signal: AbortSignal | undefined): Promise<AxiosResponse> {
    const attempt = { ...headers };
    if (key !== null) {
      const jti = this.options.newProofId?.();
      attempt[HEADERS.dpop] = createDpopProof(key, { method, url: `${this.baseUrl}${route}`, now: this.now(), ...(jti === undefined ? {} : { jti }) });
    }
    return this.http.request({ url: route, method, data: body, headers: attempt, signal });
  }
}

function checkRequest<S extends TSchema>(checker: Checker<S>, value: unknown): void {
  if (!checker.check(value)) {
    throw new AppError('ERR_REQUEST_INVALID', { detail: checker.firstError(value) });
  }
}

export function createGatewayClient(options: GatewayClientOptions): GatewayClient {
  const transport = new GatewayTransport(options);
  const call: GatewayTransport['call'] = (route, method, body, resCheck, opts) => transport.call(route, method, body, resCheck, opts);
  return {
    async enrol(req, opts = {}) {
      checkRequest(checks.enrolReq, req);
      return call(GATEWAY_ROUTES.enrol, 'POST', req, checks.enrolRes, { ...opts, auth: false, logRoute: 'enrol' });
    },
    async me(opts = {}) {
      return call(GATEWAY_ROUTES.me, 'GET', undefined, checks.me, { ...opts, auth: true, logRoute: 'me' });
    },
    async verifyLaunch(req, opts = {}) {
      checkRequest(checks.launchReq, req);
      return call(GATEWAY_ROUTES.launchVerify, 'POST', req, checks.grant, { ...opts, auth: true, logRoute: 'launchVerify' });
    },
    async lookupPatientByNhi(nhi, opts = {}) {
      const value = typeof nhi === 'string' ? normaliseNhi(nhi) : '';
      // Both formats and the check digit; the detail never carries the value (it identifies a patient).
      if (!isValidNhi(value)) throw new AppError('ERR_LOOKUP_NHI_INVALID', { detail: /^[A-Z]{3}[0-9]{2}[0-9A-Z]{2}$/.test(value) ? 'check digit' : 'format' });
      const req: LaunchLookupRequest = { nhi: value };
      checkRequest(checks.lookupReq, req);
      const grant = await call(GATEWAY_ROUTES.launchLookup, 'POST', req, checks.grant, { ...opts, auth: true, logRoute: 'launchLookup' });
      if (grant.patient.nhi !== value) {
        throw new AppError('ERR_INTERNAL', { detail: 'gateway answered for a different NHI', correlationId: opts.correlationId });
      }
      return grant;
    },
    async confirmLookup(grantId, opts = {}) {
      const req: LaunchConfirmRequest = { grantId };
      checkRequest(checks.confirmReq, req);
      const grant = await call(GATEWAY_ROUTES.launchConfirm, 'POST', req, checks.grant, { ...opts, auth: true, logRoute: 'launchConfirm' });
      if (grant.grantId !== grantId || grant.requiresConfirmation === true) {
        throw new AppError('ERR_INTERNAL', { detail: 'gateway did not confirm that grant', correlationId: opts.correlationId });
      }
      return grant;
    },
    async commit(req, opts) {
      checkRequest(checks.commitReq, req);
      const res = await call(GATEWAY_ROUTES.commit, 'POST', req, checks.commitRes, {
        ...opts,
        auth: true,
        idempotencyKey: req.imageId,
        logRoute: 'commit',
      });
      if (res.imageId !== req.imageId) {
        throw new AppError('ERR_INTERNAL', { detail: 'gateway answered for a different image', correlationId: opts.correlationId });
      }
      return res;
    },
    async verifyCommit(imageId, opts = {}) {
      checkRequest(checks.uuid, imageId);
      const route = GATEWAY_ROUTES.commitVerify.replace(':imageId', encodeURIComponent(imageId));
      return call(route, 'GET', undefined, checks.verifyRes, { ...opts, auth: true, logRoute: 'commitVerify' });
    },
    async confirmCommit(imageId, opts = {}) {
      checkRequest(checks.uuid, imageId);
      const route = GATEWAY_ROUTES.commitConfirm.replace(':imageId', encodeURIComponent(imageId));
      const res = await call(route, 'POST', {}, checks.commitRes, { ...opts, auth: true, logRoute: 'commitConfirm' });
      if (res.imageId !== imageId || res.confirmedBy !== 'person') {
        throw new AppError('ERR_INTERNAL', { detail: 'gateway did not confirm that image', correlationId: opts.correlationId });
      }
      return res;
    },
  };
}
