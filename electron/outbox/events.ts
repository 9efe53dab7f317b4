/** The outbox's event listeners: one that throws is logged and never stops the others or the outbox. */
import type { Logger } from 'pino';
import type { OutboxEvents } from './types';

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
