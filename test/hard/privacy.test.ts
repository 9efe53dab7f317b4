/**
 * H1/H4/H5 over the whole product in one process (scripts/browser-host/stack.ts startDevStack: gateway + ALEX
 * sandbox + companion core + LAN server + loopback launch listener), every logger at TRACE and captured:
 * enrol (a wrong code first), launch for the canary patient "Canary Testpatient" ZZZ0040, forged and replayed
 * launches, desktop add (a junk file too), phone join + upload (a wrong credential too), commit as Media +
 * Inbox Scan, read-back verify, a gateway outage while committing, and the recovery. Every bridge answer the UI
 * would get is kept. Then: no NHI, name, DOB, launch context/signature, QR token, phone or device credential,
 * or base64 image data in any log line or error body; and after commit no image bytes anywhere in the
 * companion's data folders (file magic, and the first bytes and sha256 of every payload ALEX received).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dispatchBridgeCall, type BridgeEnvelope } from '../../shared/contracts/bridge';
import { exchange, tokenFromUrl, upload } from '../../electron/lan/testing';
import { SECRET_ACCOUNTS } from '../../electron/secrets';
import { startDevStack, type DevStack } from '../../scripts/browser-host/stack';
import { captureLogger } from './helpers/world';

const FIXTURES = new URL('../../../shared/fixtures/photos/', import.meta.url).pathname;
const CANARY = { nhi: 'ZZZ0040', given: 'Canary', family: 'Testpatient', dob: '1961-05-21' };

let stack: DevStack;
let dataDir: string;
const logs: string[] = [];
const sandboxLogs: string[] = [];
const envelopes: BridgeEnvelope<unknown>[] = [];
const secrets: string[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'hard-privacy-'));
  stack = await startDevStack({
    dataDir,
    staticDir: dataDir,
    memorySecrets: true,
    lan: { host: '127.0.0.1', port: 0 },
    logger: captureLogger(logs),
    sandbox: { logger: captureLogger(sandboxLogs) },
  });
}, 120_000);
afterAll(async () => {
  await stack?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function call<T>(method: string, arg: unknown): Promise<BridgeEnvelope<T>> {
  const env = (await dispatchBridgeCall(stack.companion.core, method, arg)) as BridgeEnvelope<T>;
  envelopes.push(env);
  return env;
}
const value = <T>(e: BridgeEnvelope<T>): T => {
  if (!e.ok) throw new Error(`bridge call failed: ${e.error.code}`);
  return e.value;
};
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await stack.companion.outbox.idle();
    await stack.companion.core.idle();
  }
}
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('no patient data in logs, error bodies or leftover files (H1, H4, H5)', () => {
  it('the full flows at trace level leak nothing, and nothing of the images stays on the PC', async () => {
    // Enrol: a wrong code, then the right one.
    expect((await call('enrolment.enrol', { gatewayUrl: stack.gatewayUrl, enrolmentCode: 'WRONG-CODE-0000', deviceName: 'Room 1' })).ok).toBe(false);
    value(await call('enrolment.enrol', { gatewayUrl: stack.gatewayUrl, enrolmentCode: stack.enrolmentCode, deviceName: 'Room 1' }));
    const device = JSON.parse((await stack.secrets.get(SECRET_ACCOUNTS.deviceCredential)) ?? '{}') as { deviceSecret?: string };
    expect(device.deviceSecret).toBeTruthy();
    secrets.push(device.deviceSecret ?? '');

    // Launch for the canary; a forged signature; a replay.
    const url = stack.launchUrlFor(CANARY.nhi);
    const params = new URL(url).searchParams;
    secrets.push(params.get('context') ?? '', params.get('signature') ?? '');
    const forged = url.replace(/signature=([^&]{4})/, 'signature=AAAA');
    expect(value(await call<{ status: string }>('launch.open', { url: forged })).status).not.toBe('ready');
    expect(value(await call<{ status: string }>('launch.open', { url })).status).toBe('ready');
    await call('launch.open', { url }); // replayed: refused by the gateway
    expect(value(await call<{ status: string }>('launch.open', { url: stack.launchUrlFor(CANARY.nhi) })).status).toBe('ready');

    // Desktop add: a real photo and a junk file.
    const png = await readFile(join(FIXTURES, 'photo-1600-portrait.png'));
    const heic = await readFile(join(FIXTURES, 'photo-iphone-like.heic'));
    const added = value(
      await call<{ imageIds: string[]; rejected: unknown[] }>('images.addFiles', {
        files: [
          { name: 'wound.png', dataBase64: png.toString('base64') },
          { name: 'notes.txt', dataBase64: Buffer.from(`Patient ${CANARY.given} ${CANARY.family} ${CANARY.nhi}`).toString('base64') },
        ],
      }),
    );
    expect(added.rejected).toHaveLength(1);

    // Phone: join, a wrong credential, a real upload.
    const phone = value(await call<{ qrUrl: string }>('phone.start', {}));
    const token = tokenFromUrl(phone.qrUrl);
    secrets.push(token);
    const port = stack.companion.lanAddress?.port ?? 0;
    const ex = await exchange(port, token);
    expect(ex.status).toBe(200);
    const { credential } = ex.json as { credential: string };
    secrets.push(credential);
    const part = (data: Buffer) => [
      { name: 'clientUploadId', value: '5b1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f' },
      { name: 'bodySiteCode', value: '89545001' },
      { name: 'file', filename: `${CANARY.nhi}.heic`, contentType: 'image/heic', data },
    ];
    expect((await upload(port, `${credential.slice(0, -4)}AAAA`, part(heic))).status).toBeGreaterThanOrEqual(400);
    const up = await upload(port, credential, part(heic));
    expect(up.status).toBe(200);
    expect(up.text).not.toContain(CANARY.nhi);

    // Tag and commit as Media + Inbox Scan; read-back verify runs after commit.
    value(await call('images.applyMetadataToAll', { patch: { bodySiteCode: '14975008', laterality: 'left', caption: 'healing well' } }));
    value(await call('commit.start', { targets: { media: true, inboxScan: true }, captionStrip: true }));
    await settle();

    // A gateway outage while committing, then recovery.
    const more = value(await call<{ imageIds: string[] }>('images.addFiles', { files: [{ name: 'second.png', dataBase64: png.toString('base64') }] }));
    value(await call('images.updateMetadata', { ids: more.imageIds, patch: { bodySiteCode: '14975008' } }));
    await stack.stopGateway();
    value(await call('commit.start', { ids: more.imageIds, targets: { media: true, inboxScan: false }, captionStrip: false }));
    await settle();
    await stack.restartGateway();
    for (const o of value(await call<{ outbox: { imageId: string; status: string }[] }>('app.getState', {})).outbox) {
      if (o.status !== 'committed') await call('outbox.retry', { imageId: o.imageId });
    }
    for (let i = 0; i < 200; i++) {
      await settle();
      const st = value(await call<{ images: { status: string }[] }>('app.getState', {}));
      if (st.images.every((img) => img.status === 'committed')) break;
      await new Promise((r) => setTimeout(r, 25));
      stack.companion.outbox.kick();
    }
    const state = value(await call<{ images: { status: string }[] }>('app.getState', {}));
    expect(state.images.map((i) => i.status)).toEqual(['committed', 'committed', 'committed']);
    value(await call('phone.end', {}));

    // What ALEX received.
    const received = [...stack.sandbox.store.listMedia(), ...stack.sandbox.store.listDocumentReferences()];
    expect(received.length).toBe(5); // 3 Media + 2 Inbox Scan
    const payloadShas = new Set(received.map((r) => createHash('sha256').update(r.bytes).digest('hex')));
    const payloadHeads = received.map((r) => r.bytes.subarray(0, 64));

    // 1) Logs and error bodies.
    // Every error body the UI got: failed calls, and errors inside answers (launch status, refused files, notices…).
    const errorBodies: string[] = [];
    const collect = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(collect);
      else if (v && typeof v === 'object') {
        const o = v as Record<string, unknown>;
        if (typeof o.code === 'string' && o.code.startsWith('ERR_')) errorBodies.push(JSON.stringify(o));
        else Object.values(o).forEach(collect);
      }
    };
    envelopes.forEach(collect);
    expect(errorBodies.length).toBeGreaterThanOrEqual(3);
    const corpus = [...logs, ...sandboxLogs, ...errorBodies].join('\n');
    const canaries = [CANARY.nhi, CANARY.given, CANARY.family, CANARY.dob, ...secrets.filter((s) => s.length >= 8)];
    const base64Images = [png.toString('base64').slice(0, 60), heic.toString('base64').slice(0, 60), '/9j/4AAQ', 'iVBORw0KGgo', 'JVBERi0', 'SUkqAA'];
    const hits = [...canaries, ...base64Images].filter((c) => corpus.includes(c));
    console.log('hard privacy:', JSON.stringify({ logLines: logs.length + sandboxLogs.length, errorBodies: errorBodies.length, canariesChecked: canaries.length + base64Images.length, hits: hits.length }));
    // Trace level really captured the flows, from every part.
    expect(logs.length).toBeGreaterThan(50);
    for (const component of ['gateway', 'companion', 'lan', 'alex']) expect(logs.some((l) => l.includes(`"component":"${component}"`)), component).toBe(true);
    expect(hits).toEqual([]);
    expect(corpus).not.toMatch(/"stack"|at \w+ \(\//);

    // 2) Files left in the companion's data folder.
    const companionDir = join(dataDir, 'companion');
    const leftovers: string[] = [];
    for (const f of await filesUnder(companionDir)) {
      const bytes = await readFile(f);
      const rel = f.slice(companionDir.length);
      const magic =
        bytes.subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff])) ||
        bytes.includes(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) ||
        bytes.includes(Buffer.from('%PDF-')) ||
        bytes.subarray(0, 4).equals(Buffer.from('II*\x00', 'latin1')) ||
        bytes.includes(Buffer.from('ftypheic'));
      if (magic) leftovers.push(`${rel}: image magic`);
      if (payloadShas.has(createHash('sha256').update(bytes).digest('hex'))) leftovers.push(`${rel}: a committed payload`);
      if (payloadHeads.some((h) => bytes.includes(h))) leftovers.push(`${rel}: committed image bytes`);
      const text = bytes.toString('latin1');
      for (const c of [CANARY.nhi, `${CANARY.given}`, CANARY.dob]) if (text.includes(c)) leftovers.push(`${rel}: ${c === CANARY.nhi ? 'NHI' : 'patient detail'}`);
    }
    expect(leftovers).toEqual([]);
  }, 300_000);
});
