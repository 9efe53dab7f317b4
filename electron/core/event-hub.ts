/**
 * The core's pushes (bridge events) and its state revision: `changed()` raises the revision and sends a full `state`
 * snapshot to whoever listens. A listener that throws is logged and never stops the others.
 */
import type { Logger } from 'pino';
import type { AppState, BridgeEventName, BridgeEvents, Unsubscribe } from '../../shared/contracts/bridge';
import { toAppError } from '../../shared/errors/app-error';

export class EventHub {
  private readonly listeners = new Map<BridgeEventName, Set<(p: unknown) => void>>();
  private revisionNow = 0;

  /** `snapshot` is read only when a `state` listener exists, so it may name units composed after the hub. */
  constructor(
    private readonly log: Logger,
    private readonly snapshot: () => AppState,
  ) {}

  get revision(): number {
    return this.revisionNow;
  }

  on<E extends BridgeEventName>(event: E, listener: (payload: BridgeEvents[E]) => void): Unsubscribe {
    let set = this.listeners.get(event);
    if (set === undefined) this.listeners.set(event, (set = new Set()));
    const fn = listener as (p: unknown) => void;
    set.add(fn);
    return () => set.delete(fn);
  }

  emit<E extends BridgeEventName>(event: E, payload: BridgeEvents[E]): void {
    for (const fn of this.listeners.get(event) ?? []) {
      try {
        fn(payload);
      } catch (err) {
        this.log.error({ err: toAppError(err).code }, 'event listener failed');
      }
    }
  }

  changed(): void {
    this.revisionNow += 1;
    if ((this.listeners.get('state')?.size ?? 0) > 0) this.emit('state', this.snapshot());
  }

  clear(): void {
    this.listeners.clear();
  }
}
