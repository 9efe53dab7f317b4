/**
 * The whole product for phone tests: gateway + ALEX sandbox + companion core + LAN server on 127.0.0.1, serving
 * the built phone page (dist/renderer/mobile). The "PC" side is driven through the core's bridge methods.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jsQR from 'jsqr';
import pino from 'pino';
import sharp from 'sharp';
import type { AppState, ImageView, PhoneView } from '../../../shared/contracts/bridge';
import { startDevStack, type DevStack } from '../../../scripts/browser-host/stack';

export const MOBILE_DIST = join(process.cwd(), 'dist', 'renderer', 'mobile');
export const AROHA = { nhi: 'ZZZ0016', name: 'TESTPATIENT, Aroha', born: 'Born 14 March 1985' } as const;
export const WIREMU = { nhi: 'ZZZ0024', name: 'TESTPATIENT, Wiremu' } as const;

export interface PhoneStack {
  dir: string;
  stack: DevStack;
  /** Launch a sandbox patient on the PC, as the Evolution toolbar icon would. */
  launch(nhi: string): Promise<void>;
  /** The GP opens the phone panel: the QR for the working patient. */
  startPhone(): Promise<PhoneView>;
  state(): Promise<AppState>;
  /** Phone photos the PC holds, of every patient. */
  phoneImages(): Promise<ImageView[]>;
  patientId(nhi: string): string;
  close(): Promise<void>;
}

export async function startPhoneStack(): Promise<PhoneStack> {
  const dir = await mkdtemp(join(tmpdir(), 'cpi-e2e-phone-'));
  const stack = await startDevStack({
    dataDir: join(dir, 'data'),
    staticDir: join(process.cwd(), 'dist', 'renderer'),
    autoEnrol: true,
    memorySecrets: true,
    lan: { host: '127.0.0.1', port: 0 },
    mobileAssetsDir: MOBILE_DIST,
    roomLabel: 'Consult room 3',
    logger: pino({ level: 'silent' }),
  });
  const core = stack.companion.core;
  const patientId = (nhi: string): string => {
    const p = stack.sandbox.patients.find((x) => x.nhi === nhi);
    if (!p) throw new Error(`no sandbox patient ${nhi}`);
    return p.id;
  };
  return {
    dir,
    stack,
    patientId,
    async launch(nhi) {
      const view = await core['launch.open']({ url: stack.launchUrlFor(nhi) });
      if (view.status !== 'ready') throw new Error(`launch of ${nhi} not verified: ${JSON.stringify(view)}`);
    },
    startPhone: () => core['phone.start']({}),
    state: () => core['app.getState']({}),
    async phoneImages() {
      return (await core['app.getState']({})).images.filter((i) => i.source === 'phone');
    },
    async close() {
      await stack.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Reads the QR code the desktop shows (its PNG) the way a phone camera would. */
export async function decodeQr(pngDataUrl: string): Promise<string> {
  const png = Buffer.from(pngDataUrl.replace(/^data:image\/png;base64,/, ''), 'base64');
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const decoded = jsQR(new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), info.width, info.height);
  if (decoded === null) throw new Error('the QR code did not decode');
  return decoded.data;
}
