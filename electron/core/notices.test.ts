/** The GP's notices: stamped, pushed when made, the newest kept, dismissable. */
import { describe, expect, it } from 'vitest';
import type { Notice } from '../../shared/contracts/bridge';
import { MAX_NOTICES, NoticeBoard } from './notices';

describe('NoticeBoard', () => {
  it('stamps and pushes each notice, names its patient when given, and keeps only the newest', () => {
    const pushed: Notice[] = [];
    const board = new NoticeBoard(() => '2026-12-06T09:00:00.000Z', (n) => pushed.push(n));
    board.notify('patient-switched', 'warning', 'Two photos stay with Aroha.', 'pat-1');
    expect(pushed[0]).toEqual({ id: 'n1', kind: 'patient-switched', level: 'warning', message: 'Two photos stay with Aroha.', at: '2026-12-06T09:00:00.000Z', patientId: 'pat-1' });
    for (let i = 0; i < MAX_NOTICES + 5; i += 1) board.notify('info', 'info', `note ${i}`);
    const kept = board.list();
    expect(kept).toHaveLength(MAX_NOTICES);
    expect(kept.at(-1)?.message).toBe(`note ${MAX_NOTICES + 4}`);
    expect(kept.some((n) => n.id === 'n1')).toBe(false);
  });

  it('dismisses one notice by id; an unknown id changes nothing', () => {
    const board = new NoticeBoard(() => 'now', () => undefined);
    board.notify('info', 'info', 'a');
    board.notify('info', 'info', 'b');
    board.dismiss('n1');
    board.dismiss('n99');
    expect(board.list().map((n) => n.message)).toEqual(['b']);
  });
});
