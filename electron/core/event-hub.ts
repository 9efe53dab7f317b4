/**
 * The core's pushes (bridge events) and its state revision: `changed()` raises the revision and sends a full `state`
 * snapshot to whoever listens. A listener that throws is logged and never stops the others.
 */
import type { Logger } from 'pino';
import type { AppState, BridgeEvents } from '../../shared/contracts/bridge';
import { toAppError } from '../../shared/errors/app-error';
import { Listeners } from '../outbox/context';

export class EventHub extends Listeners<BridgeEvents> {
  private revisionNow = 0;

  /** `snapshot` is read only when a `state` listener exists, so it may name units composed after the hub. */
  constructor(
    log: Logger,
    private readonly snapshot: () => AppState,
  ) {
    super((err) => log.error({ err: toAppError(err).code }, 'event listener failed'));
  }

  get revision(): number {
    return this.revisionNow;
  }

  changed(): void {
    this.revisionNow += 1;
    if (this.count('state') > 0) this.emit('state', this.snapshot());
  }
}
