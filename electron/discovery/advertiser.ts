import { Bonjour, type Service } from 'bonjour-service';
import pino, { type Logger } from 'pino';
import { LAN_PROTOCOL_VERSION, LAN_SERVICE_TYPE, type LanTxtRecord } from '../../shared/contracts/lan';

/**
 * bonjour-service passes its error callback to send failures only; the underlying multicast-dns socket also
 * emits 'error' (e.g. bind EADDRNOTAVAIL when the LAN address vanished) and, with no listener, that would crash
 * the process. Attach our handler to it as well.
 */
function guardSocketErrors(bonjour: Bonjour, onError: (err: unknown) => void): void {
  const mdns = (bonjour as unknown as { server?: { mdns?: { on(event: string, listener: (err: unknown) => void): unknown } } }).server?.mdns;
  mdns?.on('error', onError);
  mdns?.on('warning', onError);
}

/** Bonjour hands these options to multicast-dns, which takes `interface`; its typings only name service fields. */
const mdnsOptions = (interfaceAddress: string | undefined): ConstructorParameters<typeof Bonjour>[0] =>
  (interfaceAddress === undefined ? {} : { interface: interfaceAddress }) as ConstructorParameters<typeof Bonjour>[0];

export interface AdvertiseOptions {
  /** The LAN server's port. */
  port: number;
  /** The consult room shown to phones and in the instance name, e.g. "Room 3". No patient data. */
  roomLabel: string;
  /** A short, stable id of this PC (4–16 letters/digits), to tell two PCs in one room apart. */
  deviceShortId: string;
  /** The LAN address to send and listen on (multicast interface); all interfaces when absent. */
  interfaceAddress?: string;
  logger?: Logger;
}

export interface Advertisement {
  /** The DNS-SD instance name actually published. */
  readonly name: string;
  readonly txt: LanTxtRecord;
  stop(): Promise<void>;
}

export interface FoundCompanion {
  name: string;
  host: string;
  port: number;
  addresses: string[];
  txt: Partial<LanTxtRecord>;
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

/**
 * Advertise the companion as `_clinicpro-images._tcp` on the LAN. Network errors (no route, interface gone,
 * send failures) are logged, never thrown: without the error callback bonjour-service would crash the process.
 */
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
    txt,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        bonjour.unpublishAll(() => {
          bonjour.destroy(() => resolve());
        });
      });
      return stopped;
    },
  };
}

/** Browse for companions on the LAN (used by diagnostics and tests). Errors are logged, never thrown. */
export function browseCompanions(options: { interfaceAddress?: string; logger?: Logger; onFound: (found: FoundCompanion) => void }): { stop(): Promise<void> } {
  const log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'discovery' });
  const onError = (err: unknown): void => {
    log.warn({ errCode: String((err as { code?: unknown }).code ?? '') }, 'DNS-SD browse error');
  };
  const bonjour = new Bonjour(mdnsOptions(options.interfaceAddress), onError);
  guardSocketErrors(bonjour, onError);
  const browser = bonjour.find({ type: LAN_SERVICE_TYPE, protocol: 'tcp' }, (service: Service) => {
    options.onFound({
      name: service.name,
      host: service.host,
      port: service.port,
      addresses: service.addresses ?? [],
      txt: (service.txt ?? {}) as Partial<LanTxtRecord>,
    });
  });
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        browser.stop();
        bonjour.destroy(() => resolve());
      }),
  };
}
