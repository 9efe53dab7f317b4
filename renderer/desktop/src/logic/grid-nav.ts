/**
 * Arrow-key movement between image cards in a wrapping grid (roving tabindex: one card of a group is in the Tab
 * order, the arrows move between them). Pure: the component measures the layout and passes it in.
 */
export const GRID_KEYS = ['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End'] as const;
export type GridKey = (typeof GRID_KEYS)[number];

export function isGridKey(key: string): key is GridKey {
  return (GRID_KEYS as readonly string[]).includes(key);
}

/** How many cards sit in the first row, from each card's top edge in display order (at least 1). */
export function columnsOf(tops: readonly number[]): number {
  if (tops.length === 0) return 1;
  const first = tops[0]!;
  let n = 0;
  while (n < tops.length && Math.abs(tops[n]! - first) < 2) n += 1;
  return Math.max(1, n);
}

/**
 * The card to move to from `index` (of `count`, laid out `columns` per row), or null to stay.
 * Left/Right step along the order (no wrap at the ends), Up/Down move a row keeping the column (Down onto a
 * shorter last row lands on its last card), Home/End go to the first/last card.
 */
export function gridTarget(key: GridKey, index: number, count: number, columns: number): number | null {
  if (count <= 0 || index < 0 || index >= count) return null;
  const cols = Math.max(1, Math.floor(columns));
  let to: number | null;
  switch (key) {
    case 'ArrowLeft':
      to = index > 0 ? index - 1 : null;
      break;
    case 'ArrowRight':
      to = index < count - 1 ? index + 1 : null;
      break;
    case 'ArrowUp':
      to = index - cols >= 0 ? index - cols : null;
      break;
    case 'ArrowDown': {
      const lastRow = Math.floor((count - 1) / cols);
      if (index + cols < count) to = index + cols;
      else to = Math.floor(index / cols) < lastRow ? count - 1 : null;
      break;
    }
    case 'Home':
      to = 0;
      break;
    case 'End':
      to = count - 1;
      break;
  }
  return to === index ? null : to;
}
