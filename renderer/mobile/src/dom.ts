/** A tiny element builder: no framework, no innerHTML (nothing from the network is ever parsed as HTML). */
type Child = Node | string | false | null | undefined;
export type Props = Record<string, string | number | boolean | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = String(v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  el.append(...present(children));
  return el;
}

/** Strings become text nodes (never parsed as HTML); false, null and undefined are skipped. */
const present = (children: Child[]): (Node | string)[] => children.filter((c): c is Node | string => c !== false && c !== null && c !== undefined);

export function replaceChildren(el: Element, ...children: Child[]): void {
  el.replaceChildren(...present(children));
}

/** A `type="button"` button with its click handler. */
export function button(cls: string, text: Child, onclick: () => void, props: Props = {}): HTMLButtonElement {
  return h('button', { type: 'button', class: cls, onclick, ...props }, text);
}
