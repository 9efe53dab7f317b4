/**
 * Send while the phone is still sending: after a "send all", the photos that phone session had already numbered
 * (held) keep arriving; each is sent with that Send's targets and caption choice as soon as it is read, to its own
 * patient. The desktop is told how many are still coming; a photo that cannot go stays with its reason, and the GP
 * is told; photos that never arrive within the LAN server's grace are told too.
 */
import type { AppState, CommitTargets } from '../../shared/contracts/bridge';
import type { ErrorBody } from '../../shared/errors/app-error';
import { isFrozen, type ImageRecord } from './image-record';
import type { CoreParts } from './ports';

export interface FollowPlan {
  targets: CommitTargets;
  captionStrip: boolean;
}

interface Following {
  patientId: string;
  plan: FollowPlan;
  /** Told by the LAN server once the Send ended the session. */
  stillComing: number;
}

export type SendFollowersDeps = Pick<CoreParts, 'notices' | 'changed' | 'track' | 'log'> & {
  /** Commits one image with these choices: undefined once it is queued, else why it cannot go. */
  send: (rec: ImageRecord, plan: FollowPlan) => Promise<ErrorBody | undefined>;
};

const photos = (n: number): string => (n === 1 ? '1 photo' : `${n} photos`);

export class SendFollowers {
  /** By LAN session id. */
  private readonly following = new Map<string, Following>();

  constructor(private readonly deps: SendFollowersDeps) {}

  /** From this Send on, the photos of this phone session go with it (until none is still coming, or the grace ends). */
  follow(lanSessionId: string, patientId: string, plan: FollowPlan): void {
    this.following.set(lanSessionId, { patientId, plan, stillComing: 0 });
  }

  /** The LAN server's count of held photos not yet arrived (on the Send, after each arrival, at the grace's end). */
  stillComing(e: { sessionId: string; count: number; graceOver: boolean }): void {
    const f = this.following.get(e.sessionId);
    if (f === undefined) return;
    if (e.graceOver && e.count > 0) {
      const were = e.count === 1 ? 'was' : 'were';
      this.deps.notices.notify('commit-failed', 'warning', `${photos(e.count)} taken on the phone did not reach this PC in time and ${were} not sent. Ask the nurse to check the phone.`, f.patientId);
    }
    if (e.graceOver || e.count === 0) this.following.delete(e.sessionId);
    else f.stillComing = e.count;
    this.deps.changed();
  }

  /** A photo of a followed phone session is read: it goes now (an image already going is left alone). */
  arrived(lanSessionId: string, rec: ImageRecord): void {
    const f = this.following.get(lanSessionId);
    if (f === undefined || isFrozen(rec)) return;
    void this.deps.track(this.sendOne(rec, f.plan));
  }

  private async sendOne(rec: ImageRecord, plan: FollowPlan): Promise<void> {
    const refused = await this.deps.send(rec, plan);
    if (refused === undefined) return;
    this.deps.notices.notify('commit-failed', 'warning', `${rec.label} arrived from the phone after Send and was not sent: ${refused.message}`, rec.patient.id);
    this.deps.changed();
  }

  view(): NonNullable<AppState['stillComing']> {
    return [...this.following.values()].filter((f) => f.stillComing > 0).map((f) => ({ patientId: f.patientId, photos: f.stillComing }));
  }
}
