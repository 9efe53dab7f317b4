/** Click, Ctrl/⌘-click, Shift-click and select all, inside ONE group, so "the selected images" never mix patients. */
export interface Selection {
  readonly ids: readonly string[];
  /** Where a Shift-click range starts. */
  readonly anchor: string | null;
}

export const EMPTY_SELECTION: Selection = { ids: [], anchor: null };

/** `order` is the clicked image's group, in display order; `toggle` is Ctrl on Windows, ⌘ on a Mac. */
export function clickSelect(sel: Selection, id: string, order: readonly string[], mods: { shift?: boolean; toggle?: boolean } = {}): Selection {
  if (!order.includes(id)) return sel;
  const sameGroup = sel.ids.every((x) => order.includes(x));
  if (!sameGroup || (!mods.shift && !mods.toggle)) return { ids: [id], anchor: id };
  if (mods.shift) {
    const anchor = sel.anchor !== null && order.includes(sel.anchor) ? sel.anchor : id;
    const a = order.indexOf(anchor);
    const b = order.indexOf(id);
    const [from, to] = a <= b ? [a, b] : [b, a];
    const range = order.slice(from, to + 1);
    const ids = mods.toggle ? unionInOrder(order, sel.ids, range) : range;
    return { ids, anchor };
  }
  const has = sel.ids.includes(id);
  const ids = has ? sel.ids.filter((x) => x !== id) : unionInOrder(order, sel.ids, [id]);
  return { ids, anchor: id };
}

function unionInOrder(order: readonly string[], a: readonly string[], b: readonly string[]): string[] {
  const set = new Set([...a, ...b]);
  return order.filter((x) => set.has(x));
}

export function selectAll(order: readonly string[]): Selection {
  return { ids: [...order], anchor: order[0] ?? null };
}

/** Drop ids that are gone (committed and wiped, removed), keeping the rest and the anchor if it survives. */
export function pruneSelection(sel: Selection, existing: readonly string[]): Selection {
  const ids = sel.ids.filter((x) => existing.includes(x));
  const anchor = sel.anchor !== null && existing.includes(sel.anchor) ? sel.anchor : (ids[0] ?? null);
  if (ids.length === sel.ids.length && anchor === sel.anchor) return sel;
  return { ids, anchor };
}

/** After a patient switch a selection of the previous patient's photos goes (Details never edits them unasked). */
export function selectionAfterSwitch(sel: Selection, workingIds: readonly string[]): Selection {
  return sel.ids.length > 0 && sel.ids.every((id) => workingIds.includes(id)) ? sel : EMPTY_SELECTION;
}
