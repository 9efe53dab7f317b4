/** The LAN server's session, QR-token and phone-credential state: pure logic over an injected clock and randomness. */
import { createHash } from 'node:crypto';
import type { LanSessionInfo, UploadResponse } from '../../shared/contracts/lan';
import { AppError, BugIndicatingError, type ErrorCode } from '../../shared/errors';

export type SessionEndReason = 'ended' | 'patient-changed' | 'committed' | 'idle';

export type LanPatient = LanSessionInfo['patient'];
export type UploadResult = Omit<UploadResponse, 'duplicate' | 'patientChanged' | 'sessionSent'>;

export interface SessionRecord {
  readonly id: string;
  /** The core's capture-session id this LAN session feeds. */
  readonly ref: string;
  readonly roomLabel: string;
  patient: LanPatient;
  state: 'open' | SessionEndReason;
  lastActivityMs: number;
  endedAtMs: number | undefined;
  qr: { tokenHash: string; expiresAtMs: number } | undefined;
  /** By clientUploadId (idempotency). */
  readonly uploads: Map<string, UploadResult>;
  /** Aborted when the session ends. */
  readonly inflight: Map<string, AbortController>;
  /** Work that must settle before the folder is removed. */
  readonly pending: Set<Promise<unknown>>;
  /** clientUploadId → photo number; held photos are this patient's, and may still arrive after a switch or a Send. */
  readonly held: Map<string, number>;
}

export interface PhoneRecord {
  readonly phoneId: string;
  readonly sessionId: string;
  lastUsedMs: number;
}

/** 256 bits, 43 base64url characters. */
const SECRET_BYTES = 32;
/** A morning of wound photos is a few dozen. */
const MAX_HELD_PER_SESSION = 500;
const MAX_EXPIRED_QR = 1000;

/** Secrets are kept only as their SHA-256: the maps never hold a usable token. */
const hashSecret = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');

export class SessionRegistry {
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly qrTokens = new Map<string, string>(); // tokenHash → sessionId
  private readonly phones = new Map<string, PhoneRecord>(); // credentialHash → phone
  /** Replaced because expired: tokenHash → when to forget it, so a late scan says "expired", not "cannot be used". */
  private readonly expiredQr = new Map<string, number>();

  constructor(private readonly opts: { now: () => number; random: (bytes: number) => Buffer; qrTtlMs: number; idleMs: number }) {}

  newSecret(): string {
    return this.opts.random(SECRET_BYTES).toString('base64url');
  }

  newId(bytes: number): string {
    return this.opts.random(bytes).toString('hex');
  }

  open(input: { id: string; ref: string; patient: LanPatient; roomLabel: string }): SessionRecord {
    if (this.sessions.has(input.id)) throw new BugIndicatingError('session id collision');
    const record: SessionRecord = {
      ...input,
      patient: { ...input.patient },
      state: 'open',
      lastActivityMs: this.opts.now(),
      endedAtMs: undefined,
      qr: undefined,
      uploads: new Map(),
      inflight: new Map(),
      pending: new Set(),
      held: new Map(),
    };
    this.sessions.set(record.id, record);
    return record;
  }

  get(sessionId: string): SessionRecord | undefined {
    return this.sessions.get(sessionId);
  }

  openSessions(): SessionRecord[] {
    return [...this.sessions.values()].filter((s) => s.state === 'open');
  }

  /** The previous QR token stops working at once. */
  issueQr(sessionId: string): { token: string; expiresAtMs: number } {
    const session = this.sessions.get(sessionId);
    if (!session) throw new AppError('ERR_NOT_FOUND', { detail: 'no such LAN session' });
    if (session.state !== 'open') throw endedError(session.state);
    if (session.qr) {
      this.qrTokens.delete(session.qr.tokenHash);
      if (this.opts.now() >= session.qr.expiresAtMs) this.rememberExpired(session.qr.tokenHash);
    }
    const token = this.newSecret();
    const expiresAtMs = this.opts.now() + this.opts.qrTtlMs;
    session.qr = { tokenHash: hashSecret(token), expiresAtMs };
    this.qrTokens.set(session.qr.tokenHash, session.id);
    return { token, expiresAtMs };
  }

