/**
 * The working patient from a launch, with a scripted gateway, real images and the real outbox: nothing verified,
 * nothing shown; a switch keeps earlier images with their patient and tells the GP; a relaunch of the same patient
 * gives their images the new grant; a grant that needs confirmation is refused here.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Notice } from '../../shared/contracts/bridge';
import { AppError } from '../../shared/errors/app-error';
import { buildLaunchUrl } from '../launch/testkit/launch-url';
import { LaunchController } from './launch-controller';
import { NoticeBoard } from './notices';
import { PhoneCapture } from './phone-capture';
import { AROHA, enrolledAccess, libraryKit, outboxKit, photoIn, ScriptedCommits, ScriptedLaunches, silentLog, tempDir, WIREMU } from './test-support';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup() {
  const kit = await libraryKit(cleanup);
  const gw = new ScriptedLaunches();
  const { access, config } = await enrolledAccess(gw.factory);
  const outbox = await outboxKit(cleanup, new ScriptedCommits());
  const notices: Notice[] = [];
  const board = new NoticeBoard(() => 'now', (n) => notices.push(n));
  const phone = new PhoneCapture({ working: kit.working, library: kit.library, notices: board, roomLabel: () => 'Room 3', changed: () => undefined, log: silentLog });
  const launch = new LaunchController({ working: kit.working, access, library: kit.library, outbox, phone, notices: board, changed: () => undefined, log: silentLog });
  return { kit, gw, config, launch, notices };
}

const url = (ctx: string): string => buildLaunchUrl(ctx, 'sig-abc');

describe('LaunchController', () => {
  it('shows nothing for a launch URL it refuses or a PC that is not enrolled, and asks the gateway nothing', async () => {
    const { kit, gw, config, launch } = await setup();
    expect(await launch.open('clinicpro-images://launch?context=a&signature=b&extra=1')).toMatchObject({ status: 'error', error: { code: 'ERR_LAUNCH_MALFORMED' } });
    await config.replace({ ...config.current, enrolment: null });
    expect(await launch.open(url('ctx-aroha'))).toMatchObject({ status: 'error', error: { code: 'ERR_NOT_ENROLLED' } });
    expect(gw.calls).toBe(0);
    expect(kit.working.current()).toBeNull();
  });

  it('is busy while the gateway verifies, and a refusal leaves no working patient', async () => {
    const { kit, gw, launch } = await setup();
    let release!: () => void;
    gw.hold = new Promise((r) => (release = r));
    gw.refuse = new AppError('ERR_LAUNCH_EXPIRED');
    const opening = launch.open(url('ctx-aroha'));
    await Promise.resolve();
    await new Promise((r) => setImmediate(r));
    expect(launch.busy).toBe(true);
    expect(kit.working.view()).toEqual({ status: 'verifying' });
    release();
    expect(await opening).toMatchObject({ status: 'error', error: { code: 'ERR_LAUNCH_EXPIRED' } });
    expect(launch.busy).toBe(false);
    expect(kit.working.current()).toBeNull();
  });

  it('switching patient keeps earlier images with their patient and says so; relaunching the same patient renews their grant', async () => {
    const { kit, launch, notices } = await setup();
    expect(await launch.open(url('ctx-aroha'))).toMatchObject({ status: 'ready' });
    const rec = kit.library.create(kit.working.requireCurrent(), 'desktop', 'a.png', {});
    await kit.library.ingest(rec, { path: await photoIn(await tempDir('core-in-', cleanup)) });
    const firstGrant = rec.grant.grantId;
    await launch.open(url('ctx-aroha'));
    expect(rec.grant.grantId).not.toBe(firstGrant);
    expect(notices).toEqual([]);
    await launch.open(url('ctx-wiremu'));
    expect(kit.working.current()?.patient.id).toBe(WIREMU.id);
    expect(rec.patient.id).toBe(AROHA.id);
    expect(notices.map((n) => [n.kind, n.level, n.patientId])).toEqual([['patient-switched', 'warning', AROHA.id]]);
  });
});
