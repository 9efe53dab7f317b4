/**
 * The small interfaces the core needs from the other companion modules. The real modules satisfy them
 * (electron/imaging, electron/lan, electron/outbox, electron/gateway-client, electron/secrets); keeping them
 * here means the core names exactly what it uses and nothing more.
 */
import type { DeviceCredentials, GatewayClient } from '../gateway-client';
import type { ImagingService } from '../imaging/types';
import type { Outbox } from '../outbox/types';

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export type ImagingPort = Pick<ImagingService, 'ingest' | 'render'>;

export type OutboxPort = Pick<Outbox, 'enqueue' | 'list' | 'get' | 'retry' | 'rebindGrant' | 'on' | 'confirmArrived' | 'sendAgain'>;

export type GatewayPort = Pick<GatewayClient, 'enrol' | 'verifyLaunch' | 'lookupPatientByNhi' | 'confirmLookup' | 'verifyCommit'>;

/** Makes a gateway client for a base URL (the composition root passes createGatewayClient with its logger). */
export type GatewayFactory = (options: { baseUrl: string; credentials: () => Promise<DeviceCredentials | null> }) => GatewayPort;

export interface LanQr {
  url: string;
  svg: string;
  pngDataUrl: string;
  expiresAt: Date;
}

export type LanSessionEndReason = 'ended' | 'patient-changed' | 'committed' | 'idle';

/** One photo the LAN server accepted (electron/lan LanIncomingFile). */
export interface LanFile {
  sessionId: string;
  /** The capture-session id the core gave openSession: this, not "the current patient", decides whose photo it is. */
  sessionRef: string;
  phoneId: string;
  clientUploadId: string;
  /** The core takes ownership of this file. */
  path: string;
  /** Present when the file is sealed on disk: its clear bytes, in memory (electron/sealed-files). */
  open?: () => Promise<Buffer>;
  bytes: number;
  sha256: string;
  metadata: { bodySiteCode?: string; laterality?: 'left' | 'right' | 'bilateral'; consent?: 'verbal' | 'written' | 'not-needed' };
  /** The number the core gave this photo when the phone held it (numberPhotos). */
  photoNumber?: number;
}

export interface LanSink {
  onFile(file: LanFile): Promise<{ imageId: string }>;
  /** The next `count` phone-photo numbers of the capture session (one running count per patient session). */
  numberPhotos?(sessionRef: string, count: number): number[];
}

export interface LanPort {
  openSession(input: { sessionRef: string; patient: { displayName: string; birthDate: string }; roomLabel: string }): Promise<{ sessionId: string; qr: LanQr }>;
  rotateQr(sessionId: string): Promise<LanQr>;
  endSession(sessionId: string, reason: LanSessionEndReason): Promise<void>;
  on(event: 'phone-joined', listener: (e: { sessionId: string; phoneId: string }) => void): unknown;
  on(event: 'phone-declined', listener: (e: { sessionId: string; phoneId: string }) => void): unknown;
  on(event: 'qr-rotated', listener: (e: { sessionId: string; qr: LanQr }) => void): unknown;
  on(event: 'session-ended', listener: (e: { sessionId: string; reason: LanSessionEndReason }) => void): unknown;
}
