import { describe, expect, it } from 'vitest';
import type { ImageView, OutboxItemView } from '../../../../shared/contracts/bridge';
import { AppError } from '../../../../shared/errors/app-error';
import type { ErrorCode } from '../../../../shared/errors/codes';
import { comingWithSendLine, lockedReason, nextTryIn, sendLine, stillComingLine } from './send-status';

const bodyFor = (code: ErrorCode) => new AppError(code).toBody();
const NOW = Date.parse('2026-12-06T10:00:00Z');
const image = (over: Partial<ImageView>): ImageView => ({ id: 'i', status: 'ready', label: 'Photo 1', ...over }) as ImageView;
const item = (over: Partial<OutboxItemView>): OutboxItemView => ({ imageId: 'i', status: 'waiting', attempts: 2, ...over }) as OutboxItemView;
const at = (s: number) => new Date(NOW + s * 1000).toISOString();

describe('sendLine', () => {
  it('ALEX 503: says Medtech is not answering, when the next try is, and that nothing reached Medtech', () => {
    const img = image({ status: 'waiting', error: bodyFor('ERR_ALEX_UNAVAILABLE') });
    expect(sendLine(img, item({ nextAttemptAt: at(20) }), NOW)).toBe('Medtech is not answering — will keep trying (next try in 20 s). Nothing has reached Medtech yet.');
    expect(sendLine(img, item({ nextAttemptAt: at(0) }), NOW)).toContain('(trying again now)');
  });

  it('the gateway cannot be reached: says so, not Medtech', () => {
    expect(sendLine(image({ status: 'waiting', error: bodyFor('ERR_GATEWAY_UNREACHABLE') }), item({ nextAttemptAt: at(150) }), NOW)).toBe(
      'The ClinicPro service cannot be reached — will keep trying (next try in 3 min). Nothing has reached Medtech yet.',
    );
  });

  it('queued, sending, accepted and verified each in their own words', () => {
    expect(sendLine(image({ status: 'sending' }), item({ status: 'queued' }), NOW)).toBe('Queued — about to be sent');
    expect(sendLine(image({ status: 'sending' }), item({ status: 'sending' }), NOW)).toBe('Sending to Medtech…');
    expect(sendLine(image({ status: 'committed', committed: {} }), undefined, NOW)).toBe('Sent — Medtech accepted it');
    expect(sendLine(image({ status: 'committed', committed: { verified: true } }), undefined, NOW)).toBe('in Medtech ✓');
    expect(sendLine(image({ status: 'committed', committed: { readBack: 'checking' } }), undefined, NOW)).toBe('Sent — Medtech accepted it; checking it is in the record…');
    expect(sendLine(image({ status: 'ready' }), undefined, NOW)).toBeUndefined();
  });

  it('a commit not read back within the bound says so in plain words, never "failed"', () => {
    const notSeen = sendLine(image({ status: 'committed', committed: { readBack: 'not-seen' } }), undefined, NOW);
    expect(notSeen).toMatch(/^Sent — Medtech accepted it, but it has not shown in the patient's record yet .*Look in Medtech before sending it again\.$/);
    const notChecked = sendLine(image({ status: 'committed', committed: { readBack: 'not-checked' } }), undefined, NOW);
    expect(notChecked).toMatch(/^Sent — Medtech accepted it\. ClinicPro could not check the record/);
    for (const line of [notSeen, notChecked]) expect(line).not.toMatch(/fail/i);
  });

  it('leaves the unknown-outcome state to its own card', () => {
    expect(sendLine(image({ status: 'waiting', error: bodyFor('ERR_ALEX_OUTCOME_UNKNOWN') }), item({}), NOW)).toBeUndefined();
  });

  it('nextTryIn rounds to seconds, then minutes', () => {
    expect(nextTryIn(at(1.2), NOW)).toBe('in 2 s');
    expect(nextTryIn(at(600), NOW)).toBe('in 10 min');
    expect(nextTryIn(undefined, NOW)).toBeUndefined();
  });
});

describe('lockedReason', () => {
  it('never says a queued photo reached Medtech', () => {
    expect(lockedReason([image({ status: 'waiting' })])).toBe('This photo is in the send queue on this PC (not yet confirmed in Medtech), so the details can no longer be changed.');
    expect(lockedReason([image({ status: 'committed' }), image({ status: 'committed' })])).toBe('These photos are in Medtech, so the details can no longer be changed.');
    expect(lockedReason([image({ status: 'committed' }), image({ status: 'sending' })])).not.toContain('handed to Medtech');
  });
});

describe('stillComingLine', () => {
  it("says how many of this patient's phone photos are still coming and will be sent, and nothing when none are", () => {
    const coming = [
      { patientId: 'a', photos: 3, onArrival: 'send' as const },
      { patientId: 'b', photos: 1, onArrival: 'send' as const },
    ];
    expect(stillComingLine(coming, 'a')).toBe('3 photos still coming from the phone will be sent to Medtech when they arrive.');
    expect(stillComingLine(coming, 'b')).toBe('1 photo still coming from the phone will be sent to Medtech when it arrives.');
    expect(stillComingLine(coming, 'c')).toBeUndefined();
    expect(stillComingLine(undefined, 'a')).toBeUndefined();
  });

  it('after a patient switch (or a Send of picked photos), says they will wait here; with both kinds for one patient, says each', () => {
    expect(stillComingLine([{ patientId: 'a', photos: 1, onArrival: 'wait' }], 'a')).toBe('1 photo still coming from the phone will wait here until you send it.');
    const both = [
      { patientId: 'a', photos: 2, onArrival: 'wait' as const },
      { patientId: 'a', photos: 1, onArrival: 'send' as const },
      { patientId: 'a', photos: 1, onArrival: 'wait' as const },
    ];
    expect(stillComingLine(both, 'a')).toBe('1 photo still coming from the phone will be sent to Medtech when it arrives. 3 photos still coming from the phone will wait here until you send them.');
  });
});

describe('comingWithSendLine', () => {
  it("before a \"send all\": how many of this patient's phone photos are still coming and go with it, and nothing when none are", () => {
    expect(comingWithSendLine({ patientId: 'a', photosComing: 2 }, 'a')).toBe('Also 2 photos still coming from the phone: they are sent the same way as each arrives.');
    expect(comingWithSendLine({ patientId: 'a', photosComing: 1 }, 'a')).toBe('Also 1 photo still coming from the phone: it is sent the same way as it arrives.');
    expect(comingWithSendLine({ patientId: 'a', photosComing: 2 }, 'b')).toBeUndefined();
    expect(comingWithSendLine({ patientId: 'a' }, 'a')).toBeUndefined();
    expect(comingWithSendLine(null, 'a')).toBeUndefined();
  });
});
