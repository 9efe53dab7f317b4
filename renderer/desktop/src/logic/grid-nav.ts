/** Arrow-key movement between image cards in a wrapping grid. Pure: the component measures the layout and passes it in. */
const GRID_KEYS = ['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End'] as const;
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
 * The card to move to from `index` (of `count`, `columns` per row), or null to stay. No wrap at the ends; Down onto
 * a shorter last row lands on its last card.
 */
export function gridTarget(key: GridKey, index: number, count: number, columns: number): number | null {
  if (count <= 0 || index < 0 || index >= count) return null;
  const cols = Math.max(1, Math.floor(columns));
  const onLastRow = Math.floor(index / cols) === Math.floor((count - 1) / cols);
  const targets: Record<GridKey, number | null> = {
    ArrowLeft: index > 0 ? index - 1 : null,
    ArrowRight: index < count - 1 ? index + 1 : null,
    ArrowUp: index - cols >= 0 ? index - cols : null,
    ArrowDown: index + cols < count ? index + cols : onLastRow ? null : count - 1,
    Home: 0,
    End: count - 1,
  };
  const to = targets[key];
  return to === index ? null : to;
}
