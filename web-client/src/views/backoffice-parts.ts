// Pieces the back office's sections share: tables that scroll sideways on
// a phone (a focusable, named region, so a keyboard can scroll them too),
// a secret shown once with a copy button, and words for a refusal.

import { ApiError } from "../api";
import { h } from "../dom";

type Cell = string | number | Node;

/** What went wrong, for a section called `what`: an API not on this server yet is said as such. */
export function errorText(e: unknown, what: string): string {
  if (e instanceof ApiError) {
    if (e.status === 404 && (e.code === "not_found" || e.code === "method_not_allowed")) {
      return `${what} isn't available on this server yet.`;
    }
    if (e.code === "forbidden") return `Only the store's owners can see ${what.toLowerCase()}.`;
    return e.message;
  }
  return `${what} could not be loaded.`;
}

/** A table with a caption, in a region that scrolls sideways when the screen is narrow. */
export function scrollTable(caption: string, head: string[], rows: Cell[][], testid: string): HTMLElement {
  return h(
    "div",
    { class: "bo-scroll", role: "region", "aria-label": caption, tabindex: 0 },
    h(
      "table",
      { class: "bo-table", testid },
      h("caption", { class: "sr-only" }, caption),
      h("thead", null, h("tr", null, head.map((c) => h("th", { scope: "col" }, c)))),
      h(
        "tbody",
        null,
        rows.map((r) => h("tr", null, r.map((c, i) => (i === 0 ? h("th", { scope: "row" }, c) : h("td", null, c))))),
      ),
    ),
  );
}

/**
 * A secret shown once: the text, a copy button, and a word that it will not
 * be shown again. It takes the focus when shown (`tabindex=-1`), so that a
 * screen reader reads it out.
 */
export function secretBox(label: string, secret: string, testid: string): HTMLElement {
  const status = h("span", { class: "muted small", role: "status" });
  const code = h("code", { class: "bo-secret-text", testid }, secret);
  return h(
    "div",
    { class: "bo-secret", testid: `${testid}-box`, tabindex: -1 },
    h("p", null, h("strong", null, label), " Copy it now: it will not be shown again."),
    code,
    h(
      "div",
      { class: "bo-row" },
      h(
        "button",
        {
          type: "button",
          class: "secondary small",
          testid: `${testid}-copy`,
          onclick: async () => {
            try {
              await navigator.clipboard.writeText(secret);
              status.textContent = "Copied.";
            } catch {
              // No clipboard (an insecure page): select it for the reader to copy.
              getSelection()?.selectAllChildren(code);
              status.textContent = "Selected: copy it with your keyboard.";
            }
          },
        },
        "Copy",
      ),
      status,
    ),
  );
}

/** A date and time for a Unix ms, or a dash. */
export function when(at: number | null): string {
  return at === null ? "–" : new Date(at).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
