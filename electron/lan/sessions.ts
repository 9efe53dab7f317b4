import { createHash } from 'node:crypto';
import { AppError, BugIndicatingError } from '../../shared/errors';

/** Why a session ended. `patient-changed` is told to phones as ERR_LAN_PATIENT_CHANGED, the rest as ERR_LAN_SESSION_ENDED. */
export type SessionEndReason = 'ended' | 'patient-changed' | 'committed' | 'idle';

export interface LanPatient {
  displayName: string;
  /** YYYY-MM-DD */
  birthDate: string;
}

export interface UploadResult {
  clientUploadId: string;
  imageId: string;
  bytes: number;
  sha256: string;
}

export interface SessionRecord {
  readonly id: string;
  /** The core's capture-session id this LAN session feeds. */
  readonly ref: string;
  readonly roomLabel: string;
  /** The session's own upload folder (absolute). */
  readonly dir: string;
  patient: LanPatient;
  state: 'open' | SessionEndReason;
  lastActivityMs: number;
  endedAtMs: number | undefined;
  qr: { tokenHash: string; expiresAtMs: number } | undefined;
  /** Finished uploads by clientUploadId (idempotency). */
  readonly uploads: Map<string, UploadResult>;
  /** Uploads still streaming, by clientUploadId; aborted when the session ends. */
  readonly inflight: Map<string, AbortController>;
  /** Work that must settle before the folder is removed. */
  readonly pending: Set<Promise<unknown>>;
  /**
   * Photos a phone announced (`POST …/photos/hold`) while the session was open, by clientUploadId → the photo's
   * number. They belong to this session's patient: after a patient switch they may still be uploaded (only they).
   */
  readonly held: Map<string, number>;
}

export interface PhoneRecord {
  readonly phoneId: string;
  readonly sessionId: string;
  lastUsedMs: number;
}

export interface IssuedQr {
  token: string;
  expiresAtMs: number;
}

export interface SessionRegistryOptions {
  now: () => number;
  random: (bytes: number) => Buffer;
  qrTtlMs: number;
  idleMs: number;
}

const SECRET_BYTES = 32;
/** Photos one session may hold for its patient (a morning of wound photos is a few dozen). */
export const MAX_HELD_PER_SESSION = 500;
/** Expired QR tokens remembered (so a late scan says "expired", not "cannot be used"). */
const MAX_EXPIRED_QR = 1000; // 256 bits, 43 base64url characters

/** Secrets are looked up by their SHA-256, so the maps never hold a usable token and lookups leak nothing useful. */
export const hashSecret = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');

/**
 * The session, QR-token and phone-credential state of the LAN server. Pure logic over an injected clock and
 * randomness; no I/O. Every secret it issues is returned once and kept only as a hash.
 */
export class SessionRegistry {
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly qrTokens = new Map<string, string>(); // tokenHash → sessionId
  private readonly phones = new Map<string, PhoneRecord>(); // credentialHash → phone
  /** QR tokens replaced because they had expired: tokenHash → when to forget it. Scanning one says "expired". */
  private readonly expiredQr = new Map<string, number>();

  constructor(private readonly opts: SessionRegistryOptions) {}

  newSecret(): string {
    return this.opts.random(SECRET_BYTES).toString('base64url');
  }

  newId(bytes: number): string {
    return this.opts.random(bytes).toString('hex');
  }

