/**
 * Send while the phone is still sending: after a "send all", the photos that phone session had already numbered
 * (held) keep arriving; each is sent with that Send's targets and caption choice as soon as it is read, to its own
 * patient. After a Send of picked photos or a patient switch they keep arriving too, and wait on the desktop. The
 * desktop is told how many are still coming and what happens to them; a photo that cannot go stays with its reason,
 * and the GP is told; photos that never arrive within the LAN server's grace are told too.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppState, CommitTargets } from '../../shared/contracts/bridge';
import type { ErrorBody } from '../../shared/errors/app-error';
import { nodeFs, writeFileAtomic } from '../outbox/durable-fs';
import { isFrozen, type ImageRecord } from './image-record';
import { errKind } from './log-safe';
import type { CoreParts } from './ports';

export interface FollowPlan {
  targets: CommitTargets;
  captionStrip: boolean;
}

interface Following {
  patientId: string;
  /** null: they wait on the desktop (a Send of picked photos, or a patient switch). */
  plan: FollowPlan | null;
  /** Told by the LAN server once the Send or switch ended the session. */
  stillComing: number;
}

/** How many photos are still coming, kept across a restart (a count only: no patient data). */
export interface StillComingStore {
  save(photos: number): Promise<void>;
  /** The count the last run left, forgotten as it is read (0 when none). */
  take(): Promise<number>;
}

export type SendFollowersDeps = Pick<CoreParts, 'notices' | 'changed' | 'track' | 'log'> & {
  /** Commits one image with these choices: undefined once it is queued, else why it cannot go. */
  send: (rec: ImageRecord, plan: FollowPlan) => Promise<ErrorBody | undefined>;
  /** Absent: a restart forgets the photos still coming without a word. */
  store?: StillComingStore;
};

const photos = (n: number): string => (n === 1 ? '1 photo' : `${n} photos`);

/** `still-coming.json` in `dir`, written atomically; removed when nothing is coming. */
export function stillComingFile(dir: string): StillComingStore {
  const name = 'still-coming.json';
  return {
    save: (n) => (n === 0 ? rm(join(dir, name), { force: true }) : writeFileAtomic(nodeFs, dir, name, Buffer.from(JSON.stringify({ photos: n })))),
    take: async () => {
      const text = await readFile(join(dir, name), 'utf8').catch(() => '{}');
      await rm(join(dir, name), { force: true });
      const n: unknown = (JSON.parse(text) as { photos?: unknown }).photos;
      return Number.isSafeInteger(n) && (n as number) > 0 ? (n as number) : 0;
    },
  };
}

export class SendFollowers {
  /** By LAN session id. */
  private readonly following = new Map<string, Following>();
  /** Saves in the order the counts changed. */
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly deps: SendFollowersDeps) {}

  /** At start: photos the last run was still waiting for can no longer arrive (the phone's link died with it). */
  async recover(): Promise<void> {
    const lost = await (this.deps.store?.take() ?? Promise.resolve(0)).catch(() => 0);
    if (lost === 0) return;
    this.deps.notices.notify('commit-failed', 'warning', `${photos(lost)} still coming from the phone when ClinicPro Images stopped did not reach this PC. Ask the nurse to check the phone.`);
    this.deps.changed();
  }

  /** From this Send on, the photos of this phone session go with it (until none is still coming, or the grace ends). */
  follow(lanSessionId: string, patientId: string, plan: FollowPlan): void {
    this.following.set(lanSessionId, { patientId, plan, stillComing: 0 });
  }

  /** A phone session ended by a Send of picked photos or a patient switch: its photos still coming are counted, and wait. */
  watch(lanSessionId: string, patientId: string): void {
    if (!this.following.has(lanSessionId)) this.following.set(lanSessionId, { patientId, plan: null, stillComing: 0 });
  }

  private persist(): void {
    const store = this.deps.store;
    if (store === undefined) return;
    const n = [...this.following.values()].reduce((sum, f) => sum + f.stillComing, 0);
    const save = this.saving.then(() => store.save(n)).catch((e: unknown) => this.deps.log.warn(errKind(e), 'could not save the count of photos still coming'));
    this.saving = save;
    void this.deps.track(save);
  }

  /** The LAN server's count of held photos not yet arrived (on the Send, after each arrival, at the grace's end). */
  stillComing(e: { sessionId: string; count: number; graceOver: boolean }): void {
    const f = this.following.get(e.sessionId);
    if (f === undefined) return;
    if (e.graceOver && e.count > 0) {
      const were = e.count === 1 ? 'was' : 'were';
      const notSent = f.plan === null ? '' : ` and ${were} not sent`;
      this.deps.notices.notify('commit-failed', 'warning', `${photos(e.count)} taken on the phone did not reach this PC in time${notSent}. Ask the nurse to check the phone.`, f.patientId);
    }
    if (e.graceOver || e.count === 0) this.following.delete(e.sessionId);
    else f.stillComing = e.count;
    this.persist();
    this.deps.changed();
  }

  /** A photo of a followed phone session is read: it goes now (an image already going is left alone). */
  arrived(lanSessionId: string, rec: ImageRecord): void {
    const plan = this.following.get(lanSessionId)?.plan;
    if (plan === undefined || plan === null || isFrozen(rec)) return;
    void this.deps.track(this.sendOne(rec, plan));
  }

  private async sendOne(rec: ImageRecord, plan: FollowPlan): Promise<void> {
    const refused = await this.deps.send(rec, plan);
    if (refused === undefined) return;
    this.deps.notices.notify('commit-failed', 'warning', `${rec.label} arrived from the phone after Send and was not sent: ${refused.message}`, rec.patient.id);
    this.deps.changed();
  }

  view(): NonNullable<AppState['stillComing']> {
    return [...this.following.values()].filter((f) => f.stillComing > 0).map((f) => ({ patientId: f.patientId, photos: f.stillComing, onArrival: f.plan === null ? 'wait' : 'send' }));
  }
}
