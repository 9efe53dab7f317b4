/** What every unit of an open outbox shares (settings, database and statements, keys, events), and field sealing. */
import type { OutboxKeys } from './crypto';
import type { DB } from './db';
import type { Fields, PayloadKind, Queries, Row } from './queries';
import type { OpenOutboxOptions, OutboxEvents } from './types';

/** The options with their defaults filled in, and what opening made. */
export type OutboxContext = Required<Pick<OpenOutboxOptions, 'fs' | 'clock' | 'random' | 'logger' | 'backoff' | 'retentionMs' | 'gateway'>> &
  Pick<OpenOutboxOptions, 'renameRetry'> & {
    payloadDir: string;
    db: DB;
    q: Queries;
    keys: OutboxKeys;
    events: Listeners<OutboxEvents>;
  };

export function sealFields(ctx: OutboxContext, imageId: string, f: Fields): Buffer {
  return ctx.keys.seal(Buffer.from(JSON.stringify(f), 'utf8'), `${imageId}:fields`);
}

export function openFields(ctx: OutboxContext, row: Row): Fields {
  return JSON.parse(ctx.keys.open(row.sealed, `${row.image_id}:fields`).toString('utf8')) as Fields;
}

export function payloadAad(imageId: string, kind: PayloadKind): string {
  return `${imageId}:${kind}`;
}

/** Typed listeners: one that throws is reported to `failed` and never stops the others or their owner. */
export class Listeners<Events> {
  private readonly sets = new Map<keyof Events, Set<(p: never) => void>>();

  constructor(private readonly failed: (err: unknown, event: keyof Events) => void) {}

  on<E extends keyof Events>(event: E, fn: (payload: Events[E]) => void): () => void {
    let set = this.sets.get(event);
    if (!set) this.sets.set(event, (set = new Set()));
    set.add(fn as (p: never) => void);
    return () => {
      set.delete(fn as (p: never) => void);
    };
  }

  emit<E extends keyof Events>(event: E, payload: Events[E]): void {
    for (const fn of this.sets.get(event) ?? []) {
      try {
        (fn as (p: Events[E]) => void)(payload);
      } catch (err) {
        this.failed(err, event);
      }
    }
  }

  count(event: keyof Events): number {
    return this.sets.get(event)?.size ?? 0;
  }

  clear(): void {
    this.sets.clear();
  }
}
