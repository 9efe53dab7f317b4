/**
 * Test probe, run by discovery.test.ts inside a private network namespace (never on the real network).
 *   (no argument)   advertise a companion, browse for it over loopback multicast, print what was found
 *   bad-interface   advertise on an address this host does not have: the error must be logged, not crash
 * Prints one JSON line and exits.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { Bonjour, type Service } from 'bonjour-service';
import { LAN_SERVICE_TYPE, type LanTxtRecord } from '../../../shared/contracts/lan';
import { advertiseCompanion, guardSocketErrors, mdnsOptions } from '../advertiser';

interface FoundCompanion {
  name: string;
  host: string;
  port: number;
  addresses: string[];
  txt: Partial<LanTxtRecord>;
}

/** Browse for companions over loopback multicast; errors are only noted. */
function browseCompanions(onFound: (found: FoundCompanion) => void): { stop(): Promise<void> } {
  const onError = (): void => undefined;
  const bonjour = new Bonjour(mdnsOptions(undefined), onError);
  guardSocketErrors(bonjour, onError);
  const browser = bonjour.find({ type: LAN_SERVICE_TYPE, protocol: 'tcp' }, (service: Service) => {
    onFound({ name: service.name, host: service.host, port: service.port, addresses: service.addresses ?? [], txt: (service.txt ?? {}) as Partial<LanTxtRecord> });
  });
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        browser.stop();
        bonjour.destroy(() => resolve());
      }),
  };
}

const mode = process.argv[2] ?? 'find';
let done = false;
let stopAll: () => Promise<void> = async () => undefined;
const timer = setTimeout(() => void finish(1, { timeout: true }), 15_000);

async function finish(code: number, result: object): Promise<void> {
  if (done) return;
  done = true;
  clearTimeout(timer);
  await stopAll();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(code);
}

if (mode === 'bad-interface') {
  const logger = pino(
    { level: 'warn' },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        cb();
        void finish(0, { errorLogged: true, line: JSON.parse(chunk.toString('utf8')) as unknown });
      },
    }),
  );
  const ad = advertiseCompanion({ port: 47800, roomLabel: 'Room 3', deviceShortId: 'PC7QX2', interfaceAddress: '192.0.2.77', logger });
  stopAll = () => ad.stop();
} else {
  const ad = advertiseCompanion({ port: 47800, roomLabel: 'Room 3', deviceShortId: 'PC7QX2' });
  const found: FoundCompanion[] = [];
  const browser = browseCompanions((service) => {
    found.push(service);
    void finish(0, { advertised: ad.name, found });
  });
  stopAll = async () => {
    await browser.stop();
    await ad.stop();
  };
}
