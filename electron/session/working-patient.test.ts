import { describe, expect, it } from 'vitest';
import type { LaunchGrant } from '../../shared/contracts/gateway';
import type { PatientSummary } from '../../shared/contracts/common';
import { AppError } from '../../shared/errors/app-error';
import { WorkingPatient, patientSwitchMessage } from './working-patient';

const A: PatientSummary = { id: 'pat-a', nhi: 'ZZZ0016', familyName: 'Smith', givenName: 'Jane', birthDate: '1970-03-04', sex: 'female' };
const B: PatientSummary = { id: 'pat-b', nhi: 'ZZZ0024', familyName: 'Ngata', givenName: 'Hemi', birthDate: '1985-11-30', sex: 'male' };

function setup() {
  let t = Date.parse('2026-03-01T09:00:00+13:00');
  let n = 0;
  const wp = new WorkingPatient({ now: () => t, newSessionId: () => `s${++n}` });
  const grant = (p: PatientSummary, id: string, ttlMs = 3_600_000): LaunchGrant => ({
    grantId: `grant-${id}-0123456789`,
    facilityId: 'F2N060-E',
    patient: p,
    issuedAt: new Date(t).toISOString(),
    expiresAt: new Date(t + ttlMs).toISOString(),
  });
  return { wp, grant, advance: (ms: number) => (t += ms) };
}

describe('WorkingPatient', () => {
  it('shows nothing until a launch is verified, and nothing while one is being verified', () => {
    const { wp, grant } = setup();
    expect(wp.current()).toBeNull();
    expect(wp.view()).toEqual({ status: 'none' });
    const a = wp.begin();
    expect(wp.view().status).toBe('verifying');
    expect(wp.current()).toBeNull();
    const r = wp.verified(a, grant(A, '1'));
    expect(r.kind).toBe('started');
    expect(wp.current()?.patient.id).toBe('pat-a');
    expect(wp.view()).toEqual({ status: 'ready' });
  });

  it('a failed launch shows nothing new and hides the previous patient (no captures go to them by mistake)', () => {
    const { wp, grant } = setup();
    wp.verified(wp.begin(), grant(A, '1'));
    const bad = wp.begin();
    expect(wp.failed(bad, new AppError('ERR_LAUNCH_SIGNATURE').toBody())).toBe(true);
    expect(wp.current()).toBeNull();
    expect(wp.view()).toMatchObject({ status: 'error', error: { code: 'ERR_LAUNCH_SIGNATURE', action: 'relaunch' } });
    // A's grant is still known, so A's images can still be committed to A
    expect(wp.grantFor('pat-a')?.patient.id).toBe('pat-a');
  });

  it('same patient relaunched: same session, new grant (caller rebinds the outbox)', () => {
    const { wp, grant } = setup();
    const first = wp.verified(wp.begin(), grant(A, '1'));
    const again = wp.verified(wp.begin(), grant(A, '2'));
    expect(again.kind).toBe('same-patient');
    if (again.kind !== 'same-patient' || first.kind !== 'started') throw new Error('unexpected');
    expect(again.session.id).toBe(first.session.id);
    expect(again.previousGrantId).toBe('grant-1-0123456789');
    expect(wp.current()?.grant.grantId).toBe('grant-2-0123456789');
    expect(wp.grantFor('pat-a')?.grantId).toBe('grant-2-0123456789');
  });

  it('same patient after a failed launch resumes the same session', () => {
    const { wp, grant } = setup();
    const first = wp.verified(wp.begin(), grant(A, '1'));
    wp.failed(wp.begin(), new AppError('ERR_LAUNCH_REPLAYED').toBody());
    const r = wp.verified(wp.begin(), grant(A, '2'));
    expect(r.kind).toBe('same-patient');
    expect(first.kind === 'started' && r.kind === 'same-patient' && r.session.id === first.session.id).toBe(true);
  });

  it('another patient: a new session; the old one ends but its patient keeps its grant', () => {
    const { wp, grant } = setup();
    wp.verified(wp.begin(), grant(A, '1'));
    const r = wp.verified(wp.begin(), grant(B, '2'));
    expect(r.kind).toBe('switched');
    if (r.kind !== 'switched') throw new Error('unexpected');
    expect(r.previous.patient.id).toBe('pat-a');
    expect(r.previous.endedAt).toBeDefined();
    expect(r.session.patient.id).toBe('pat-b');
    expect(r.session.id).not.toBe(r.previous.id);
    expect(wp.current()?.patient.id).toBe('pat-b');
    expect(wp.grantFor('pat-a')?.grantId).toBe('grant-1-0123456789');
    expect(wp.session(r.previous.id)?.patient.id).toBe('pat-a');
    expect(wp.session(r.session.id)?.patient.id).toBe('pat-b');
  });

  it('overlapping launches: only the latest may change the working patient', () => {
    const { wp, grant } = setup();
    const slow = wp.begin();
    const fast = wp.begin();
    expect(wp.verified(fast, grant(B, '2')).kind).toBe('started');
    expect(wp.verified(slow, grant(A, '1'))).toEqual({ kind: 'stale' });
    expect(wp.failed(slow, new AppError('ERR_LAUNCH_SIGNATURE').toBody())).toBe(false);
    expect(wp.current()?.patient.id).toBe('pat-b');
  });

  it('an expired grant is no working patient', () => {
    const { wp, grant, advance } = setup();
    wp.verified(wp.begin(), grant(A, '1', 60_000));
    advance(60_000);
    expect(wp.current()).toBeNull();
    expect(wp.view()).toMatchObject({ status: 'error', error: { code: 'ERR_LAUNCH_GRANT_EXPIRED' } });
  });

  it('tells the GP in plain words where the earlier images stay', () => {
    expect(patientSwitchMessage(A, B, 2)).toBe('Now working on NGATA, Hemi. 2 images stay with SMITH, Jane and can still be sent to their record only.');
    expect(patientSwitchMessage(A, B, 1)).toContain('1 image stays with SMITH, Jane');
    expect(patientSwitchMessage(A, B, 0, 2)).toBe('Now working on NGATA, Hemi. 2 photos still coming from the phone will wait with SMITH, Jane, to be sent to their record only.');
    expect(patientSwitchMessage(A, B, 1, 1)).toBe('Now working on NGATA, Hemi. 1 image stays with SMITH, Jane and can still be sent to their record only. 1 photo still coming from the phone will wait with them.');
    expect(patientSwitchMessage(A, B, 0)).toBe('Now working on NGATA, Hemi.');
  });
});

describe('WorkingPatient.requireCurrent', () => {
  it('refuses with ERR_NO_PATIENT while nothing is verified, while a launch is checked and after the grant expired', () => {
    const { wp, grant, advance } = setup();
    expect(() => wp.requireCurrent()).toThrow(expect.objectContaining({ code: 'ERR_NO_PATIENT' }));
    wp.verified(wp.begin(), grant(A, 'a'));
    expect(wp.requireCurrent().patient.id).toBe(A.id);
    wp.begin();
    expect(() => wp.requireCurrent()).toThrow(expect.objectContaining({ code: 'ERR_NO_PATIENT' }));
    wp.verified(wp.begin(), grant(B, 'b'));
    advance(3_600_000);
    expect(() => wp.requireCurrent()).toThrow(expect.objectContaining({ code: 'ERR_NO_PATIENT' }));
  });
});
