/**
 * The core's side of an outcome Medtech has not confirmed (issue 25), through the real core, the real outbox and
 * imaging on a fixture photo, with a scripted gateway port and an injected clock: what the image and the outbox
 * view say, the two answers (images.confirmArrived, images.sendAgain), and a companion restart in between.
 */
import { copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { checkBridgeEvent, type AppState, type ImageView } from '../../shared/contracts/bridge';
import type { CommitRequest, CommitResponse, LaunchGrant } from '../../shared/contracts/gateway';
import { AppError } from '../../shared/errors/app-error';
import type { CommitClient, GatewayClient } from '../gateway-client/client';
import { createImagingService } from '../imaging';
import { buildLaunchUrl } from '../launch/testkit/launch-url';
import { openOutbox } from '../outbox/outbox';
import type { Outbox } from '../outbox/types';
import { MemorySecretStore } from '../secrets';
import { createCompanionCore, type CompanionCore } from './core';
import type { GatewayFactory, GatewayPort } from './ports';
import { MemorySettingsStore } from './test-support';

const FIXTURES = new URL('../../../shared/fixtures/photos/', import.meta.url).pathname;
const PHOTO = 'photo-1600-portrait.png';
const PATIENT = { id: 'pat-1', nhi: 'ZZZ0016', familyName: 'TESTPATIENT', givenName: 'Aroha', birthDate: '1980-02-03', sex: 'female' } as const;

/** The gateway as this test scripts it: each commit's answer, and what it was asked. */
class ScriptedGateway {
  /** Codes answered to the next commits, one each; then commits succeed. */
  answers: ('ERR_ALEX_OUTCOME_UNKNOWN' | 'ERR_COMMIT_UNCONFIRMED')[] = [];
  readonly commits: { imageId: string; resendAfterCheck: boolean }[] = [];
  readonly confirms: string[] = [];

  constructor(private readonly now: () => number) {}

  readonly factory: GatewayFactory = () => {
    const grant = (): LaunchGrant => ({ grantId: 'grant-000000000001', facilityId: 'F2N060-E', patient: { ...PATIENT }, issuedAt: new Date(this.now()).toISOString(), expiresAt: new Date(this.now() + 3_600_000).toISOString() });
    const port: GatewayPort & CommitClient & Pick<GatewayClient, 'confirmCommit'> = {
      enrol: async () => ({ deviceId: `dev_${'0'.repeat(22)}`, deviceSecret: 's'.repeat(43), facilityId: 'F2N060-E', practiceName: 'Kauri Health' }),
      verifyLaunch: async () => grant(),
      lookupPatientByNhi: async () => ({ ...grant(), requiresConfirmation: true }),
      confirmLookup: async () => grant(),
      verifyCommit: async (imageId) => ({ imageId, checkedAt: new Date(this.now()).toISOString() }),
      commit: async (req: CommitRequest): Promise<CommitResponse> => {
        this.commits.push({ imageId: req.imageId, resendAfterCheck: req.resendAfterCheck === true });
        const code = this.answers.shift();
        if (code !== undefined) throw new AppError(code, { retryAfterSeconds: code === 'ERR_ALEX_OUTCOME_UNKNOWN' ? 30 : undefined });
        return { imageId: req.imageId, media: { resourceType: 'Media', id: `m-${this.commits.length}` }, committedAt: new Date(this.now()).toISOString(), correlationId: 'corr', replayed: false };
      },
      confirmCommit: async (imageId) => {
        this.confirms.push(imageId);
        return { imageId, committedAt: new Date(this.now()).toISOString(), correlationId: 'corr', replayed: false, confirmedBy: 'person' };
      },
    };
    return port;
  };
}

interface Running {
  core: CompanionCore;
  outbox: Outbox;
  close(): Promise<void>;
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function start(dataDir: string, gw: ScriptedGateway, clock: { t: number; now(): number }, stores: { secrets: MemorySecretStore; settings: MemorySettingsStore }): Promise<Running> {
  const logger = pino({ level: 'silent' });
  const imaging = createImagingService({ logger });
  let outbox: Outbox | undefined;
  const workDir = join(dataDir, 'images');
  await mkdir(workDir, { recursive: true });
  const core = await createCompanionCore({
    clock,
    logger,
    workDir,
    imaging,
    secrets: stores.secrets,
    settingsStore: stores.settings,
    gateway: gw.factory,
    verifyAfterCommit: false,
    openOutbox: async (commit) => (outbox = await openOutbox({ dir: join(dataDir, 'outbox'), secrets: stores.secrets, gateway: commit, clock, random: () => 0, logger })),
  });
  const box = outbox as Outbox;
  box.start();
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await core.close();
    await box.close();
    await imaging.close();
  };
  cleanup.push(close);
  return { core, outbox: box, close };
}

async function settle(r: Running): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await r.outbox.idle();
    await r.core.idle();
  }
}

