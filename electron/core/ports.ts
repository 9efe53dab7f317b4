/** What the core's units are built from (`CoreParts`: each unit takes the Pick it needs) and the other modules it uses. */
import type { Logger } from 'pino';
import type { CommitClient, DeviceCredentials, GatewayClient } from '../gateway-client/client';
import type { ImagingService } from '../imaging/types';
import type { LanIncomingFile, LanServer } from '../lan/server';
import type { Outbox } from '../outbox/types';
import type { SecretStore } from '../secrets';
import type { WorkingPatient } from '../session';
import type { DeviceAccess } from './device-access';
import type { ImageFiles } from './image-files';
import type { ImageLibrary } from './image-library';
import type { LaunchController } from './launch-controller';
import type { NoticeBoard } from './notices';
import type { PhoneCapture } from './phone-capture';
import type { ConfigCell } from './settings';

export type { Clock } from '../outbox/types';

export type ImagingPort = Pick<ImagingService, 'ingest' | 'render' | 'warmUp'>;

export type OutboxPort = Pick<Outbox, 'enqueue' | 'list' | 'get' | 'retry' | 'rebindGrant' | 'on' | 'confirmArrived' | 'sendAgain'>;

export type GatewayPort = Pick<GatewayClient, 'enrol' | 'verifyLaunch' | 'lookupPatientByNhi' | 'confirmLookup' | 'verifyCommit'> & CommitClient;

/** Makes a gateway client for a base URL (the composition root passes createGatewayClient with its logger). */
export type GatewayFactory = (options: { baseUrl: string; credentials: () => Promise<DeviceCredentials | null> }) => GatewayPort;

export type LanPort = Pick<LanServer, 'openSession' | 'rotateQr' | 'endSession' | 'on'>;

/** One photo the LAN server accepted: its `sessionRef`, not "the current patient", says whose it is. */
export type LanFile = Omit<LanIncomingFile, 'contentType'>;

export interface LanSink {
  onFile(file: LanFile): Promise<{ imageId: string }>;
  numberPhotos?(sessionRef: string, count: number): number[];
}

export interface CoreParts {
  working: WorkingPatient;
  access: DeviceAccess;
  config: ConfigCell;
  library: ImageLibrary;
  files: ImageFiles;
  outbox: OutboxPort;
  phone: PhoneCapture;
  launch: LaunchController;
  notices: NoticeBoard;
  secrets: SecretStore;
  gateway: GatewayFactory;
  clock: { now(): number };
  log: Logger;
  changed: () => void;
  track: <T>(p: Promise<T>) => Promise<T>;
  iso: (ms: number) => string;
}
