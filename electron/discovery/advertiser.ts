/** DNS-SD advertisement of the companion's LAN server (`_clinicpro-images._tcp`); no patient data. */
import { Bonjour, type Service } from 'bonjour-service';
import pino, { type Logger } from 'pino';
import { LAN_PROTOCOL_VERSION, LAN_SERVICE_TYPE, type LanTxtRecord } from '../../shared/contracts/lan';

/** bonjour-service's callback sees send failures only; multicast-dns also emits 'error' (bind EADDRNOTAVAIL), fatal unheard. */
export function guardSocketErrors(bonjour: Bonjour, onError: (err: unknown) => void): void {
  const mdns = (bonjour as unknown as { server?: { mdns?: { on(event: string, listener: (err: unknown) => void): unknown } } }).server?.mdns;
  mdns?.on('error', onError);
  mdns?.on('warning', onError);
}

/** Bonjour hands these options to multicast-dns, which takes `interface`; its typings only name service fields. */
export const mdnsOptions = (interfaceAddress: string | undefined): ConstructorParameters<typeof Bonjour>[0] =>
  (interfaceAddress === undefined ? {} : { interface: interfaceAddress }) as ConstructorParameters<typeof Bonjour>[0];

export interface AdvertiseOptions {
  port: number;
  /** No patient data. */
  roomLabel: string;
  /** 4–16 letters/digits: tells two PCs in one room apart. */
  deviceShortId: string;
  /** The multicast interface; all interfaces when absent. */
  interfaceAddress?: string;
  logger?: Logger;
}

export interface Advertisement {
  readonly name: string;
  stop(): Promise<void>;
}

/** DNS labels are at most 63 bytes; keep letters, digits, spaces and a few marks. */
export function instanceName(roomLabel: string, deviceShortId: string): string {
  const room = roomLabel.replace(/[^\p{L}\p{N} ._()-]/gu, '').trim() || 'PC';
  let name = `ClinicPro Images ${room} ${deviceShortId}`;
  while (Buffer.byteLength(name, 'utf8') > 63) name = name.slice(0, -1);
  return name.trim();
}

function txtRecord(options: AdvertiseOptions): LanTxtRecord {
  if (!/^[A-Za-z0-9]{4,16}$/.test(options.deviceShortId)) throw new Error('Expected 4–16 letters or digits for deviceShortId');
  let room = options.roomLabel;
  while (Buffer.byteLength(room, 'utf8') > 63) room = room.slice(0, -1);
  return { v: String(LAN_PROTOCOL_VERSION), room, id: options.deviceShortId };
}

/** Network errors are logged, never thrown: without the error callback bonjour-service would crash the process. */
export function advertiseCompanion(options: AdvertiseOptions): Advertisement {
  const log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'discovery' });
  const txt = txtRecord(options);
  const name = instanceName(options.roomLabel, options.deviceShortId);
  const onError = (err: unknown): void => {
    log.warn({ errCode: String((err as { code?: unknown }).code ?? ''), errName: String((err as { name?: unknown }).name ?? '') }, 'DNS-SD error');
  };
  const bonjour = new Bonjour(mdnsOptions(options.interfaceAddress), onError);
  guardSocketErrors(bonjour, onError);
  const service: Service = bonjour.publish({ name, type: LAN_SERVICE_TYPE, protocol: 'tcp', port: options.port, txt, disableIPv6: true });
  service.on('error', onError);
  log.info({ port: options.port }, 'DNS-SD advertisement started');
  let stopped: Promise<void> | undefined;
  return {
    name,
    stop() {
      stopped ??= new Promise<void>((resolve) => bonjour.unpublishAll(() => bonjour.destroy(() => resolve())));
      return stopped;
    },
  };
}
