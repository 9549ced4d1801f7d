// A tiny element builder: enough for small render functions, no framework.

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, unknown>;

/**
 * Creates an element. `on*` attributes with function values become event
 * listeners, `testid` becomes `data-testid`, booleans toggle attributes.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith("on") && typeof value === "function") {
        el.addEventListener(key.slice(2).toLowerCase(), value as EventListener);
      } else if (key === "testid") {
        el.setAttribute("data-testid", String(value));
      } else if (key === "class") {
        el.className = String(value);
      } else if (key === "value" && "value" in el) {
        (el as HTMLInputElement).value = String(value);
      } else if (value === true) {
        el.setAttribute(key, "");
      } else {
        el.setAttribute(key, String(value));
      }
    }
  }
  append(el, children);
  return el;
}

function append(el: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces every child of `el`. */
export function mount(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/**
 * Runs `draw`, then gives the focus back to the control that had it: the
 * one with the same `data-testid` in the row with the same `data-key`. When
 * that row is gone, the nearest heading of its section takes the focus, so
 * it never falls back to `<body>`.
 */
export function keepFocus(scope: HTMLElement, draw: () => void): void {
  const active = document.activeElement as HTMLElement | null;
  const inside = active && active !== document.body && scope.contains(active) ? active : undefined;
  const testid = inside?.getAttribute("data-testid");
  const row = inside?.closest("[data-key]")?.getAttribute("data-key") ?? undefined;
  const section = inside?.closest("section");
  draw();
  if (!inside) return;
  if (inside.isConnected) {
    // A field kept across redraws (a note being written) loses the focus
    // when the redraw moves it into a new row: give it back.
    if (document.activeElement !== inside) inside.focus({ preventScroll: true });
    return;
  }
  if (!testid) return;
  const selector = row
    ? `[data-key="${CSS.escape(row)}"] [data-testid="${CSS.escape(testid)}"]`
    : `[data-testid="${CSS.escape(testid)}"]`;
  const again = scope.querySelector(selector) as HTMLElement | null;
  if (again) {
    again.focus({ preventScroll: true });
    return;
  }
  const heading = (section?.isConnected ? section : undefined)?.querySelector("h2") as HTMLElement | null;
  if (heading) {
    if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
}
