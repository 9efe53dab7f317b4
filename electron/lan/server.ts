/** The companion's LAN upload server: sessions, QR codes, the phone API and the upload, held in memory until the core stores it (README.md). */
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import pino, { type Logger } from 'pino';
import {
  ExchangeRequest,
  LAN_ACCEPTED_TYPES,
  LAN_DEFAULT_PORT,
  LAN_PROTOCOL_VERSION,
  LAN_ROUTES,
  LanSessionInfo,
  UPLOAD_FIELDS,
  ExchangeResponse,
  HoldRequest,
  HoldResponse,
  SessionStatusResponse,
  UploadFields,
  UploadResponse,
  type LanAcceptedType,
} from '../../shared/contracts/lan';
import { AppError, BugIndicatingError } from '../../shared/errors';
import { LIMITS } from '../../shared/limits';
import { invalid, toLanError } from './errors';
import { createLanFastify } from './http';
import { loadAsset, loadIndex } from './page';
import { renderQr } from './qr';
import { SlidingWindowCounter } from './rate-limit';
import { endedError, keepsHeld, SessionRegistry, type PhoneRecord, type SessionEndReason, type SessionRecord, type UploadResult } from './sessions';
import { SNIFF_BYTES, sniffType } from './sniff';

/** What the core receives for each accepted photo: its bytes stay in memory (nothing of it is written by the LAN server). */
export interface LanIncomingFile {
  sessionId: string;
  /** The core's capture-session id given to openSession (binds the photo to its patient). */
  sessionRef: string;
  phoneId: string;
  clientUploadId: string;
  /** The file's bytes, in memory. */
  data: Buffer;
  bytes: number;
  sha256: string;
  contentType: LanAcceptedType;
  metadata: Omit<UploadFields, 'clientUploadId'>;
  /** "Photo 3": the number the PC gave this photo when the phone held it. */
  photoNumber?: number;
}

/** `onFile` resolving means the core owns the photo (its own copy durable); an AppError refuses it (its status). */
export interface LanUploadSink {
  onFile(file: LanIncomingFile): Promise<{ imageId: string }>;
  /** The patient's next `count` photo numbers (shared by every phone and session). Absent: per LAN session from 1. */
  numberPhotos?(sessionRef: string, count: number): number[];
}

export const DEFAULT_LAN_LIMITS = {
  maxUploadFileBytes: LIMITS.maxUploadFileBytes,
  qrTokenTtlSeconds: LIMITS.qrTokenTtlSeconds,
  /** Session and phone-credential idle timeout (sliding). */
  idleSeconds: LIMITS.lanSessionIdleSeconds,
  /** Failed token/credential attempts per IP per minute before 429. */
  authFailuresPerMinute: 20,
  uploadsPerPhonePerMinute: 60,
  maxParts: 5,
  maxFields: 4,
  maxFieldBytes: 256,
  maxPartHeaderPairs: 16,
  jsonBodyBytes: 1024,
  /** Slowloris guard. */
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 5 * 60_000,
  keepAliveTimeoutMs: 5_000,
  connectionsCheckingIntervalMs: 1_000,
};
export type LanLimits = Record<keyof typeof DEFAULT_LAN_LIMITS, number>;

export interface LanServerOptions {
  /** The LAN interface address to bind and advertise (interfaces.ts); 127.0.0.1 in tests. */
  bindHost: string;
  /** 0 picks a free port (tests). Default LAN_DEFAULT_PORT. */
  port?: number;
  clock?: () => number;
  logger?: Logger;
  limits?: Partial<LanLimits>;
  /** The built mobile page: index.html plus assets/. Absent → a built-in "not installed" page. */
  mobileAssetsDir?: string;
  sink: LanUploadSink;
  /** 0 disables the idle/QR-expiry timer (call sweep() yourself). */
  sweepIntervalMs?: number;
}

