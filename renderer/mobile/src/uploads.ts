/**
 * The photos on this phone and their way to the PC (rules in renderer/mobile/README.md, "Flow"). Pure logic, no
 * DOM: transport, clock, timers and randomness are injected, so retry and backoff are tested without waiting.
 */
import type { ErrorBody } from '../../../shared/errors/app-error';
import type { ConsentKey, LateralityKey } from '../../../shared/coded/values';
import type { Timers, Transport } from './api';
import { bodyFor, classify, failureOf, sessionEndOf, type Failure } from './failures';

export type PhotoState = 'staged' | 'queued' | 'sending' | 'retrying' | 'sent' | 'failed' | 'stopped';

export interface Photo {
  /** The clientUploadId: minted once, reused by every retry, so the PC stores the photo once. */
  readonly id: string;
  /** The PC's number once held (shown as "Photo 3"); until then 1, 2, 3… in the order added. */
  n: number;
  held: boolean;
  readonly name: string;
  readonly size: number;
  file: Blob | undefined;
  bodySiteCode?: string;
  laterality?: LateralityKey;
  consent?: ConsentKey;
  state: PhotoState;
  /** 0..1 of the bytes sent in the current attempt. */
  progress: number;
  attempts: number;
  /** Why it is retrying or failed. */
  error?: ErrorBody;
}

export interface QueueDeps extends Timers {
  transport: Pick<Transport, 'upload'> & Partial<Pick<Transport, 'hold' | 'release'>>;
  credential: () => string;
  newId: () => string;
  random: () => number;
  /** Largest file the PC takes (from the exchange answer). */
  maxBytes: number;
  /** After this many automatic attempts a photo waits for `resume()` or a tap on Retry (default 8). */
  maxAutoAttempts?: number;
  onChange: (photo: Photo, removed?: boolean) => void;
  /** The session is over for this phone; the queue has already stopped every photo. */
  onSessionStop: (body: ErrorBody) => void;
  /** The PC moved on to another patient, or the GP sent, while held photos are still to send (they carry on; nothing new is taken). */
  onHeldOnly?: (body: ErrorBody) => void;
}

const HOLD_BATCH = 50;
const CONCURRENCY = 2;
const BASE_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;
const UNFINISHED: ReadonlySet<PhotoState> = new Set<PhotoState>(['staged', 'queued', 'sending', 'retrying', 'failed']);
const EDITABLE: ReadonlySet<PhotoState> = new Set<PhotoState>(['staged', 'failed']);
/** The PC's answers after which the photos it holds still go (to the confirmed patient; with the GP's Send). */
export const HELD_STILL_GO: ReadonlySet<string> = new Set(['ERR_LAN_PATIENT_CHANGED', 'ERR_LAN_SESSION_SENT']);
const retryableFailure = (p: Photo): boolean => p.state === 'failed' && p.file !== undefined && p.error?.retryable === true;

export class UploadQueue {
  private readonly photos = new Map<string, Photo>();
  private readonly inflight = new Map<string, AbortController>();
  private readonly timers = new Map<string, unknown>();
  private counter = 0;
  private stoppedWith: ErrorBody | undefined;
  /** Set once the PC switched patient or the GP sent: only held photos may still be sent. */
  private heldOnlyWith: ErrorBody | undefined;
  private holding = false;
  private online = true;

  constructor(private readonly deps: QueueDeps) {}

  list(): Photo[] {
    return [...this.photos.values()];
  }
  get(id: string): Photo | undefined {
    return this.photos.get(id);
  }
  /** The PC's patient-changed or sent answer, while held photos are still going. */
  get heldOnlyBecause(): ErrorBody | undefined {
    return this.heldOnlyWith;
  }
  counts(): Record<PhotoState, number> {
    const c: Record<PhotoState, number> = { staged: 0, queued: 0, sending: 0, retrying: 0, sent: 0, failed: 0, stopped: 0 };
    for (const p of this.photos.values()) c[p.state] += 1;
    return c;
  }

