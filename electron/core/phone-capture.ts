/**
 * Phone capture: the working patient's LAN session (QR, phones joined) and the photos that arrive through it. A photo
 * belongs to the capture session its upload names (`sessionRef`), never to "the current patient".
 */
import type { PhoneView } from '../../shared/contracts/bridge';
import type { ImageMetadata } from '../../shared/contracts/common';
import { CONSENTS, LATERALITIES } from '../../shared/coded/values';
import { AppError, toAppError } from '../../shared/errors/app-error';
import type { QrInfo } from '../lan/server';
import { keepsHeld } from '../lan/sessions';
import { patientDisplayName } from '../session';
import type { CoreParts, LanFile, LanPort, LanSink } from './ports';
import type { SendFollowers } from './send-followers';

/** No patient data: the notice sits beside the banner. */
const PHONE_DECLINED_MESSAGE =
  'A phone that scanned the QR code said this is not the right patient, and sent nothing. Check the patient in Evolution, then show the QR code again.';

/** The details a nurse gave with a phone photo, checked again here: anything not valid is left out, never guessed. */
export function phoneMetadata(given: LanFile['metadata']): ImageMetadata {
  const metadata: ImageMetadata = {};
  if (given.bodySiteCode !== undefined && /^[0-9]{6,18}$/.test(given.bodySiteCode)) metadata.bodySiteCode = given.bodySiteCode;
  if (given.laterality !== undefined && LATERALITIES.some((l) => l.key === given.laterality)) metadata.laterality = given.laterality;
  if (given.consent !== undefined && CONSENTS.some((c) => c.key === given.consent)) metadata.consent = given.consent;
  return metadata;
}

/**
 * One number and name per phone photo ("Photo 3"), given when the phone holds it, running per capture session (one
 * patient) across every phone: the same words then show on the phone, the card, the outbox and the Medtech title.
 */
export class PhotoNumbers {
  private readonly next = new Map<string, number>();

  take(sessionRef: string, count: number): number[] {
    const first = (this.next.get(sessionRef) ?? 0) + 1;
    this.next.set(sessionRef, first + count - 1);
    return Array.from({ length: count }, (_, i) => first + i);
  }

  /** Its held number, or the session's next one when the phone did not hold it (an older page). */
  label(sessionRef: string, held: number | undefined): string {
    return `Photo ${held ?? (this.take(sessionRef, 1)[0] as number)}`;
  }
}

interface PhoneState {
  lanSessionId: string;
  captureSessionId: string;
  patientId: string;
  qr: QrInfo;
  phonesJoined: number;
  /** Numbered on a phone, not yet arrived: a "send all" takes them too. */
  photosComing: number;
  network: NonNullable<PhoneView['network']>;
}

export type PhoneEndReason = 'ended' | 'patient-changed' | 'committed';

export type PhoneCaptureDeps = Pick<CoreParts, 'working' | 'library' | 'notices' | 'changed' | 'log'> & {
  /** settings.roomLabel, read at each start. */
  roomLabel: () => string;
  /** Network self-diagnosis before a QR code is shown (electron/network-diagnosis). */
  networkCheck?: () => Promise<NonNullable<PhoneView['network']>>;
  /** Photos still coming after a Send or a switch: counted for the desktop; after a "send all" they go with it. */
  followers?: Pick<SendFollowers, 'arrived' | 'stillComing' | 'watch'>;
};

export class PhoneCapture {
  private phone: PhoneState | null = null;
  private readonly photoNumbers = new PhotoNumbers();
  private lan: LanPort | undefined;

  constructor(private readonly deps: PhoneCaptureDeps) {}

  /** The core takes ownership of each file. */
  readonly sink: LanSink = {
    numberPhotos: (sessionRef, count) => this.photoNumbers.take(sessionRef, count),
    onFile: (file) => this.receive(file),
  };

  /** The LAN server made with `sink`. */
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
    lan.on('still-coming', (e) => {
      this.ifCurrent(e.sessionId, (p) => (p.photosComing = e.count));
      this.deps.followers?.stillComing(e);
    });
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
    const read = await this.deps.library.ingest(rec, { buffer: file.data });
    if (read) this.deps.followers?.arrived(file.sessionId, rec);
    this.deps.log.info({ imageId: rec.id, bytes: file.bytes }, 'phone photo received');
    return { imageId: rec.id };
  }

  /** The same QR again if it is already the working patient's. */
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
    this.phone = { lanSessionId: opened.sessionId, captureSessionId: cur.id, patientId: cur.patient.id, qr: opened.qr, phonesJoined: 0, photosComing: 0, network };
    this.deps.changed();
    return this.view() as PhoneView;
  }

  /** The old QR stops working. */
  async regenerate(): Promise<PhoneView> {
    if (this.phone === null || this.lan === undefined) throw new AppError('ERR_LAN_SESSION_ENDED');
    this.phone.qr = await this.lan.rotateQr(this.phone.lanSessionId);
    this.deps.changed();
    return this.view() as PhoneView;
  }

  async end(reason: PhoneEndReason): Promise<void> {
    if (this.phone === null || this.lan === undefined) return;
    const id = this.phone.lanSessionId;
    // Photos the phone had numbered still arrive after a Send or a switch: counted for the desktop (a "send all" follows them instead).
    if (keepsHeld(reason)) this.deps.followers?.watch(id, this.phone.patientId);
    this.phone = null;
    await this.lan.endSession(id, reason);
  }

  /** Only this capture session's; a failure is logged, not thrown. Returns the LAN session it ended. */
  async endFor(captureSessionId: string, reason: PhoneEndReason): Promise<string | undefined> {
    const id = this.lanSessionOf(captureSessionId);
    if (id === undefined) return undefined;
    await this.end(reason).catch((e: unknown) => this.deps.log.warn({ err: toAppError(e).code }, 'could not end phone session'));
    return id;
  }

  /** The phone session open for this capture session, if any. */
  lanSessionOf(captureSessionId: string): string | undefined {
    return this.phone?.captureSessionId === captureSessionId ? this.phone.lanSessionId : undefined;
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
      ...(phone.photosComing > 0 ? { photosComing: phone.photosComing } : {}),
      network: phone.network,
    };
  }
}
