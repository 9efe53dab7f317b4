export { createLanServer, DEFAULT_LAN_LIMITS, toLanError } from './server';
export type {
  LanIncomingFile,
  LanLimits,
  LanServer,
  LanServerEvents,
  LanServerOptions,
  LanUploadSink,
  OpenSessionInput,
  QrInfo,
} from './server';
export type { LanPatient, SessionEndReason } from './sessions';
export { detectLanAddress, isPrivateIPv4, parseDefaultRouteInterfaces, pickLanAddress, type LanAddress } from './interfaces';
export { renderQr, type QrImages } from './qr';