  /** Empty or oversize files fail at once, without a request. */
  add(file: Blob & { name?: string }): Photo {
    const n = ++this.counter;
    const photo: Photo = {
      id: this.deps.newId(),
      n,
      name: file.name ?? `Photo ${n}`,
      size: file.size,
      file,
      held: false,
      state: 'staged',
      progress: 0,
      attempts: 0,
    };
    const closed = this.stoppedWith ?? this.heldOnlyWith;
    if (closed !== undefined) {
      photo.state = 'stopped';
      photo.file = undefined;
      photo.error = closed;
    } else if (file.size === 0) {
      this.failPhoto(photo, bodyFor('ERR_IMAGE_UNSUPPORTED', { detail: 'empty file' }));
    } else if (file.size > this.deps.maxBytes) {
      this.failPhoto(photo, bodyFor('ERR_IMAGE_FILE_TOO_LARGE'));
    }
    this.photos.set(photo.id, photo);
    this.deps.onChange(photo);
    this.holdNew();
    return photo;
  }

  /** Holds every photo not yet held (one request at a time, ≤ 50 ids); a network failure leaves them for the next try. */
  holdNew(): void {
    const hold = this.deps.transport.hold;
    if (hold === undefined || this.holding || this.stoppedWith !== undefined || this.heldOnlyWith !== undefined || !this.online) return;
    // Every photo gets its number, even one refused on the phone (too large), so the numbers match the order taken.
    const batch = [...this.photos.values()].filter((p) => !p.held && UNFINISHED.has(p.state)).slice(0, HOLD_BATCH);
    if (batch.length === 0) return;
    this.holding = true;
    hold(this.deps.credential(), batch.map((p) => p.id)).then(
      (res) => {
        this.holding = false;
        for (const h of res.held) {
          const p = this.photos.get(h.clientUploadId);
          if (p === undefined) continue;
          p.held = true;
          p.n = h.photoNumber;
          this.deps.onChange(p);
        }
        // Removed, or refused on the phone, while being held: the PC need not wait for them.
        this.release(res.held.map((h) => h.clientUploadId).filter((id) => this.photos.get(id)?.file === undefined && this.photos.get(id)?.state !== 'sent'));
        this.holdNew();
      },
      (err: unknown) => {
        this.holding = false;
        const ended = sessionEndOf(err);
        if (ended !== undefined) this.sessionAnswer(ended);
      },
    );
  }

  /**
   * The PC switched patient or the GP sent. Photos it holds carry on (they are the confirmed patient's, and go with
   * the Send); the others stop, and nothing new can be added. With nothing held left to send, the session is over.
   */
  heldOnly(body: ErrorBody): void {
    if (this.stoppedWith !== undefined) return;
    const first = this.heldOnlyWith === undefined;
    this.heldOnlyWith = body;
    for (const p of this.photos.values()) {
      if (p.held || p.state === 'sent' || p.state === 'stopped') continue;
      this.stopPhoto(p, body);
    }
    if (!this.list().some((p) => p.held && UNFINISHED.has(p.state) && p.file !== undefined)) this.end(body);
    else if (first) this.deps.onHeldOnly?.(body);
  }

  /**
   * A session-level answer: a patient switch or the GP's Send keeps held photos going; anything else — or that answer
   * for a held photo itself (the PC's grace is over) — stops every photo.
   */
  private sessionAnswer(body: ErrorBody, refused?: Photo): void {
    if (HELD_STILL_GO.has(body.code) && refused?.held !== true && this.deps.onHeldOnly !== undefined) this.heldOnly(body);
    else this.end(body);
  }

  /** Held photos this phone will not send: the PC stops waiting for them (best effort; its grace ends it anyway). */
  private release(ids: string[]): void {
    const release = this.deps.transport.release;
    if (ids.length === 0 || release === undefined || this.stoppedWith !== undefined) return;
    release(this.deps.credential(), ids).catch(() => undefined);
  }