  /** Spend a QR token (single use) for a phone credential; an expired one is spent too (`session`: reissue its QR). */
  exchange(
    token: string,
  ): { ok: true; session: SessionRecord; phone: PhoneRecord; credential: string } | { ok: false; error: AppError; session?: SessionRecord } {
    const tokenHash = hashSecret(token);
    const sessionId = this.qrTokens.get(tokenHash);
    const session = sessionId === undefined ? undefined : this.sessions.get(sessionId);
    if (!session || session.state !== 'open' || session.qr?.tokenHash !== tokenHash) {
      const expired = this.expiredQr.has(tokenHash);
      this.expiredQr.delete(tokenHash);
      return { ok: false, error: new AppError(expired ? 'ERR_LAN_TOKEN_EXPIRED' : 'ERR_LAN_TOKEN_INVALID') };
    }
    const expired = this.opts.now() >= session.qr.expiresAtMs;
    this.qrTokens.delete(tokenHash);
    session.qr = undefined;
    if (expired) return { ok: false, error: new AppError('ERR_LAN_TOKEN_EXPIRED'), session };
    const credential = this.newSecret();
    const phone: PhoneRecord = { phoneId: this.newId(8), sessionId: session.id, lastUsedMs: this.opts.now() };
    this.phones.set(hashSecret(credential), phone);
    session.lastActivityMs = phone.lastUsedMs;
    return { ok: true, session, phone, credential };
  }

  /** Slides the idle window. `heldUploads`: also a session ended by a switch or a Send with held photos (`mayReceive` decides). */
  authenticate(credential: string, opts: { heldUploads?: boolean } = {}): { session: SessionRecord; phone: PhoneRecord } {
    const phone = this.phones.get(hashSecret(credential));
    if (!phone) throw new AppError('ERR_LAN_TOKEN_INVALID');
    const session = this.sessions.get(phone.sessionId);
    if (!session) throw new AppError('ERR_LAN_TOKEN_INVALID');
    if (session.state !== 'open' && !(opts.heldUploads === true && this.inHeldGrace(session))) throw endedError(session.state);
    const now = this.opts.now();
    if (now - phone.lastUsedMs >= this.opts.idleMs) throw new AppError('ERR_LAN_TOKEN_EXPIRED');
    phone.lastUsedMs = now;
    session.lastActivityMs = now;
    return { session, phone };
  }

  /** From now on these photos are this patient's, whatever the PC does next; a repeat gets the same number. */
  hold(session: SessionRecord, clientUploadIds: readonly string[], number: (count: number) => number[]): { clientUploadId: string; photoNumber: number }[] {
    if (session.state !== 'open') throw endedError(session.state);
    const fresh = [...new Set(clientUploadIds)].filter((id) => !session.held.has(id));
    if (session.held.size + fresh.length > MAX_HELD_PER_SESSION) throw new AppError('ERR_LAN_TOO_MANY_PARTS', { detail: 'too many photos held in one session' });
    const numbers = number(fresh.length);
    fresh.forEach((id, i) => session.held.set(id, numbers[i] ?? session.held.size + 1));
    return clientUploadIds.map((id) => ({ clientUploadId: id, photoNumber: session.held.get(id) ?? 0 }));
  }

  /** The phone will not send these after all: the PC stops waiting for them. Returns how many were let go. */
  release(session: SessionRecord, clientUploadIds: readonly string[]): number {
    let released = 0;
    for (const id of clientUploadIds) {
      if (!session.held.has(id) || session.uploads.has(id) || session.inflight.has(id)) continue;
      session.held.delete(id);
      released += 1;
    }
    return released;
  }

