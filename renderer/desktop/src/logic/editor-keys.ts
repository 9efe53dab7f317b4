/**
 * Drawing with the keyboard alone: arrow keys move a point (Shift: bigger steps), Enter or Space places it; arrow,
 * circle and crop take two points, text one. Pure, in fractions of the rotated photo.
 */
import type { Pt } from './geometry';

export type DrawTool = 'crop' | 'arrow' | 'circle' | 'text';

export interface KeyDraw {
  cursor: Pt;
  /** The first point, once placed (two-point tools). */
  start: Pt | null;
}

export const START_KEY_DRAW: KeyDraw = { cursor: { x: 0.5, y: 0.5 }, start: null };

const clamp = (v: number): number => Math.min(1, Math.max(0, Math.round(v * 1000) / 1000));

const MOVES: Record<string, [number, number]> = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

/** The next state for a key, and the two points to draw with when one is completed. `handled: false`: not ours. */
export function editorKey(state: KeyDraw, tool: DrawTool, key: string, shift: boolean): { state: KeyDraw; handled: boolean; place?: { start: Pt; end: Pt } } {
  const move = MOVES[key];
  if (move !== undefined) {
    const step = shift ? 0.1 : 0.02;
    return { state: { ...state, cursor: { x: clamp(state.cursor.x + move[0] * step), y: clamp(state.cursor.y + move[1] * step) } }, handled: true };
  }
  if (key !== 'Enter' && key !== ' ') return { state, handled: false };
  if (tool === 'text') return { state, handled: true, place: { start: state.cursor, end: state.cursor } };
  if (state.start === null) return { state: { ...state, start: state.cursor }, handled: true };
  return { state: { ...state, start: null }, handled: true, place: { start: state.start, end: state.cursor } };
}

/** What a screen reader hears after each key. */
export function keyDrawStatus(state: KeyDraw, tool: DrawTool): string {
  const at = `Point at ${Math.round(state.cursor.x * 100)} % across, ${Math.round(state.cursor.y * 100)} % down.`;
  const verb = tool === 'text' ? 'places' : state.start === null ? 'starts' : 'ends';
  return `${at} Enter ${verb} the ${tool}.`;
}