export interface QrInfo {
  url: string;
  svg: string;
  pngDataUrl: string;
  expiresAt: Date;
}

export type OpenSessionInput = LanSessionInfo & { sessionRef: string };

export interface LanServerEvents {
  'phone-joined': [{ sessionId: string; phoneId: string }];
  'phone-declined': [{ sessionId: string; phoneId: string }];
  'upload-started': [{ sessionId: string; phoneId: string }];
  /** Every 'upload-started' is followed by one 'upload-ended' once the request is answered or fails. */
  'upload-ended': [{ sessionId: string; phoneId: string }];
  'qr-rotated': [{ sessionId: string; qr: QrInfo }];
  'upload-progress': [{ sessionId: string; phoneId: string; clientUploadId: string; bytes: number }];
  'file-received': [{ sessionId: string; phoneId: string; clientUploadId: string; imageId: string; bytes: number; sha256: string }];
  'session-ended': [{ sessionId: string; reason: SessionEndReason }];
  /** Held photos not yet arrived (on a hold, an arrival, a release, a switch, a Send); `graceOver`: none will be taken any more. */
  'still-coming': [{ sessionId: string; count: number; graceOver: boolean }];
}

type RouteAuth = 'none' | 'token' | 'credential';
type Authenticated = ReturnType<SessionRegistry['authenticate']>;
type Received = Pick<LanIncomingFile, 'data' | 'bytes' | 'sha256' | 'contentType'>;
interface UploadInProgress {
  fields: Record<string, string>;
  parsed?: UploadFields;
  received?: Received;
  duplicate?: UploadResult;
  controller?: AbortController;
}

const ROUTE_AUTH: Record<string, RouteAuth | undefined> = {
  [LAN_ROUTES.exchange]: 'token',
  [LAN_ROUTES.session]: 'credential',
  [LAN_ROUTES.upload]: 'credential',
  [LAN_ROUTES.hold]: 'credential',
  [LAN_ROUTES.release]: 'credential',
  [LAN_ROUTES.decline]: 'credential',
};
const PROGRESS_STEP_BYTES = 256 * 1024;
/** A hold names at most LAN_HOLD_MAX_IDS UUIDs (~40 bytes each). */
const HOLD_BODY_BYTES = 4096;
const checkUploadFields = TypeCompiler.Compile(UploadFields);
const checkSessionInfo = TypeCompiler.Compile(LanSessionInfo);
const BEARER = /^Bearer ([A-Za-z0-9_-]{43})$/;
const ALLOWED_FIELDS = new Set<string>([UPLOAD_FIELDS.clientUploadId, UPLOAD_FIELDS.bodySiteCode, UPLOAD_FIELDS.laterality, UPLOAD_FIELDS.consent]);

