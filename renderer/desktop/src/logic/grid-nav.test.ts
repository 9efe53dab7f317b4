import { describe, expect, it } from 'vitest';
import { columnsOf, gridTarget, isGridKey } from './grid-nav';

describe('grid keyboard movement', () => {
  // 7 cards, 3 per row:   0 1 2
  //                       3 4 5
  //                       6
  it('Left/Right step along the order without wrapping at the ends', () => {
    expect(gridTarget('ArrowRight', 0, 7, 3)).toBe(1);
    expect(gridTarget('ArrowRight', 2, 7, 3)).toBe(3); // to the next row
    expect(gridTarget('ArrowLeft', 3, 7, 3)).toBe(2);
    expect(gridTarget('ArrowLeft', 0, 7, 3)).toBeNull();
    expect(gridTarget('ArrowRight', 6, 7, 3)).toBeNull();
  });

  it('Up/Down move a whole row, keeping the column', () => {
    expect(gridTarget('ArrowDown', 1, 7, 3)).toBe(4);
    expect(gridTarget('ArrowUp', 4, 7, 3)).toBe(1);
    expect(gridTarget('ArrowUp', 2, 7, 3)).toBeNull();
    expect(gridTarget('ArrowDown', 3, 7, 3)).toBe(6);
    // onto a shorter last row: the last card
    expect(gridTarget('ArrowDown', 5, 7, 3)).toBe(6);
    expect(gridTarget('ArrowDown', 6, 7, 3)).toBeNull();
    expect(gridTarget('ArrowUp', 6, 7, 3)).toBe(3);
  });

  it('Home/End go to the first and last card', () => {
    expect(gridTarget('Home', 5, 7, 3)).toBe(0);
    expect(gridTarget('End', 1, 7, 3)).toBe(6);
    expect(gridTarget('Home', 0, 7, 3)).toBeNull();
    expect(gridTarget('End', 6, 7, 3)).toBeNull();
  });

  it('one column behaves like a list; nonsense stays put', () => {
    expect(gridTarget('ArrowDown', 0, 3, 1)).toBe(1);
    expect(gridTarget('ArrowUp', 2, 3, 1)).toBe(1);
    expect(gridTarget('ArrowDown', 0, 3, 0)).toBe(1);
    expect(gridTarget('ArrowRight', 0, 0, 3)).toBeNull();
    expect(gridTarget('ArrowRight', 9, 3, 3)).toBeNull();
  });

  it('counts the columns of the first row from the cards’ top edges', () => {
    expect(columnsOf([10, 10, 10.5, 220, 220])).toBe(3);
    expect(columnsOf([10, 220, 430])).toBe(1);
    expect(columnsOf([])).toBe(1);
    expect(isGridKey('ArrowUp')).toBe(true);
    expect(isGridKey('Tab')).toBe(false);
  });
});
