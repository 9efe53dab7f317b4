/** The GP's notices: the newest few kept for the snapshot, each pushed as a `notice` event when made. */
import type { Notice } from '../../shared/contracts/bridge';

/** Older notices drop off beyond this many. */
export const MAX_NOTICES = 20;

export class NoticeBoard {
  private readonly notices: Notice[] = [];
  private counter = 0;

  constructor(
    private readonly now: () => string,
    private readonly push: (notice: Notice) => void,
  ) {}

  notify(kind: Notice['kind'], level: Notice['level'], message: string, patientId?: string): void {
    const n: Notice = { id: `n${++this.counter}`, kind, level, message, at: this.now() };
    if (patientId !== undefined) n.patientId = patientId;
    this.notices.push(n);
    if (this.notices.length > MAX_NOTICES) this.notices.shift();
    this.push(n);
  }

  /** An unknown id is not an error: it may have dropped off already. */
  dismiss(id: string): void {
    const i = this.notices.findIndex((n) => n.id === id);
    if (i >= 0) this.notices.splice(i, 1);
  }

  list(): Notice[] {
    return [...this.notices];
  }
}
