/**
 * A file that cannot go to every chosen target (a PDF: Medtech's Media takes photos) is told so in plain words
 * when it is added, and still goes to the target it can (the Inbox Scan), as itself. Same real parts as
 * companion.test.ts: real gateway on 127.0.0.1, ALEX sandbox, imaging, outbox and LAN server. Nothing is mocked.
 */
import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureLogger } from '../helpers/capture-logger';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppState, Notice } from '../../shared/contracts/bridge';
import { buildLaunchUrl } from '../../electron/launch/parse';
import { MemorySecretStore } from '../../electron/secrets';
import { MemorySettingsStore, startCompanion, type RunningCompanion } from '../../electron/core';
import { FACILITY, startHarness, type Harness } from '../gateway/helpers/harness';
import { exchange, tokenFromUrl, upload } from '../../electron/lan/testing';
import { makePdf } from '../../electron/imaging/test-images';

const FIXTURES = new URL('../../../shared/fixtures/photos/', import.meta.url).pathname;
const PHOTOS = ['photo-12mp-orient6.jpg', 'photo-iphone-like.heic', 'photo-1600-portrait.png'];

interface World {
  gw: Harness;
  gatewayUrl: string;
  companion: RunningCompanion;
  dataDir: string;
  inputs: string;
  logs: string[];
  states: AppState[];
  notices: Notice[];
  restart(): Promise<void>;
}

let w: World;

beforeEach(async () => {
  const gw = await startHarness();
  const gatewayUrl = await gw.app.listen({ host: '127.0.0.1', port: 0 });
  const dataDir = await mkdtemp(join(tmpdir(), 'core-it-'));
  const inputs = await mkdtemp(join(tmpdir(), 'core-it-in-'));
  for (const p of PHOTOS) await copyFile(join(FIXTURES, p), join(inputs, p));
  const logs: string[] = [];
  const logger = captureLogger(logs);
  const secrets = new MemorySecretStore();
  const settingsStore = new MemorySettingsStore();
  const states: AppState[] = [];
  const notices: Notice[] = [];
  const start = async (): Promise<RunningCompanion> => {
    const c = await startCompanion({
      dataDir,
      secrets,
      settingsStore,
      logger,
      clock: { now: () => gw.clock.now() },
      lan: { bindHost: '127.0.0.1', port: 0, sweepIntervalMs: 0 },
      random: () => 0,
    });
    c.core.on('state', (s) => states.push(s));
    c.core.on('notice', (n) => notices.push(n));
    return c;
  };
  const companion = await start();
  w = {
    gw,
    gatewayUrl,
    companion,
    dataDir,
    inputs,
    logs,
    states,
    notices,
    async restart() {
      await w.companion.close();
      w.companion = await start();
    },
  };
  const { code } = await gw.devices.issueEnrolmentCode(FACILITY, 'Test Practice', 72);
  const enrolled = await companion.core['enrolment.enrol']({ gatewayUrl, enrolmentCode: code, deviceName: 'Consult room 3' });
  expect(enrolled).toMatchObject({ enrolled: true, practiceName: 'Test Practice' });
});

afterEach(async () => {
  await w.companion.close();
  await w.gw.close();
  await rm(w.dataDir, { recursive: true, force: true });
  await rm(w.inputs, { recursive: true, force: true });
});

async function launch(nhi: string) {
  const pair = w.gw.sandbox.issueLaunch({ patientId: w.gw.patient(nhi).id, facilityCode: FACILITY });
  return w.companion.core['launch.open']({ url: buildLaunchUrl(pair.context, pair.signature) });
}

async function settle(): Promise<void> {
  // The outbox sends on its own; wait until it and the core's own work (wipe, verify) are quiet.
  for (let i = 0; i < 3; i++) {
    await w.companion.outbox.idle();
    await w.companion.core.idle();
  }
}

const imageFiles = async (): Promise<string[]> => (await readdir(join(w.dataDir, 'images'))).sort();


const PDF_NOTICE = "This PDF can go to the Inbox Scan only; Medtech's Media takes photos. It will be sent to the Inbox Scan.";

describe('a PDF and the commit targets', () => {
  it('a PDF from the phone: told at once, then committed to the Inbox Scan (as PDF) while the photo goes to both', async () => {
    const core = w.companion.core;
    await launch('ZZZ0032');
    await core['settings.set']({ patch: { inboxScanFormat: 'tiff' } });
    const phone = await core['phone.start']({});
    const port = w.companion.lanAddress?.port ?? 0;
    const { credential } = (await exchange(port, tokenFromUrl(phone.qrUrl))).json as { credential: string };
    const pdf = await makePdf();
    const up = await upload(port, credential, [
      { name: 'clientUploadId', value: '1b8f3c1e-5a7d-4e2f-9c6b-1d2e3f4a5b6c' },
      { name: 'bodySiteCode', value: '89545001' },
      { name: 'file', filename: 'referral.pdf', contentType: 'application/pdf', data: pdf },
    ]);
    expect(up.status).toBe(200);
    expect(w.notices.map((n) => n.message)).toContain(PDF_NOTICE);
    await core['images.addPaths']({ paths: [join(w.inputs, PHOTOS[2] as string)] });
    await core['images.applyMetadataToAll']({ patch: { bodySiteCode: '89545001' } });

    const res = await core['commit.start']({ targets: { media: true, inboxScan: true }, captionStrip: false });
    expect(res.skipped).toEqual([]);
    expect(res.queued).toHaveLength(2);
    await settle();
    const state = await core['app.getState']({});
    expect(state.images.map((i) => i.status)).toEqual(['committed', 'committed']);
    const [pdfImage, photo] = state.images;
    expect(pdfImage?.committed?.documentReference?.id).toBeTruthy();
    expect(pdfImage?.committed?.media).toBeUndefined();
    expect(photo?.committed?.media?.id && photo.committed.documentReference?.id).toBeTruthy();
    const store = w.gw.sandbox.store;
    expect(store.counters.mediaCreated).toBe(1);
    expect(store.counters.documentReferencesCreated).toBe(2);
    expect(JSON.stringify(state)).not.toContain('not a photo or document we can use');
    expect(await imageFiles()).toEqual([]);
  });

  it('a PDF with only Media chosen is not sent, says why in plain words, and keeps waiting', async () => {
    const core = w.companion.core;
    await launch('ZZZ0016');
    const pdfPath = join(w.inputs, 'scan.pdf');
    await writeFile(pdfPath, await makePdf());
    const added = await core['images.addPaths']({ paths: [pdfPath] });
    expect(added.rejected).toEqual([]);
    expect(w.notices.map((n) => n.message)).toContain(PDF_NOTICE);
    await core['images.applyMetadataToAll']({ patch: { bodySiteCode: '14975008' } });
    const res = await core['commit.start']({ targets: { media: true, inboxScan: false }, captionStrip: false });
    expect(res.queued).toEqual([]);
    expect(res.skipped.map((s) => [s.error.code, s.error.message])).toEqual([
      ['ERR_IMAGE_PDF_INBOX_ONLY', "This PDF can go to the Inbox Scan only; Medtech's Media takes photos. Choose Inbox Scan to send it."],
    ]);
    await settle();
    const state: AppState = await core['app.getState']({});
    expect(state.images.map((i) => i.status)).toEqual(['ready']);
    expect(w.gw.sandbox.store.counters.mediaCreated).toBe(0);
    expect(w.gw.sandbox.store.counters.documentReferencesCreated).toBe(0);
    expect((await imageFiles()).some((f) => f.endsWith('.master.pdf'))).toBe(true);
  });
});