  open(input: { id: string; ref: string; patient: LanPatient; roomLabel: string; dir: string }): SessionRecord {
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

  /** A new QR token for an open session; the previous one stops working at once. */
  issueQr(sessionId: string): IssuedQr {
    const session = this.requireOpen(sessionId);
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

  /**
   * Spend a QR token (single use) for a phone credential. Fails with ERR_LAN_TOKEN_INVALID (unknown, already
   * used, replaced) or ERR_LAN_TOKEN_EXPIRED; an expired token is spent too, and `session` then names the session
   * whose QR must be reissued. After a success the caller issues the next QR as well.
   */
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
    return { ok: true, ...this.admit(session) };
  }

  /**
   * Credential → its phone and live session, sliding the idle window. Throws the coded reason otherwise.
   * `heldUploads`: the upload route also admits a phone of a session ended by a patient switch while it still
   * has held photos to deliver (`mayReceive` then decides per photo).
   */
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

  /**
   * The phone announces photos it holds for this session's patient; the PC numbers them (`number(count)`, the
   * patient's running photo number) and from then on they are that patient's, whatever the PC does next.
   * Idempotent per clientUploadId (a repeat gets the same number). Only while the session is open.
   */
  hold(session: SessionRecord, clientUploadIds: readonly string[], number: (count: number) => number[]): { clientUploadId: string; photoNumber: number }[] {
    if (session.state !== 'open') throw endedError(session.state);
    const fresh = [...new Set(clientUploadIds)].filter((id) => !session.held.has(id));
    if (session.held.size + fresh.length > MAX_HELD_PER_SESSION) throw new AppError('ERR_LAN_TOO_MANY_PARTS', { detail: 'too many photos held in one session' });
    const numbers = number(fresh.length);
    fresh.forEach((id, i) => session.held.set(id, numbers[i] ?? session.held.size + 1));
    return clientUploadIds.map((id) => ({ clientUploadId: id, photoNumber: session.held.get(id) ?? 0 }));
  }

  /**
   * May this session still take this photo? While open: any photo. After a patient switch, within the idle window:
   * only the photos held before the switch (they are the previous patient's). Otherwise none.
   */
  mayReceive(session: SessionRecord, clientUploadId: string): boolean {
    if (session.state === 'open') return true;
    return session.held.has(clientUploadId) && this.inHeldGrace(session);
  }

  private inHeldGrace(session: SessionRecord): boolean {
    return session.state === 'patient-changed' && session.held.size > 0 && session.endedAtMs !== undefined && this.opts.now() - session.endedAtMs < this.opts.idleMs;
  }

  /** The phone leaves its session (the nurse declined the patient): its credential stops working at once. */
  forgetPhone(credential: string): void {
    this.phones.delete(hashSecret(credential));
  }

  /** Mark a session ended (idempotent). Returns the record when this call ended it. */
  end(sessionId: string, reason: SessionEndReason): SessionRecord | undefined {
    const session = this.sessions.get(sessionId);
    if (!session || session.state !== 'open') return undefined;
    session.state = reason;
    session.endedAtMs = this.opts.now();
    if (session.qr) this.qrTokens.delete(session.qr.tokenHash);
    session.qr = undefined;
    session.patient = { displayName: '', birthDate: '' }; // keep no patient data in a dead session
    for (const [key, controller] of session.inflight) {
      // Held photos are the previous patient's: a switch does not cut them off (an upload not yet past its
      // fields is refused later, when its clientUploadId is known).
      if (reason === 'patient-changed' && session.held.size > 0 && (session.held.has(key) || key.startsWith('request:'))) continue;
      controller.abort(endedError(reason));
    }
    return session;
  }

  /**
   * Housekeeping on the injected clock: ends idle sessions, reports sessions whose QR has expired, and forgets
   * dead sessions and phones once no credential of theirs could still be shown a meaningful answer.
   */
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

  private admit(session: SessionRecord): { session: SessionRecord; phone: PhoneRecord; credential: string } {
    const credential = this.newSecret();
    const now = this.opts.now();
    const phone: PhoneRecord = { phoneId: this.newId(8), sessionId: session.id, lastUsedMs: now };
    this.phones.set(hashSecret(credential), phone);
    session.lastActivityMs = now;
    return { session, phone, credential };
  }

  private requireOpen(sessionId: string): SessionRecord {
    const session = this.sessions.get(sessionId);
    if (!session) throw new AppError('ERR_NOT_FOUND', { detail: 'no such LAN session' });
    if (session.state !== 'open') throw endedError(session.state);
    return session;
  }
}

export function endedError(reason: SessionEndReason): AppError {
  return new AppError(reason === 'patient-changed' ? 'ERR_LAN_PATIENT_CHANGED' : 'ERR_LAN_SESSION_ENDED');
}
