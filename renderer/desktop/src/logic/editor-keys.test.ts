import { describe, expect, it } from 'vitest';
import { editorKey, keyDrawStatus, START_KEY_DRAW } from './editor-keys';

describe('editorKey', () => {
  it('arrow keys move the point (Shift: bigger steps), clamped to the photo', () => {
    let s = START_KEY_DRAW;
    s = editorKey(s, 'arrow', 'ArrowRight', false).state;
    s = editorKey(s, 'arrow', 'ArrowDown', true).state;
    expect(s.cursor).toEqual({ x: 0.52, y: 0.6 });
    for (let i = 0; i < 10; i++) s = editorKey(s, 'arrow', 'ArrowLeft', true).state;
    expect(s.cursor.x).toBe(0);
  });

  it('two-point tools: Enter starts, Enter again ends and gives both points', () => {
    let r = editorKey(START_KEY_DRAW, 'crop', 'Enter', false);
    expect(r.place).toBeUndefined();
    expect(r.state.start).toEqual({ x: 0.5, y: 0.5 });
    r = editorKey(r.state, 'crop', 'ArrowRight', true);
    r = editorKey(r.state, 'crop', ' ', false);
    expect(r.place).toEqual({ start: { x: 0.5, y: 0.5 }, end: { x: 0.6, y: 0.5 } });
    expect(r.state.start).toBeNull();
  });

  it('text is placed with one Enter; other keys are not handled', () => {
    expect(editorKey(START_KEY_DRAW, 'text', 'Enter', false).place).toEqual({ start: { x: 0.5, y: 0.5 }, end: { x: 0.5, y: 0.5 } });
    expect(editorKey(START_KEY_DRAW, 'arrow', 'a', false).handled).toBe(false);
  });

  it('says where the point is and what Enter does next', () => {
    expect(keyDrawStatus(START_KEY_DRAW, 'circle')).toBe('Point at 50 % across, 50 % down. Enter starts the circle.');
    expect(keyDrawStatus({ ...START_KEY_DRAW, start: { x: 0, y: 0 } }, 'arrow')).toBe('Point at 50 % across, 50 % down. Enter ends the arrow.');
  });
});
