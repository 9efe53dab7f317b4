export { openOutbox, GRANT_REASON } from './outbox';
export type * from './types';
export { backoffDelayMs, defaultBackoff, type BackoffPolicy } from './backoff';
export { nodeFs, type OutboxFs, type FileHandleLike, type RenameRetry } from './durable-fs';
export { OUTBOX_KEY_ACCOUNT } from './crypto';
export { toBridgeOutboxItem } from './bridge';
