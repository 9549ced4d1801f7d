// What the page says to the person at the keyboard: the one polite live
// region (`#announcer`) and the stack of notices (at most three, each said
// through the announcer; the stack itself is not live).

import { h } from "./dom";

const announcer = h("div", { id: "announcer", class: "sr-only", "aria-live": "polite", testid: "announcer" });
// Notices are shown here and said through the announcer: the stack itself is not live.
const toasts = h("div", { class: "toasts", testid: "toasts" });
document.body.append(announcer, toasts);

/** At most this many notices at once; the oldest goes first. */
const MAX_TOASTS = 3;
const TOAST_MS = 5_000;

/** Says `text` once through the page's one live region. */
export function announce(text: string): void {
  // Emptied first, so that the same sentence twice is said twice.
  announcer.textContent = "";
  window.setTimeout(() => (announcer.textContent = text), 50);
}

export function notify(text: string, kind: "error" | "info" = "error"): void {
  announce(text);
  // One notice per condition: the same words again only keep it longer.
  const same = [...toasts.children].find((t) => t.textContent === text) as HTMLElement | undefined;
  const t = same ?? h("div", { class: `toast ${kind}`, testid: kind === "error" ? "error-toast" : "info-toast" }, text);
  if (same) {
    same.classList.remove("fade");
    window.clearTimeout(Number(same.dataset.fadeTimer));
    window.clearTimeout(Number(same.dataset.removeTimer));
    same.dataset.repeats = String(Number(same.dataset.repeats ?? "1") + 1);
  } else {
    toasts.appendChild(t);
    while (toasts.children.length > MAX_TOASTS) toasts.firstElementChild?.remove();
  }
  t.dataset.fadeTimer = String(window.setTimeout(() => t.classList.add("fade"), TOAST_MS - 500));
  t.dataset.removeTimer = String(window.setTimeout(() => t.remove(), TOAST_MS));
}
