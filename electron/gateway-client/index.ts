export * from './client';
export { exportDpopKey, generateDpopKey, importDpopKey } from './dpop';
