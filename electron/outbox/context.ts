/** What every unit of an open outbox shares (settings, database and statements, keys, events), and field sealing. */
import type { Logger } from 'pino';
import type { CommitClient } from '../gateway-client';
import type { BackoffPolicy } from './outcome';
import type { OutboxKeys } from './crypto';
import type { DB } from './db';
import type { OutboxFs, RenameRetry } from './durable-fs';
import type { Fields, PayloadKind, Queries, Row } from './queries';
import type { Clock, OutboxEvents } from './types';

export interface OutboxContext {
  fs: OutboxFs;
  clock: Clock;
  random: () => number;
  logger: Logger;
  backoff: BackoffPolicy;
  retentionMs: number;
  maxPayloadBytes: number;
  newCorrelationId: () => string;
  renameRetry: RenameRetry | undefined;
  gateway: CommitClient;
  payloadDir: string;
  db: DB;
  q: Queries;
  keys: OutboxKeys;
  events: OutboxEmitter;
}

export function sealFields(ctx: OutboxContext, imageId: string, f: Fields): Buffer {
  return ctx.keys.seal(Buffer.from(JSON.stringify(f), 'utf8'), `${imageId}:fields`);
}

export function openFields(ctx: OutboxContext, row: Row): Fields {
  return JSON.parse(ctx.keys.open(row.sealed, `${row.image_id}:fields`).toString('utf8')) as Fields;
}

export function payloadAad(imageId: string, kind: PayloadKind): string {
  return `${imageId}:${kind}`;
}

/** A listener that throws is logged and never stops the others or the outbox. */
export class OutboxEmitter {
  private readonly listeners = new Map<keyof OutboxEvents, Set<(p: never) => void>>();

  constructor(private readonly logger: Logger) {}

  on<E extends keyof OutboxEvents>(event: E, fn: (payload: OutboxEvents[E]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn as (p: never) => void);
    return () => {
      set.delete(fn as (p: never) => void);
    };
  }

  emit<E extends keyof OutboxEvents>(event: E, payload: OutboxEvents[E]): void {
    for (const fn of this.listeners.get(event) ?? []) {
      try {
        (fn as (p: OutboxEvents[E]) => void)(payload);
      } catch (err) {
        this.logger.error({ err: (err as Error).name, event }, 'outbox listener threw');
      }
    }
  }
}
