/**
 * One knob for the hard suite: `HARD_SCALE=full` (set by `npm run test:hard`) runs every check at its full
 * size; without it the same code paths run at a short size inside the default `vitest run`.
 */
export const FULL = process.env.HARD_SCALE === 'full';

/** The full-size count under `HARD_SCALE=full`, else the short one. */
export const scaled = (full: number, short: number): number => (FULL ? full : short);