  private end(body: ErrorBody): void {
    this.stop(body);
    this.deps.onSessionStop(body);
  }

  private stopPhoto(p: Photo, body: ErrorBody): void {
    this.inflight.get(p.id)?.abort();
    this.inflight.delete(p.id);
    this.cancelTimer(p.id);
    p.state = 'stopped';
    p.file = undefined;
    p.error = body;
    this.deps.onChange(p);
  }

  /** After a switch or a Send: once every held photo is sent (or removed), the session is over for this phone. */
  private settleHeldOnly(): void {
    const body = this.heldOnlyWith;
    if (body === undefined || this.stoppedWith !== undefined) return;
    if (!this.list().some((p) => UNFINISHED.has(p.state) && p.file !== undefined)) this.end(body);
  }

  /** Body site / laterality / consent, while the photo is still on the phone. Returns false when it is past editing. */
  update(id: string, fields: { bodySiteCode?: string | null; laterality?: LateralityKey | null; consent?: ConsentKey | null }): boolean {
    const p = this.photos.get(id);
    if (p === undefined || !EDITABLE.has(p.state) || p.file === undefined) return false;
    for (const key of ['bodySiteCode', 'laterality', 'consent'] as const) {
      if (fields[key] === null) delete p[key];
      else if (fields[key] !== undefined) Object.assign(p, { [key]: fields[key] });
    }
    this.deps.onChange(p);
    return true;
  }

  /** Removes a photo that has not started sending. Returns false otherwise. */
  remove(id: string): boolean {
    const p = this.photos.get(id);
    if (p === undefined || !(EDITABLE.has(p.state) || p.state === 'stopped')) return false;
    this.photos.delete(id);
    p.file = undefined;
    if (p.held && p.state !== 'stopped') this.release([p.id]);
    this.deps.onChange(p, true);
    this.settleHeldOnly();
    return true;
  }

  /** Send every staged photo (and any failed one that can be retried). */
  sendAll(): void {
    if (this.stoppedWith !== undefined) return;
    this.holdNew();
    for (const p of this.photos.values()) {
      if (p.state === 'staged' || retryableFailure(p)) this.enqueue(p, true);
    }
    this.pump();
  }

  retry(id: string): void {
    const p = this.photos.get(id);
    if (p === undefined || this.stoppedWith !== undefined || p.file === undefined) return;
    if (p.state === 'failed' || p.state === 'retrying') this.enqueue(p, true);
    this.pump();
  }

  /** Wi-Fi is back or the page is visible again: start every waiting photo now. */
  resume(): void {
    if (this.stoppedWith !== undefined) return;
    for (const p of this.photos.values()) {
      if (p.state === 'retrying' || retryableFailure(p)) this.enqueue(p, p.state === 'failed');
    }
    this.pump();
  }

  /** `navigator.onLine === false` is reliable (`true` is not): start nothing until the network is back. */
  setOnline(online: boolean): void {
    this.online = online;
    if (online) {
      this.holdNew();
      this.resume();
    }
  }

  /** Stops everything at once: aborts in-flight requests, drops every file. Nothing is sent after this. */
  stop(body: ErrorBody): void {
    if (this.stoppedWith !== undefined) return;
    this.stoppedWith = body;
    for (const p of this.photos.values()) if (p.state !== 'sent') this.stopPhoto(p, body);
  }

  /** Forget every photo (the page is leaving this session). */
  clear(): void {
    for (const p of [...this.photos.values()]) {
      p.file = undefined;
      this.photos.delete(p.id);
      this.deps.onChange(p, true);
    }
  }

  private cancelTimer(id: string): void {
    const t = this.timers.get(id);
    if (t !== undefined) this.deps.clearTimer(t);
    this.timers.delete(id);
  }

  private enqueue(p: Photo, resetAttempts: boolean): void {
    this.cancelTimer(p.id);
    if (resetAttempts) p.attempts = 0;
    p.state = 'queued';
    p.progress = 0;
    this.deps.onChange(p);
  }

