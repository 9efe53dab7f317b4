export { openOutbox } from './outbox';
export type * from './types';
