import { describe, expect, it } from 'vitest';
import { checkBridgeEvent } from '../../../../shared/contracts/bridge';
import { AROHA, WIREMU, appState, image, outboxItem } from './testkit/fixtures';
import { acceptSnapshot, groupImages, imageProgress, mergeProgress, pruneProgress, readyImages, splitOutbox, tallyCommit } from './model';

describe('snapshots', () => {
  it('the fixtures are valid contract snapshots', () => {
    const img = image(AROHA);
    expect(checkBridgeEvent('state', appState(1, [img], [outboxItem(img)]))).toBe(true);
  });

  it('keeps the newest snapshot and ignores a late, older one', () => {
    const s5 = appState(5);
    const s4 = appState(4);
    expect(acceptSnapshot(null, s4)).toBe(s4);
    expect(acceptSnapshot(s5, s4)).toBe(s5);
    expect(acceptSnapshot(s5, appState(5))).toBe(s5);
    expect(acceptSnapshot(s4, s5)).toBe(s5);
    // After a reconnect the core may have restarted from 0: forced.
    const s0 = appState(0);
    expect(acceptSnapshot(s5, s0, true)).toBe(s0);
  });
});

describe('grouping by patient', () => {
  it("keeps other patients' images in their own groups, never with the working patient's", () => {
    const a1 = image(AROHA);
    const w1 = image(WIREMU);
    const a2 = image(AROHA);
    const w2 = image(WIREMU);
    const g = groupImages([a1, w1, a2, w2]);
    expect(g.working.map((i) => i.id)).toEqual([a1.id, a2.id]);
    expect(g.others).toHaveLength(1);
    expect(g.others[0]!.patient.nhi).toBe('ZZZ0024');
    expect(g.others[0]!.images.map((i) => i.id)).toEqual([w1.id, w2.id]);
  });

  it('decides by isWorkingPatient, not by the patient id on screen', () => {
    const stale = image(AROHA, { isWorkingPatient: false });
    const g = groupImages([stale]);
    expect(g.working).toHaveLength(0);
    expect(g.others[0]!.images).toEqual([stale]);
  });

  it('"Send" takes only ready images', () => {
    const list = [image(AROHA), image(AROHA, { status: 'needs-info', missingFields: ['bodySiteCode'] }), image(AROHA, { status: 'failed' })];
    expect(readyImages(list)).toEqual([list[0]]);
  });
});

describe('progress', () => {
  it('prefers the latest image-progress event and labels the phase', () => {
    const img = image(AROHA, { status: 'sending', progress: 0.1 });
    expect(imageProgress(img, {})).toEqual({ fraction: 0.1, label: 'Sending' });
    const map = mergeProgress({}, { imageId: img.id, phase: 'render', fraction: 0.4 });
    expect(imageProgress(img, map)).toEqual({ fraction: 0.4, label: 'Making it fit for Medtech' });
    expect(imageProgress({ ...img, status: 'committed' }, map)).toBeNull();
  });

  it('forgets progress of images that finished', () => {
    const a = image(AROHA, { status: 'sending' });
    const b = image(AROHA, { status: 'committed' });
    let map = mergeProgress({}, { imageId: a.id, phase: 'upload', fraction: 0.5 });
    map = mergeProgress(map, { imageId: b.id, phase: 'upload', fraction: 1 });
    expect(Object.keys(pruneProgress(map, [a, b]))).toEqual([a.id]);
    const kept = pruneProgress(map, [a, { ...b, status: 'sending' }]);
    expect(kept).toBe(map);
  });
});

describe('commit tally', () => {
  it('counts committed, failed and waiting, and is settled only when nothing still moves', () => {
    const ok = image(AROHA, { status: 'committed' });
    const bad = image(AROHA, { status: 'failed' });
    const wait = image(AROHA, { status: 'waiting' });
    const moving = image(AROHA, { status: 'sending' });
    let t = tallyCommit([ok.id, bad.id, wait.id, moving.id], [ok, bad, wait, moving]);
    expect(t).toMatchObject({ total: 4, committed: 1, inProgress: 1, settled: false });
    expect(t.failed).toEqual([bad]);
    expect(t.waiting).toEqual([wait]);
    t = tallyCommit([ok.id, bad.id], [ok, bad]);
    expect(t.settled).toBe(true);
  });

  it('an image no longer listed counts as committed only if the outbox does not still hold it', () => {
    const gone = image(AROHA);
    expect(tallyCommit([gone.id], []).committed).toBe(1);
    expect(tallyCommit([gone.id], [], [outboxItem(gone, { status: 'waiting' })])).toMatchObject({ committed: 0, inProgress: 1, settled: false });
  });
});

describe('outbox drawer', () => {
  it('lists failed first, then waiting, sending, queued; history newest first', () => {
    const i = [image(AROHA), image(WIREMU), image(AROHA), image(AROHA), image(AROHA)];
    const items = [
      outboxItem(i[0]!, { status: 'sending' }),
      outboxItem(i[1]!, { status: 'failed' }),
      outboxItem(i[2]!, { status: 'committed', patient: undefined, nhi: 'ZZZ0016', updatedAt: '2026-01-01T09:00:00.000Z' }),
      outboxItem(i[3]!, { status: 'waiting' }),
      outboxItem(i[4]!, { status: 'committed', patient: undefined, nhi: 'ZZZ0016', updatedAt: '2026-01-01T10:00:00.000Z' }),
    ];
    const { live, history } = splitOutbox(items);
    expect(live.map((o) => o.status)).toEqual(['failed', 'waiting', 'sending']);
    expect(history.map((o) => o.imageId)).toEqual([i[4]!.id, i[2]!.id]);
  });
});
