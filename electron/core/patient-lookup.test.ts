/**
 * Find a patient by NHI, with a scripted gateway and an injected clock: a search answers a candidate and changes no
 * working patient; only the GP's "Yes" after the gateway's confirmation does; the candidate expires with its grant;
 * a launch or a cancel wins; a final refusal ends the search and a passing one keeps it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors/app-error';
import { LaunchController } from './launch-controller';
import { NoticeBoard } from './notices';
import { PatientLookup } from './patient-lookup';
import { PhoneCapture } from './phone-capture';
import { AROHA, enrolledAccess, libraryKit, outboxKit, ScriptedCommits, ScriptedLaunches, silentLog, T0, WIREMU } from './test-support';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup() {
  const clock = { t: T0 };
  const kit = await libraryKit(cleanup);
  const gw = new ScriptedLaunches(() => clock.t);
  const { access } = await enrolledAccess(gw.factory, clock);
  const outbox = await outboxKit(cleanup, new ScriptedCommits());
  const board = new NoticeBoard(() => 'now', () => undefined);
  const phone = new PhoneCapture({ working: kit.working, library: kit.library, notices: board, roomLabel: () => 'Room 3', changed: () => undefined, log: silentLog });
  const launch = new LaunchController({ working: kit.working, access, library: kit.library, outbox, phone, notices: board, changed: () => undefined, log: silentLog });
  const lookup = new PatientLookup({ working: kit.working, access, launch, clock: { now: () => clock.t }, iso: (ms) => new Date(ms).toISOString(), changed: () => undefined, log: silentLog });
  return { clock, kit, gw, launch, lookup };
}

describe('PatientLookup', () => {
  it('a search shows a candidate, not a working patient; "Yes" after the gateway confirms makes it the working patient', async () => {
    const { kit, gw, lookup } = await setup();
    await expect(lookup.lookup({ nhi: 'ZZZ00' })).rejects.toMatchObject({ code: 'ERR_LOOKUP_NHI_INVALID' });
    expect(gw.calls).toBe(0);
    const found = await lookup.lookup({ nhi: ' zzz 0016 ' });
    expect(found.patient.id).toBe(AROHA.id);
    expect(lookup.view()?.lookupId).toBe(found.lookupId);
    expect(kit.working.current()).toBeNull();
    expect(await lookup.confirm({ lookupId: found.lookupId })).toMatchObject({ status: 'ready' });
    expect(kit.working.current()?.patient.id).toBe(AROHA.id);
    expect(kit.working.current()?.grant.requiresConfirmation).toBeUndefined();
    expect(lookup.view()).toBeUndefined();
    await expect(lookup.confirm({ lookupId: found.lookupId })).rejects.toMatchObject({ code: 'ERR_LOOKUP_ENDED' });
  });

  it('the candidate expires with its grant on the injected clock', async () => {
    const { clock, kit, lookup } = await setup();
    const found = await lookup.lookup({ nhi: 'ZZZ0024' });
    expect(found.patient.id).toBe(WIREMU.id);
    clock.t += 3_600_000;
    expect(lookup.view()).toBeUndefined();
    await expect(lookup.confirm({ lookupId: found.lookupId })).rejects.toMatchObject({ code: 'ERR_LOOKUP_EXPIRED' });
    expect(kit.working.current()).toBeNull();
  });

  it('a cancel or a launch wins over a search still on its way', async () => {
    const { gw, launch, lookup } = await setup();
    let release!: () => void;
    gw.hold = new Promise((r) => (release = r));
    const searching = lookup.lookup({ nhi: 'ZZZ0016' });
    await new Promise((r) => setImmediate(r));
    expect(lookup.end('cancelled')).toBe(true);
    release();
    await expect(searching).rejects.toMatchObject({ code: 'ERR_REQUEST_CANCELLED' });
    expect(lookup.view()).toBeUndefined();
    gw.hold = new Promise((r) => (release = r));
    const opening = launch.open('clinicpro-images://launch?context=ctx-wiremu&signature=sig');
    await expect(lookup.lookup({ nhi: 'ZZZ0016' })).rejects.toMatchObject({ code: 'ERR_REQUEST_CANCELLED' });
    release();
    await opening;
  });

  it('a passing refusal keeps the candidate for another "Yes"; a final one ends it; another patient is never taken', async () => {
    const { kit, gw, lookup } = await setup();
    const found = await lookup.lookup({ nhi: 'ZZZ0016' });
    gw.refuse = new AppError('ERR_GATEWAY_UNREACHABLE');
    await expect(lookup.confirm({ lookupId: found.lookupId })).rejects.toMatchObject({ code: 'ERR_GATEWAY_UNREACHABLE' });
    expect(lookup.view()?.lookupId).toBe(found.lookupId);
    gw.refuse = new AppError('ERR_LOOKUP_ENDED');
    await expect(lookup.confirm({ lookupId: found.lookupId })).rejects.toMatchObject({ code: 'ERR_LOOKUP_ENDED' });
    expect(lookup.view()).toBeUndefined();
    gw.refuse = null;
    gw.confirmAs = WIREMU;
    const again = await lookup.lookup({ nhi: 'ZZZ0016' });
    await expect(lookup.confirm({ lookupId: again.lookupId })).rejects.toMatchObject({ code: 'ERR_INTERNAL' });
    expect(kit.working.current()).toBeNull();
  });
});