  /** After a patient switch or a Send, within the idle window: only the photos held before it, each once. */
  mayReceive(session: SessionRecord, clientUploadId: string): boolean {
    if (session.state === 'open') return true;
    return session.held.has(clientUploadId) && !session.uploads.has(clientUploadId) && this.inHeldGrace(session);
  }

  /** Held photos that have not arrived: after a switch or a Send, what may still come. */
  stillComing(session: SessionRecord): number {
    let count = 0;
    for (const id of session.held.keys()) if (!session.uploads.has(id)) count += 1;
    return count;
  }

  private inHeldGrace(session: SessionRecord): boolean {
    return keepsHeld(session.state) && session.held.size > 0 && session.endedAtMs !== undefined && this.opts.now() - session.endedAtMs < this.opts.idleMs;
  }

  forgetPhone(credential: string): void {
    this.phones.delete(hashSecret(credential));
  }

  /** Returns the record when this call ended it. */
  end(sessionId: string, reason: SessionEndReason): SessionRecord | undefined {
    const session = this.sessions.get(sessionId);
    if (!session || session.state !== 'open') return undefined;
    session.state = reason;
    session.endedAtMs = this.opts.now();
    if (session.qr) this.qrTokens.delete(session.qr.tokenHash);
    session.qr = undefined;
    session.patient = { displayName: '', birthDate: '' }; // keep no patient data in a dead session
    for (const [key, controller] of session.inflight) {
      // Held photos are the confirmed patient's: a switch or a Send does not cut them off (an upload not yet past
      // its fields is refused later, when its clientUploadId is known).
      if (keepsHeld(reason) && session.held.size > 0 && (session.held.has(key) || key.startsWith('request:'))) continue;
      controller.abort(endedError(reason));
    }
    return session;
  }

  /** Ends idle sessions, reports expired QRs, forgets dead sessions and phones once no answer to them means anything. */
  sweep(): { idle: SessionRecord[]; qrExpired: SessionRecord[]; forgotten: SessionRecord[] } {
    const now = this.opts.now();
    const idle: SessionRecord[] = [];
    const qrExpired: SessionRecord[] = [];
    const forgotten: SessionRecord[] = [];
    for (const session of this.sessions.values()) {
      if (session.state === 'open') {
        if (now - session.lastActivityMs >= this.opts.idleMs && session.inflight.size === 0) {
          const ended = this.end(session.id, 'idle');
          if (ended) idle.push(ended);
        } else if (!session.qr || now >= session.qr.expiresAtMs) {
          qrExpired.push(session);
        }
      } else if (session.endedAtMs !== undefined && now - session.endedAtMs >= this.opts.idleMs && session.pending.size === 0) {
        this.sessions.delete(session.id);
        forgotten.push(session);
      }
    }
    for (const [hash, forgetAt] of this.expiredQr) if (now >= forgetAt) this.expiredQr.delete(hash);
    for (const [hash, phone] of this.phones) {
      if (!this.sessions.has(phone.sessionId)) this.phones.delete(hash);
    }
    return { idle, qrExpired, forgotten };
  }

  private rememberExpired(tokenHash: string): void {
    if (this.expiredQr.size >= MAX_EXPIRED_QR) {
      const oldest = this.expiredQr.keys().next().value;
      if (oldest !== undefined) this.expiredQr.delete(oldest);
    }
    this.expiredQr.set(tokenHash, this.opts.now() + this.opts.idleMs);
  }
}

/** A switch or a Send ends the session for anything new; the photos held before it may still arrive. */
export function keepsHeld(reason: SessionRecord['state']): boolean {
  return reason === 'patient-changed' || reason === 'committed';
}

const ENDED_CODES: Partial<Record<SessionRecord['state'], ErrorCode>> = { 'patient-changed': 'ERR_LAN_PATIENT_CHANGED', committed: 'ERR_LAN_SESSION_SENT' };

export function endedError(reason: SessionRecord['state']): AppError {
  return new AppError(ENDED_CODES[reason] ?? 'ERR_LAN_SESSION_ENDED');
}
