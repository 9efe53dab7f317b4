/**
 * What every part of an open outbox shares: its settings, its database and statements, its keys and its events.
 * Built once by openOutbox and handed to each unit (enqueue, send, outcome, person actions, view, loop).
 */
import type { Logger } from 'pino';
import type { CommitClient } from '../gateway-client';
import type { BackoffPolicy } from './backoff';
import type { OutboxKeys } from './crypto';
import type { DB } from './db';
import type { OutboxFs, RenameRetry } from './durable-fs';
import type { OutboxEmitter } from './events';
import type { Fields, PayloadKind, Queries, Row } from './queries';
import type { Clock } from './types';

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
