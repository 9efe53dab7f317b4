export * from './client';
export { compile, type Checker } from './validate';
export { createDpopProof, dpopThumbprint, exportDpopKey, generateDpopKey, importDpopKey, type DpopKey, type ProofOptions } from './dpop';
