import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors';
import { SessionRegistry } from './sessions';

function registry() {
  let now = 1_000_000;
  const reg = new SessionRegistry({ now: () => now, random: randomBytes, qrTtlMs: 600_000, idleMs: 1_800_000 });
  const s = reg.open({ id: 's1', ref: 'cap', patient: { displayName: 'A B', birthDate: '2001-02-03' }, roomLabel: 'R' });
  return { reg, s, advance: (ms: number) => (now += ms) };
}
const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof AppError ? err.code : 'not-app-error';
  }
};

describe('SessionRegistry', () => {
  it('after a Send: only held photos not yet received, within the idle window; a held in-flight upload is not cut off', () => {
    const { reg, s, advance } = registry();
    const numbers = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
    reg.hold(s, ['a', 'b', 'c'], numbers);
    s.uploads.set('a', { clientUploadId: 'a', imageId: 'i-a', bytes: 1, sha256: '0'.repeat(64) });
    const streaming = new AbortController();
    const stranger = new AbortController();
    s.inflight.set('b', streaming);
    s.inflight.set('x', stranger);
    reg.end('s1', 'committed');
    expect(streaming.signal.aborted).toBe(false);
    expect(stranger.signal.aborted).toBe(true);
    expect([reg.mayReceive(s, 'a'), reg.mayReceive(s, 'b'), reg.mayReceive(s, 'x')]).toEqual([false, true, false]);
    expect(reg.stillComing(s)).toBe(2);
    expect(code(() => reg.hold(s, ['d'], numbers))).toBe('ERR_LAN_SESSION_SENT');
    advance(1_800_000);
    expect(reg.mayReceive(s, 'b')).toBe(false);
  });

  it("a release lets go only of this session's held photos not yet received nor streaming, and only within the grace", () => {
    const { reg, s, advance } = registry();
    const other = reg.open({ id: 's2', ref: 'cap-2', patient: { displayName: 'C D', birthDate: '1999-01-01' }, roomLabel: 'R' });
    const numbers = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
    reg.hold(s, ['got', 'streaming', 'waiting'], numbers);
    reg.hold(other, ['theirs'], numbers);
    s.uploads.set('got', { clientUploadId: 'got', imageId: 'i', bytes: 1, sha256: '0'.repeat(64) });
    s.inflight.set('streaming', new AbortController());
    const { token } = reg.issueQr('s1');
    const exchanged = reg.exchange(token);
    if (!exchanged.ok) throw new Error('exchange failed');
    reg.end('s1', 'committed');
    expect(reg.release(s, ['got', 'streaming', 'theirs', 'never-held'])).toBe(0);
    expect([...s.held.keys()]).toEqual(['got', 'streaming', 'waiting']);
    expect(reg.stillComing(s)).toBe(2);
    expect(reg.authenticate(exchanged.credential, { heldUploads: true }).session).toBe(s);
    expect(reg.release(s, ['waiting', 'waiting'])).toBe(1);
    expect(reg.stillComing(s)).toBe(1);
    advance(1_800_000);
    expect(code(() => reg.authenticate(exchanged.credential, { heldUploads: true }))).toBe('ERR_LAN_SESSION_SENT');
  });

  it('a QR token is single use and the credential it buys works', () => {
    const { reg } = registry();
    const { token } = reg.issueQr('s1');
    const first = reg.exchange(token);
    expect(first.ok).toBe(true);
    const second = reg.exchange(token);
    expect(second.ok ? undefined : second.error.code).toBe('ERR_LAN_TOKEN_INVALID');
    if (!first.ok) throw new Error('unreachable');
    expect(reg.authenticate(first.credential).phone.phoneId).toBe(first.phone.phoneId);
  });

  it('a token expires at its TTL and is spent by the attempt', () => {
    const { reg, advance } = registry();
    const { token } = reg.issueQr('s1');
    advance(600_000);
    const r = reg.exchange(token);
    expect(r.ok ? undefined : r.error.code).toBe('ERR_LAN_TOKEN_EXPIRED');
    expect(r.ok ? undefined : r.session?.id).toBe('s1');
  });

  it('a credential slides: each use extends it, idleness kills it', () => {
    const { reg, advance } = registry();
    const r = reg.exchange(reg.issueQr('s1').token);
    if (!r.ok) throw new Error('exchange failed');
    advance(1_799_000);
    reg.authenticate(r.credential);
    advance(1_799_000);
    reg.authenticate(r.credential);
    advance(1_800_000);
    expect(code(() => reg.authenticate(r.credential))).toBe('ERR_LAN_TOKEN_EXPIRED');
  });

  it('ending a session aborts its uploads, forgets the patient and tells phones why', () => {
    const { reg, s } = registry();
    const r = reg.exchange(reg.issueQr('s1').token);
    if (!r.ok) throw new Error('exchange failed');
    const upload = new AbortController();
    s.inflight.set('u1', upload);
    expect(reg.end('s1', 'patient-changed')).toBe(s);
    expect(reg.end('s1', 'ended')).toBeUndefined(); // idempotent: the first reason stands
    expect(upload.signal.aborted).toBe(true);
    expect(s.patient.displayName).toBe('');
    expect(code(() => reg.authenticate(r.credential))).toBe('ERR_LAN_PATIENT_CHANGED');
    expect(code(() => reg.issueQr('s1'))).toBe('ERR_LAN_PATIENT_CHANGED');
  });

  it('the sweep ends idle sessions, and later forgets them and their phones', () => {
    const { reg, advance } = registry();
    const r = reg.exchange(reg.issueQr('s1').token);
    if (!r.ok) throw new Error('exchange failed');
    advance(1_800_000);
    expect(reg.sweep().idle.map((s) => s.id)).toEqual(['s1']);
    expect(code(() => reg.authenticate(r.credential))).toBe('ERR_LAN_SESSION_ENDED');
    advance(1_800_000);
    reg.sweep();
    expect(reg.get('s1')).toBeUndefined();
    expect(code(() => reg.authenticate(r.credential))).toBe('ERR_LAN_TOKEN_INVALID');
  });

  it('does not end a session for idleness while an upload is streaming', () => {
    const { reg, s, advance } = registry();
    s.inflight.set('u1', new AbortController());
    advance(3_600_000);
    expect(reg.sweep().idle).toEqual([]);
    expect(s.state).toBe('open');
  });
});
