/** The AppState snapshot: each part from its owner, the newest outbox items only, no candidate once it expired. */
import { afterEach, describe, expect, it } from 'vitest';
import { jpeg } from '../outbox/test-helpers';
import { outboxView } from './outbox-sync';
import { buildSnapshot } from './snapshot';
import { AROHA, outboxKit, ScriptedCommits, T0, verify, workingPatient } from './test-support';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('buildSnapshot', () => {
  it('shows the working patient and capture session, the outbox in order and a live candidate', async () => {
    const outbox = await outboxKit(cleanup, new ScriptedCommits());
    const working = workingPatient();
    const session = verify(working, AROHA);
    const bytes = await jpeg();
    for (let i = 0; i < 3; i += 1) {
      await outbox.enqueue({ imageId: `00000000-0000-4000-8000-00000000000${i}`, patient: AROHA, grantId: session.grant.grantId, facilityId: 'F2N060-E', capturedAt: '2026-05-01T09:00:00.000Z', metadata: {}, targets: ['media'], media: { contentType: 'image/jpeg', bytes } });
    }
    let candidate: { lookupId: string; patient: typeof AROHA; expiresAt: string } | undefined = { lookupId: 'lk_1', patient: AROHA, expiresAt: 'later' };
    const sources = {
      revision: () => 7,
      enrolment: () => ({ enrolled: false, gatewayUrl: 'http://127.0.0.1:9' }),
      working,
      images: () => [],
      phone: () => null,
      outbox,
      outboxView,
      notices: () => [],
      pendingLookup: () => candidate,
      iso: (ms: number) => new Date(ms).toISOString(),
    };
    const state = buildSnapshot(sources);
    expect(state).toMatchObject({ revision: 7, patient: AROHA, captureSession: { id: session.id, patientId: AROHA.id, startedAt: new Date(T0).toISOString() }, launch: { status: 'ready' } });
    expect(state.outbox.map((o) => o.imageId.slice(-1))).toEqual(['0', '1', '2']);
    expect(state.pendingLookup?.lookupId).toBe('lk_1');
    candidate = undefined;
    expect('pendingLookup' in buildSnapshot(sources)).toBe(false);
  });
});