async function setUp() {
  const dataDir = await mkdtemp(join(tmpdir(), 'core-unconfirmed-'));
  cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
  const clock = { t: Date.parse('2026-05-01T09:00:00Z'), now: () => 0 };
  clock.now = () => clock.t;
  const gw = new ScriptedGateway(() => clock.t);
  const stores = { secrets: new MemorySecretStore(), settings: new MemorySettingsStore() };
  const r = await start(dataDir, gw, clock, stores);
  await r.core['enrolment.enrol']({ gatewayUrl: 'http://127.0.0.1:9', enrolmentCode: 'CODE-1234', deviceName: 'Consult room 3' });
  expect(await r.core['launch.open']({ url: buildLaunchUrl('ctx-abc', 'sig-abc') })).toEqual({ status: 'ready' });
  await copyFile(join(FIXTURES, PHOTO), join(dataDir, PHOTO));
  const id = (await r.core['images.addPaths']({ paths: [join(dataDir, PHOTO)] })).imageIds[0] as string;
  await r.core['images.updateMetadata']({ ids: [id], patch: { bodySiteCode: '89545001' } });
  const restart = async (): Promise<Running> => {
    await r.close();
    return start(dataDir, gw, clock, stores);
  };
  const commit = async (): Promise<void> => {
    expect((await r.core['commit.start']({ ids: [id], targets: { media: true, inboxScan: false }, captionStrip: false })).queued).toEqual([id]);
    await settle(r);
  };
  const filesOf = async (): Promise<string[]> => (await readdir(join(dataDir, 'images'), { recursive: true })).filter((f) => f.includes(id));
  return { r, gw, clock, id, restart, commit, filesOf };
}

async function imageOf(r: Running, id: string): Promise<{ image: ImageView | undefined; state: AppState }> {
  const state = await r.core['app.getState']({});
  expect(checkBridgeEvent('state', state)).toBe(true);
  return { image: state.images.find((i) => i.id === id), state };
}

describe('core: an image Medtech has not confirmed', () => {
  it('waiting for Medtech to confirm: status waiting, the reason, and when it is asked next', async () => {
    const { r, gw, clock, id, commit } = await setUp();
    gw.answers = ['ERR_ALEX_OUTCOME_UNKNOWN'];
    await commit();
    const { image, state } = await imageOf(r, id);
    expect(image).toMatchObject({ status: 'waiting', waitingFor: 'medtech-confirmation', nextCheckAt: new Date(clock.t + 30_000).toISOString() });
    expect(state.outbox.find((o) => o.imageId === id)).toMatchObject({ status: 'waiting', waitingFor: 'medtech-confirmation' });
  });

  it('unconfirmed: the message names the patient and the photo; survives a restart; "It is in Medtech" commits it (by a person) and wipes it', async () => {
    const { r, gw, id, commit, restart, filesOf } = await setUp();
    gw.answers = ['ERR_COMMIT_UNCONFIRMED'];
    await commit();
    let { image, state } = await imageOf(r, id);
    expect(image?.status).toBe('unconfirmed');
    expect(image?.error).toMatchObject({ code: 'ERR_COMMIT_UNCONFIRMED', action: 'check-medtech' });
    expect(image?.error?.message).toMatch(new RegExp(`^Sent to Medtech, not yet confirmed — look in TESTPATIENT, Aroha's Inbox in Medtech for “${PHOTO}” \\(taken .+\\) before sending again\\.$`));
    expect(state.notices.some((n) => n.level === 'warning' && n.message === image?.error?.message)).toBe(true);
    expect(state.outbox.find((o) => o.imageId === id)?.history?.map((h) => h.action)).toEqual(['unconfirmed']);

    const again = await restart();
    ({ image } = await imageOf(again, id));
    expect(image?.status).toBe('unconfirmed');
    expect(image?.error?.message).toMatch(/look in TESTPATIENT, Aroha's Inbox/);
    expect(gw.commits).toHaveLength(1);
    expect((await filesOf()).length).toBeGreaterThan(0); // the photo stays on the PC until a person answers

    expect(await again.core['images.confirmArrived']({ id })).toEqual({ ok: true });
    await settle(again);
    ({ image, state } = await imageOf(again, id));
    expect(image?.status).toBe('committed');
    expect(image?.committed?.confirmedBy).toBe('person');
    expect(state.outbox.find((o) => o.imageId === id)?.history?.map((h) => h.action)).toEqual(['unconfirmed', 'person-confirmed']);
    expect(gw.confirms).toEqual([id]);
    expect(gw.commits).toHaveLength(1);
    await expect.poll(filesOf).toEqual([]);
    await expect(again.core['images.confirmArrived']({ id })).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });

  it('"Send again": one commit flagged resendAfterCheck, then committed; not for an image that is not unconfirmed', async () => {
    const { r, gw, id, commit } = await setUp();
    await expect(r.core['images.sendAgain']({ id })).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    gw.answers = ['ERR_COMMIT_UNCONFIRMED'];
    await commit();
    expect(await r.core['images.sendAgain']({ id })).toEqual({ ok: true });
    await settle(r);
    const { image } = await imageOf(r, id);
    expect(image?.status).toBe('committed');
    expect(image?.committed?.confirmedBy).toBeUndefined();
    expect(gw.commits.map((c) => c.resendAfterCheck)).toEqual([false, true]);
    await expect(r.core['images.sendAgain']({ id })).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });
});