  private failPhoto(p: Photo, body: ErrorBody): void {
    p.state = 'failed';
    p.error = body;
    p.progress = 0;
    if (!body.retryable) p.file = undefined;
  }

  private pump(): void {
    if (this.stoppedWith !== undefined || !this.online) return;
    for (const p of this.photos.values()) {
      if (this.inflight.size >= CONCURRENCY) return;
      if (p.state === 'queued') this.start(p);
    }
  }

  private start(p: Photo): void {
    const file = p.file;
    if (file === undefined) return;
    const ctrl = new AbortController();
    this.inflight.set(p.id, ctrl);
    p.state = 'sending';
    p.progress = 0;
    p.attempts += 1;
    this.deps.onChange(p);
    const req = {
      credential: this.deps.credential(),
      clientUploadId: p.id,
      file,
      ...(p.bodySiteCode === undefined ? {} : { bodySiteCode: p.bodySiteCode }),
      ...(p.laterality === undefined ? {} : { laterality: p.laterality }),
      ...(p.consent === undefined ? {} : { consent: p.consent }),
    };
    this.deps.transport
      .upload(req, {
        signal: ctrl.signal,
        onProgress: (sent, total) => {
          if (ctrl.signal.aborted) return;
          p.progress = total > 0 ? Math.min(1, sent / total) : 0;
          this.deps.onChange(p);
        },
      })
      .then(
        (res) => {
          if (this.inflight.get(p.id) !== ctrl) return; // stopped meanwhile
          this.inflight.delete(p.id);
          p.state = 'sent';
          p.progress = 1;
          p.file = undefined;
          delete p.error;
          this.deps.onChange(p);
          if (res.patientChanged === true) this.heldOnly(bodyFor('ERR_LAN_PATIENT_CHANGED'));
          else if (res.sessionSent === true) this.heldOnly(bodyFor('ERR_LAN_SESSION_SENT'));
          this.settleHeldOnly();
          this.pump();
        },
        (err: unknown) => {
          if (this.inflight.get(p.id) !== ctrl) return;
          this.inflight.delete(p.id);
          this.onFailure(p, failureOf(err));
          this.pump();
        },
      );
  }

  private onFailure(p: Photo, failure: Failure): void {
    switch (classify(failure)) {
      case 'ignore':
        return;
      case 'session':
        if (failure.kind === 'http') this.sessionAnswer(failure.body, p);
        return;
      case 'photo':
        if (failure.kind === 'http') this.failPhoto(p, failure.body);
        if (p.held && p.file === undefined) this.release([p.id]); // refused for good
        this.deps.onChange(p);
        return;
      case 'retry': {
        const body = failure.kind === 'http' ? failure.body : bodyFor('ERR_INTERNAL', { message: 'The connection to the PC dropped.', action: 'wait' });
        p.error = { ...body, retryable: true };
        p.progress = 0;
        if (p.attempts >= (this.deps.maxAutoAttempts ?? 8)) {
          p.state = 'failed';
          this.deps.onChange(p);
          return;
        }
        const delay = this.delayFor(p.attempts, failure);
        p.state = 'retrying';
        this.timers.set(
          p.id,
          this.deps.setTimer(() => {
            this.timers.delete(p.id);
            if (p.state !== 'retrying') return;
            this.enqueue(p, false);
            this.pump();
          }, delay),
        );
        this.deps.onChange(p);
        return;
      }
    }
  }

  /** Full jitter: random in [0, min(max, base·2^(n−1))], at least the server's Retry-After. */
  delayFor(attempt: number, failure: Failure): number {
    const cap = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(0, attempt - 1));
    let delay = Math.floor(this.deps.random() * cap);
    if (failure.kind === 'http') {
      const after = failure.body.retryAfterSeconds;
      if (after !== undefined) delay = Math.max(delay, after * 1000);
      if (failure.body.code === 'ERR_STORAGE_FULL') delay = Math.max(delay, MAX_DELAY_MS);
    }
    return delay;
  }
}
