import { describe, expect, it } from 'vitest';
import { EMPTY_SELECTION, clickSelect, pruneSelection, selectAll, selectionAfterSwitch } from './selection';

const order = ['a', 'b', 'c', 'd', 'e'];

describe('selection', () => {
  it('a plain click selects one image', () => {
    const s = clickSelect(selectAll(order), 'c', order);
    expect(s).toEqual({ ids: ['c'], anchor: 'c' });
  });

  it('Ctrl-click toggles, Shift-click selects a range from the anchor', () => {
    let s = clickSelect(EMPTY_SELECTION, 'b', order);
    s = clickSelect(s, 'd', order, { toggle: true });
    expect(s.ids).toEqual(['b', 'd']);
    s = clickSelect(s, 'b', order, { toggle: true });
    expect(s.ids).toEqual(['d']);
    s = clickSelect(clickSelect(EMPTY_SELECTION, 'b', order), 'e', order, { shift: true });
    expect(s).toEqual({ ids: ['b', 'c', 'd', 'e'], anchor: 'b' });
    // Range backwards from the same anchor.
    s = clickSelect(s, 'a', order, { shift: true });
    expect(s.ids).toEqual(['a', 'b']);
    // Ctrl+Shift adds a range to what is there.
    s = clickSelect({ ids: ['e'], anchor: 'a' }, 'b', order, { shift: true, toggle: true });
    expect(s.ids).toEqual(['a', 'b', 'e']);
  });

  it('never mixes groups (patients): a click in another group starts over', () => {
    const other = ['x', 'y'];
    const s = clickSelect({ ids: ['a', 'b'], anchor: 'a' }, 'y', other, { toggle: true });
    expect(s).toEqual({ ids: ['y'], anchor: 'y' });
    // An id that is not in the given group changes nothing.
    expect(clickSelect(s, 'a', other)).toBe(s);
  });

  it('select all, and pruning of images that are gone', () => {
    expect(selectAll(order)).toEqual({ ids: order, anchor: 'a' });
    expect(selectAll([])).toEqual(EMPTY_SELECTION);
    const s = { ids: ['a', 'c', 'e'], anchor: 'a' };
    expect(pruneSelection(s, ['c', 'd', 'e'])).toEqual({ ids: ['c', 'e'], anchor: 'c' });
    expect(pruneSelection(s, order)).toBe(s);
  });
});

describe('selectionAfterSwitch', () => {
  it("drops a selection of the previous patient's photos, keeps one of the new patient's", () => {
    expect(selectionAfterSwitch({ ids: ['old1'], anchor: 'old1' }, ['new1', 'new2'])).toEqual(EMPTY_SELECTION);
    expect(selectionAfterSwitch({ ids: ['new1'], anchor: 'new1' }, ['new1', 'new2'])).toEqual({ ids: ['new1'], anchor: 'new1' });
    expect(selectionAfterSwitch(EMPTY_SELECTION, ['new1'])).toEqual(EMPTY_SELECTION);
  });
});