export class LanServer extends EventEmitter<LanServerEvents> {
  readonly app: FastifyInstance;
  private readonly limits: LanLimits;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly registry: SessionRegistry;
  private readonly authFailures: SlidingWindowCounter;
  private readonly phoneUploads: SlidingWindowCounter;
  private readonly authByRequest = new WeakMap<FastifyRequest, Authenticated>();
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: LanServerOptions) {
    super();
    this.limits = { ...DEFAULT_LAN_LIMITS, ...options.limits };
    if (this.limits.qrTokenTtlSeconds > LIMITS.qrTokenTtlSeconds) throw new BugIndicatingError('qrTokenTtlSeconds above LIMITS.qrTokenTtlSeconds');
    this.now = options.clock ?? Date.now;
    // Redaction is a second line of defence: nothing here logs headers or bodies, but libraries may (at trace).
    this.log = (options.logger ?? pino({ level: 'silent' })).child(
      { component: 'lan' },
      { redact: { paths: ['headers', 'busboyOptions.headers', 'req.headers', 'req.url', 'body', '*.authorization', 'token', 'credential'], remove: true } },
    );
    this.registry = new SessionRegistry({ now: this.now, random: randomBytes, qrTtlMs: this.limits.qrTokenTtlSeconds * 1000, idleMs: this.limits.idleSeconds * 1000 });
    this.authFailures = new SlidingWindowCounter(this.limits.authFailuresPerMinute, 60_000, this.now);
    this.phoneUploads = new SlidingWindowCounter(this.limits.uploadsPerPhonePerMinute, 60_000, this.now);
    this.app = this.buildApp();
  }

  async listen(): Promise<{ host: string; port: number }> {
    await this.app.listen({ host: this.options.bindHost, port: this.options.port ?? LAN_DEFAULT_PORT });
    const interval = this.options.sweepIntervalMs ?? 15_000;
    if (interval > 0) {
      this.sweepTimer = setInterval(() => void this.sweep(), interval);
      this.sweepTimer.unref();
    }
    return { host: this.options.bindHost, port: this.port() };
  }

  async close(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    // End every session first (aborting streaming uploads), then drop the connections, then tidy the folders.
    const ending = this.registry.openSessions().map((s) => this.endSession(s.id, 'ended'));
    await this.app.close();
    await Promise.all(ending);
  }

  private port(): number {
    const address = this.app.server.address();
    if (address !== null && typeof address === 'object') return address.port;
    return this.options.port ?? LAN_DEFAULT_PORT;
  }

  private allowedHosts(): Set<string> {
    const port = this.port();
    return new Set([this.options.bindHost, '127.0.0.1', 'localhost'].map((h) => `${h.toLowerCase()}:${port}`));
  }

  async openSession(input: OpenSessionInput): Promise<{ sessionId: string; qr: QrInfo }> {
    const { sessionRef, ...info } = input;
    if (typeof sessionRef !== 'string' || sessionRef.length === 0 || !checkSessionInfo.Check(info)) throw invalid('openSession input');
    const id = this.registry.newId(16);
    this.registry.open({ id, ref: input.sessionRef, patient: input.patient, roomLabel: input.roomLabel });
    this.log.info({ sessionId: id }, 'LAN session opened');
    return { sessionId: id, qr: await this.rotateQr(id) };
  }

  async endSession(sessionId: string, reason: SessionEndReason): Promise<void> {
    const session = this.registry.end(sessionId, reason);
    if (!session) return;
    this.announceEnd(sessionId, reason);
    // Held photos may still arrive after a switch or a Send.
    if (keepsHeld(reason)) this.announceStillComing(session, false);
    if (keepsHeld(reason) && session.held.size > 0) return;
    await this.settled(session);
  }

  async sweep(): Promise<void> {
    const { idle, qrExpired, forgotten } = this.registry.sweep();
    for (const session of idle) this.announceEnd(session.id, 'idle');
    const heldAfterEnd = forgotten.filter((s) => keepsHeld(s.state) && s.held.size > 0);
    for (const session of heldAfterEnd) this.announceStillComing(session, true);
    await Promise.all([...[...idle, ...heldAfterEnd].map((s) => this.settled(s)), ...qrExpired.map((s) => this.rotateAndAnnounce(s.id))]);
  }

  private announceStillComing(session: SessionRecord, graceOver: boolean): void {
    this.emit('still-coming', { sessionId: session.id, count: this.registry.stillComing(session), graceOver });
  }

  private announceEnd(sessionId: string, reason: SessionEndReason): void {
    this.log.info({ sessionId, reason }, 'LAN session ended');
    this.emit('session-ended', { sessionId, reason });
  }

  /** The old token dies at once. */
  async rotateQr(sessionId: string): Promise<QrInfo> {
    const { token, expiresAtMs } = this.registry.issueQr(sessionId);
    const url = `http://${this.options.bindHost}:${this.port()}${LAN_ROUTES.page}#t=${token}`;
    const images = await renderQr(url);
    return { url, ...images, expiresAt: new Date(expiresAtMs) };
  }

  private async rotateAndAnnounce(sessionId: string): Promise<void> {
    try {
      const qr = await this.rotateQr(sessionId);
      this.emit('qr-rotated', { sessionId, qr });
    } catch (err) {
      this.log.warn({ sessionId, code: toLanError(err).code }, 'QR not reissued');
    }
  }

  /** Once the session's uploads in flight have been answered (or failed). */
  private async settled(session: SessionRecord): Promise<void> {
    await Promise.allSettled([...session.pending]);
  }

  /** The mobile page, its assets and the phone API; `guard` runs first, before any body byte is read. */
  private buildApp(): FastifyInstance {
    const app = createLanFastify(this.limits, this.log);
    const limits = this.limits;
    app.addHook('onRequest', async (req) => {
      this.guard(req);
    });
    app.get(LAN_ROUTES.page, async (_req, reply) => {
      const page = await loadIndex(this.options.mobileAssetsDir);
      return reply.type(page.contentType).send(page.body);
    });
    app.get<{ Params: { name: string } }>(`${LAN_ROUTES.assetsPrefix}:name`, async (req, reply) => {
      const asset = await loadAsset(this.options.mobileAssetsDir, req.params.name);
      if (!asset) throw new AppError('ERR_NOT_FOUND');
      return reply.type(asset.contentType).send(asset.body);
    });
    app.post<{ Body: ExchangeRequest }>(
      LAN_ROUTES.exchange,
      { schema: { body: ExchangeRequest, response: { 200: ExchangeResponse } }, bodyLimit: limits.jsonBodyBytes },
      async (req) => this.exchange(req),
    );
    // Response schemas serialise only the documented fields: nothing else can leak into a reply.
    app.get(LAN_ROUTES.session, { schema: { response: { 200: SessionStatusResponse } } }, async (req) => this.status(req));
    app.post(LAN_ROUTES.upload, { schema: { response: { 200: UploadResponse } } }, async (req) => this.upload(req));
    app.post(LAN_ROUTES.decline, { bodyLimit: limits.jsonBodyBytes }, async (req) => this.decline(req));
    app.post<{ Body: HoldRequest }>(
      LAN_ROUTES.hold,
      { schema: { body: HoldRequest, response: { 200: HoldResponse } }, bodyLimit: HOLD_BODY_BYTES },
      async (req) => this.hold(req),
    );
    app.post<{ Body: HoldRequest }>(LAN_ROUTES.release, { schema: { body: HoldRequest }, bodyLimit: HOLD_BODY_BYTES }, async (req) => this.release(req));
    return app;
  }

  private guard(req: FastifyRequest): void {
    const host = (req.headers.host ?? '').toLowerCase();
    const allowed = this.allowedHosts();
    const hostHeaders = req.raw.rawHeaders.filter((name, i) => i % 2 === 0 && name.toLowerCase() === 'host').length;
    if (hostHeaders !== 1 || !allowed.has(host)) throw new AppError('ERR_LAN_HOST_REJECTED');
    if (req.headers['sec-fetch-site'] === 'cross-site') throw new AppError('ERR_LAN_CROSS_SITE');
    const origin = req.headers.origin;
    if (origin !== undefined) {
      const ok = [...allowed].some((h) => origin.toLowerCase() === `http://${h}`);
      if (!ok) throw new AppError('ERR_LAN_CROSS_SITE');
    }
    const auth = ROUTE_AUTH[req.routeOptions.url ?? ''] ?? 'none';
    if (auth === 'none') return;
    if (this.authFailures.isLimited(req.ip)) throw new AppError('ERR_RATE_LIMITED', { retryAfterSeconds: 60 });
    if (auth === 'token') return; // checked on the (small, capped) JSON body
    const match = BEARER.exec(req.headers.authorization ?? '');
    if (!match?.[1]) {
      this.authFailures.hit(req.ip);
      throw new AppError('ERR_LAN_TOKEN_INVALID');
    }
    let result: Authenticated;
    try {
      result = this.registry.authenticate(match[1], { heldUploads: req.routeOptions.url === LAN_ROUTES.upload || req.routeOptions.url === LAN_ROUTES.release });
    } catch (err) {
      if (err instanceof AppError && err.status === 401) this.authFailures.hit(req.ip);
      throw err;
    }
    if (req.method === 'POST') {
      if (this.phoneUploads.isLimited(result.phone.phoneId)) throw new AppError('ERR_RATE_LIMITED', { retryAfterSeconds: 60 });
      this.phoneUploads.hit(result.phone.phoneId);
    }
    this.authByRequest.set(req, result);
  }

  private authOf(req: FastifyRequest): Authenticated {
    const auth = this.authByRequest.get(req);
    if (!auth) throw new BugIndicatingError('credential route without authentication');
    return auth;
  }

  private async exchange(req: FastifyRequest<{ Body: ExchangeRequest }>): Promise<ExchangeResponse> {
    const result = this.registry.exchange(req.body.token);
    if (!result.ok) {
      this.authFailures.hit(req.ip);
      if (result.session) await this.rotateAndAnnounce(result.session.id);
      throw result.error;
    }
    const { session, phone, credential } = result;
    this.log.info({ sessionId: session.id, phoneId: phone.phoneId }, 'phone joined');
    this.emit('phone-joined', { sessionId: session.id, phoneId: phone.phoneId });
    await this.rotateAndAnnounce(session.id);
    return {
      protocolVersion: LAN_PROTOCOL_VERSION,
      credential,
      phoneId: phone.phoneId,
      session: { patient: { ...session.patient }, roomLabel: session.roomLabel },
      limits: { maxUploadFileBytes: this.limits.maxUploadFileBytes, idleSeconds: this.limits.idleSeconds, acceptedTypes: [...LAN_ACCEPTED_TYPES] },
    };
  }

  private decline(req: FastifyRequest): Record<string, never> {
    const { session, phone } = this.authOf(req);
    const credential = BEARER.exec(req.headers.authorization ?? '')?.[1];
    if (credential !== undefined) this.registry.forgetPhone(credential);
    this.log.info({ sessionId: session.id, phoneId: phone.phoneId }, 'phone declined the patient');
    this.emit('phone-declined', { sessionId: session.id, phoneId: phone.phoneId });
    return {};
  }

  private hold(req: FastifyRequest<{ Body: HoldRequest }>): HoldResponse {
    const { session } = this.authOf(req);
    const number = (count: number): number[] =>
      this.options.sink.numberPhotos?.(session.ref, count) ?? Array.from({ length: count }, (_, i) => session.held.size + i + 1);
    const held = this.registry.hold(session, req.body.clientUploadIds, number);
    this.announceStillComing(session, false);
    return { held };
  }

  private release(req: FastifyRequest<{ Body: HoldRequest }>): Record<string, never> {
    const { session } = this.authOf(req);
    if (this.registry.release(session, req.body.clientUploadIds) > 0) this.announceStillComing(session, false);
    return {};
  }

  private status(req: FastifyRequest): SessionStatusResponse {
    const { session, phone } = this.authOf(req);
    return {
      state: 'open',
      session: { patient: { ...session.patient }, roomLabel: session.roomLabel },
      uploads: [...session.uploads.values()].map((u) => ({ clientUploadId: u.clientUploadId, imageId: u.imageId })),
      idleSecondsLeft: Math.max(0, Math.floor((phone.lastUsedMs + this.limits.idleSeconds * 1000 - this.now()) / 1000)),
    };
  }

  private async upload(req: FastifyRequest): Promise<UploadResponse> {
    const { session, phone } = this.authOf(req);
    this.emit('upload-started', { sessionId: session.id, phoneId: phone.phoneId });
    // A session ending between parts drops the connection now (not at the request timeout); the retry learns why.
    const stage = { streaming: false };
    const requestKey = `request:${req.id}`;
    const controller = new AbortController();
    controller.signal.addEventListener('abort', () => {
      if (!stage.streaming) req.raw.destroy();
    });
    session.inflight.set(requestKey, controller);
    const work = this.receiveUpload(req, stage);
    session.pending.add(work);
    try {
      return await work;
    } finally {
      session.pending.delete(work);
      session.inflight.delete(requestKey);
      this.emit('upload-ended', { sessionId: session.id, phoneId: phone.phoneId });
    }
  }

  private async receiveUpload(req: FastifyRequest, stage: { streaming: boolean }): Promise<UploadResponse> {
    const { session, phone } = this.authOf(req);
    if (!req.isMultipart()) throw invalid('expected multipart/form-data');
    const u: UploadInProgress = { fields: {} };
    try {
      try {
        await this.readParts(req, session, phone, stage, u);
      } catch (err) {
        const mapped = toLanError(err);
        throw mapped.code === 'ERR_INTERNAL' ? invalid('malformed multipart body') : mapped;
      }
      if (!u.parsed) throw invalid('no file part');
      if (u.duplicate) return { ...u.duplicate, duplicate: true };
      if (!u.received) throw invalid('no file part');
      if (!this.registry.mayReceive(session, u.parsed.clientUploadId)) throw endedError(session.state);
      return await this.handOver(session, phone, u.parsed, u.received);
    } finally {
      if (u.parsed && u.controller && session.inflight.get(u.parsed.clientUploadId) === u.controller) session.inflight.delete(u.parsed.clientUploadId);
    }
  }

  /** Fields first, then exactly one file part named "file"; fills `u` as it goes, so the caller can clean up after a failure. */
  private async readParts(req: FastifyRequest, session: SessionRecord, phone: PhoneRecord, stage: { streaming: boolean }, u: UploadInProgress): Promise<void> {
    const parts = req.parts({
      limits: {
        fileSize: this.limits.maxUploadFileBytes,
        files: 1,
        fields: this.limits.maxFields,
        parts: this.limits.maxParts,
        fieldSize: this.limits.maxFieldBytes,
        fieldNameSize: 64,
        headerPairs: this.limits.maxPartHeaderPairs,
      },
    });
    for await (const part of parts) {
      if (part.type === 'field') {
        if (u.parsed) throw invalid('fields must come before the file');
        if (!ALLOWED_FIELDS.has(part.fieldname) || Object.hasOwn(u.fields, part.fieldname)) throw invalid('unknown or repeated field');
        if (part.valueTruncated || part.fieldnameTruncated || typeof part.value !== 'string') throw invalid('field too long');
        u.fields[part.fieldname] = part.value;
        continue;
      }
      part.file.on('error', () => undefined); // surfaced through the iterator; never an unhandled 'error'
      if (u.parsed || part.fieldname !== UPLOAD_FIELDS.file) throw invalid('exactly one file part, named "file"');
      if (!checkUploadFields.Check(u.fields)) throw invalid('clientUploadId, bodySiteCode, laterality or consent is not valid');
      const parsed: UploadFields = { ...u.fields } as UploadFields;
      u.parsed = parsed;
      const done = session.uploads.get(parsed.clientUploadId);
      if (done) {
        u.duplicate = done;
        await finished(part.file.resume()); // the first upload's result answers this retry
        continue;
      }
      if (!this.registry.mayReceive(session, parsed.clientUploadId)) throw endedError(session.state);
      if (session.inflight.has(parsed.clientUploadId)) throw new AppError('ERR_IDEMPOTENCY_IN_PROGRESS');
      u.controller = new AbortController();
      session.inflight.set(parsed.clientUploadId, u.controller);
      stage.streaming = true;
      u.received = await this.receiveFile(part.file, session, phone, parsed.clientUploadId, u.controller.signal);
      stage.streaming = false;
    }
  }

  private async handOver(session: SessionRecord, phone: PhoneRecord, parsed: UploadFields, received: Received): Promise<UploadResponse> {
    const { clientUploadId: _id, ...metadata } = parsed; // only the fields the phone sent
    const photoNumber = session.held.get(parsed.clientUploadId);
    // The sink works from the bytes in memory and answers once its own copy is durable (master and record fsync'd):
    // until then the phone keeps the photo and sends it again after a crash.
    const { imageId } = await this.options.sink.onFile({
      sessionId: session.id,
      sessionRef: session.ref,
      phoneId: phone.phoneId,
      clientUploadId: parsed.clientUploadId,
      data: received.data,
      bytes: received.bytes,
      sha256: received.sha256,
      contentType: received.contentType,
      metadata,
      ...(photoNumber === undefined ? {} : { photoNumber }),
    });
    const result: UploadResult = { clientUploadId: parsed.clientUploadId, imageId, bytes: received.bytes, sha256: received.sha256 };
    session.uploads.set(parsed.clientUploadId, result);
    this.log.info({ sessionId: session.id, phoneId: phone.phoneId, bytes: received.bytes }, 'photo received');
    this.emit('file-received', { sessionId: session.id, phoneId: phone.phoneId, ...result });
    if (photoNumber !== undefined) this.announceStillComing(session, false);
    if (session.state === 'open') return { ...result, duplicate: false };
    return { ...result, duplicate: false, ...(session.state === 'committed' ? { sessionSent: true } : { patientChanged: true }) };
  }

  /**
   * The file part into memory, hashed as it arrives; refused once its first bytes are not a photo or document we take.
   * Nothing is written to disk here: the sink stores its own (sealed) copy before the phone is answered.
   */
  private async receiveFile(file: Readable & { truncated?: boolean }, session: SessionRecord, phone: PhoneRecord, clientUploadId: string, signal: AbortSignal): Promise<Received> {
    const onAbort = (): void => {
      file.destroy(signal.reason instanceof Error ? signal.reason : endedError(session.state));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const hash = createHash('sha256');
    const chunks: Buffer[] = [];
    let contentType: LanAcceptedType | undefined;
    let bytes = 0;
    let reported = 0;
    const recognise = (): LanAcceptedType => {
      const type = sniffType(Buffer.concat(chunks));
      if (!type) throw new AppError('ERR_IMAGE_UNSUPPORTED');
      return type;
    };
    try {
      for await (const chunk of file as AsyncIterable<Buffer>) {
        if (signal.aborted) throw endedError(session.state);
        bytes += chunk.length;
        hash.update(chunk);
        chunks.push(chunk);
        if (contentType === undefined && bytes >= SNIFF_BYTES) contentType = recognise();
        if (bytes - reported >= PROGRESS_STEP_BYTES) {
          reported = bytes;
          this.emit('upload-progress', { sessionId: session.id, phoneId: phone.phoneId, clientUploadId, bytes });
        }
      }
      if (file.truncated === true || bytes > this.limits.maxUploadFileBytes) throw new AppError('ERR_IMAGE_FILE_TOO_LARGE');
      if (signal.aborted || !this.registry.mayReceive(session, clientUploadId)) throw endedError(session.state);
      if (bytes === 0) throw new AppError('ERR_IMAGE_UNSUPPORTED', { detail: 'empty file' }); // what the phone page itself says
      contentType ??= recognise();
      if (bytes !== reported) this.emit('upload-progress', { sessionId: session.id, phoneId: phone.phoneId, clientUploadId, bytes });
      return { data: Buffer.concat(chunks), bytes, sha256: hash.digest('hex'), contentType };
    } catch (err) {
      if (signal.aborted && !(err instanceof AppError && err.code === 'ERR_IMAGE_FILE_TOO_LARGE')) throw endedError(session.state);
      throw toLanError(err);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}


export function createLanServer(options: LanServerOptions): LanServer {
  return new LanServer(options);
}
