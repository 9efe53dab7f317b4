/**
 * Phone capture: the LAN session of the working patient (QR, phones joined) and the photos that arrive through it.
 * A phone photo belongs to the capture session named by its upload (`sessionRef`), never to "the current
 * patient". The LAN session ends when the GP ends it, on a patient switch, after a commit, or when the LAN server
 * ends it after a quiet spell (the GP is told). Without a LAN server, phone capture is unavailable.
 */
import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { PhoneView } from '../../shared/contracts/bridge';
import { AppError, toAppError } from '../../shared/errors/app-error';
import { patientDisplayName, type WorkingPatient } from '../session';
import type { ImageLibrary } from './image-library';
import type { NoticeBoard } from './notices';
import { phoneMetadata } from './phone-metadata';
import { PhotoNumbers } from './photo-numbers';
import { PHONE_DECLINED_MESSAGE } from './phone-messages';
import type { LanFile, LanPort, LanQr, LanSink } from './ports';

interface PhoneState {
  lanSessionId: string;
  captureSessionId: string;
  patientId: string;
  qr: LanQr;
  phonesJoined: number;
  network: NonNullable<PhoneView['network']>;
}

export type PhoneEndReason = 'ended' | 'patient-changed' | 'committed';

export interface PhoneCaptureDeps {
  working: WorkingPatient;
  library: ImageLibrary;
  notices: NoticeBoard;
  /** The room label the phone page shows (settings.roomLabel, read at each start). */
  roomLabel: () => string;
  /** Network self-diagnosis run before a QR code is shown (electron/network-diagnosis). Absent: none. */
  networkCheck?: () => Promise<NonNullable<PhoneView['network']>>;
  changed: () => void;
  log: Logger;
}

export class PhoneCapture {
  private phone: PhoneState | null = null;
  /** A patient's running photo numbers, shared by every phone and session for that patient. */
  private readonly photoNumbers = new PhotoNumbers();
  private lan: LanPort | undefined;

  constructor(private readonly deps: PhoneCaptureDeps) {}

  /** Where the LAN server hands each accepted photo (the core takes ownership of the file). */
  readonly sink: LanSink = {
    numberPhotos: (sessionRef, count) => this.photoNumbers.take(sessionRef, count),
    onFile: (file) => this.receive(file),
  };

  /** Attach the LAN server (made with `sink`) and follow its session events. */
  attach(lan: LanPort): void {
    this.lan = lan;
    lan.on('phone-joined', (e) => this.ifCurrent(e.sessionId, (p) => (p.phonesJoined += 1)));
    lan.on('phone-declined', (e) => this.ifCurrent(e.sessionId, () => this.deps.notices.notify('info', 'warning', PHONE_DECLINED_MESSAGE)));
    lan.on('qr-rotated', (e) => this.ifCurrent(e.sessionId, (p) => (p.qr = e.qr)));
    lan.on('session-ended', (e) =>
      this.ifCurrent(e.sessionId, () => {
        this.phone = null;
        if (e.reason === 'idle') this.deps.notices.notify('phone-session-ended', 'info', 'The phone upload session ended after a quiet spell. Start it again to add more photos.');
      }),
    );
  }

  private ifCurrent(lanSessionId: string, update: (p: PhoneState) => void): void {
    if (this.phone?.lanSessionId !== lanSessionId) return;
    update(this.phone);
    this.deps.changed();
  }

  private async receive(file: LanFile): Promise<{ imageId: string }> {
    const session = this.deps.working.session(file.sessionRef);
    if (session === undefined) throw new AppError('ERR_LAN_SESSION_ENDED');
    const rec = this.deps.library.create(session, 'phone', this.photoNumbers.label(session.id, file.photoNumber), phoneMetadata(file.metadata));
    try {
      await this.deps.library.ingest(rec, file.open ? { buffer: await file.open() } : { path: file.path });
    } finally {
      await rm(file.path, { force: true }); // we own it; the master is our copy
    }
    this.deps.log.info({ imageId: rec.id, bytes: file.bytes }, 'phone photo received');
    return { imageId: rec.id };
  }

  /** Show a QR for the working patient (the same one again if it is already theirs). */
  async start(): Promise<PhoneView> {
    const cur = this.deps.working.requireCurrent();
    if (this.lan === undefined) throw new AppError('ERR_INTERNAL', { detail: 'phone capture unavailable' });
    if (this.phone !== null && this.phone.captureSessionId === cur.id) return this.view() as PhoneView;
    if (this.phone !== null) await this.end('ended');
    const opened = await this.lan.openSession({
      sessionRef: cur.id,
      patient: { displayName: patientDisplayName(cur.patient), birthDate: cur.patient.birthDate },
      roomLabel: this.deps.roomLabel(),
    });
    const network = this.deps.networkCheck === undefined ? [] : await this.deps.networkCheck().catch(() => []);
    this.phone = { lanSessionId: opened.sessionId, captureSessionId: cur.id, patientId: cur.patient.id, qr: opened.qr, phonesJoined: 0, network };
    this.deps.changed();
    return this.view() as PhoneView;
  }

  /** A new QR (the old one stops working). */
  async regenerate(): Promise<PhoneView> {
    if (this.phone === null || this.lan === undefined) throw new AppError('ERR_LAN_SESSION_ENDED');
    this.phone.qr = await this.lan.rotateQr(this.phone.lanSessionId);
    this.deps.changed();
    return this.view() as PhoneView;
  }

  /** End the LAN session, if there is one. */
  async end(reason: PhoneEndReason): Promise<void> {
    if (this.phone === null || this.lan === undefined) return;
    const id = this.phone.lanSessionId;
    this.phone = null;
    await this.lan.endSession(id, reason);
  }

  /** End the LAN session if it belongs to this capture session; a failure to end it is logged, not thrown. */
  async endFor(captureSessionId: string, reason: PhoneEndReason): Promise<void> {
    if (this.phone === null || this.phone.captureSessionId !== captureSessionId) return;
    await this.end(reason).catch((e: unknown) => this.deps.log.warn({ err: toAppError(e).code }, 'could not end phone session'));
  }

  view(): PhoneView | null {
    const phone = this.phone;
    if (phone === null) return null;
    return {
      active: true,
      patientId: phone.patientId,
      qrSvg: phone.qr.svg,
      qrUrl: phone.qr.url,
      qrPngDataUrl: phone.qr.pngDataUrl,
      expiresAt: phone.qr.expiresAt.toISOString(),
      phonesJoined: phone.phonesJoined,
      network: phone.network,
    };
  }
}
