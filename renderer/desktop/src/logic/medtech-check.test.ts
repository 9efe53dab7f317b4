import { describe, expect, it } from 'vitest';
import { isWaitingForMedtech, nextCheckText, sendAgainWarning, unconfirmedText, waitingForMedtechText } from './medtech-check';

const NOW = Date.parse('2026-11-23T09:00:00Z');

describe('words for an image Medtech has not confirmed', () => {
  it('says when Medtech is asked next, from the time it is given', () => {
    expect(waitingForMedtechText({ nextCheckAt: '2026-11-23T09:00:40Z' }, NOW)).toBe('Sent to Medtech — waiting for Medtech to confirm (next check in 40 s)');
    expect(waitingForMedtechText({ nextCheckAt: '2026-11-23T09:00:40Z' }, NOW + 39_500)).toBe('Sent to Medtech — waiting for Medtech to confirm (next check in 1 s)');
    expect(nextCheckText('2026-11-23T09:05:00Z', NOW)).toBe('next check in 5 min');
    expect(nextCheckText('2026-11-23T08:59:00Z', NOW)).toBe('checking now');
    expect(waitingForMedtechText({}, NOW)).toBe('Sent to Medtech — waiting for Medtech to confirm');
    expect(nextCheckText('not a time', NOW)).toBeNull();
  });

  it('only a waiting image with the medtech-confirmation reason is "waiting for Medtech"', () => {
    expect(isWaitingForMedtech({ status: 'waiting', waitingFor: 'medtech-confirmation' })).toBe(true);
    expect(isWaitingForMedtech({ status: 'waiting' })).toBe(false);
    expect(isWaitingForMedtech({ status: 'unconfirmed', waitingFor: 'medtech-confirmation' })).toBe(false);
  });

  it("uses the core's message for an unconfirmed image, and says what sending again risks", () => {
    const error = { code: 'ERR_COMMIT_UNCONFIRMED' as const, message: "Sent to Medtech, not yet confirmed — look in CANARY, Testpatient's Inbox …", action: 'check-medtech' as const, retryable: false };
    expect(unconfirmedText({ error, label: 'wound.jpg' })).toBe(error.message);
    expect(unconfirmedText({ label: 'wound.jpg' })).toMatch(/look in the patient's Inbox in Medtech for “wound\.jpg” before sending again/);
    expect(sendAgainWarning({ label: 'wound.jpg' }, 'CANARY, Testpatient')).toMatch(/looked in CANARY, Testpatient's Inbox .* two copies/);
  });
});
