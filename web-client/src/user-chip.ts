// The top bar's user chip: who is signed in, *Create account* for a guest,
// *Sign out*, and the warning a guest gets before signing out (a guest
// cannot sign in again).

import type { App } from "./app";
import { h, mount } from "./dom";

/** Draws `app.me` into `chip`; a guest's sign-out warning goes into `warning`. */
export function renderUserChip(app: App, chip: HTMLElement, warning: HTMLElement): void {
  const me = app.me;
  mount(
    chip,
    h("span", { class: "who", testid: "me-name", title: me.email ?? "guest" }, me.name, me.guest ? h("span", { class: "tag" }, "guest") : null),
    me.guest ? h("a", { class: "link", href: "#/account", testid: "upgrade" }, "Create account") : null,
    h(
      "button",
      {
        class: "link",
        testid: "signout",
        onclick: () => (me.guest ? warnGuest(app, chip, warning) : app.signOut()),
      },
      "Sign out",
    ),
  );
}

/** A guest who signs out cannot come back to their carts: say so first. */
function warnGuest(app: App, chip: HTMLElement, warning: HTMLElement): void {
  const close = () => {
    warning.hidden = true;
    (chip.querySelector('[data-testid="signout"]') as HTMLElement | null)?.focus();
  };
  const keep = h(
    "a",
    { class: "button primary", href: "#/account", testid: "guest-keep", onclick: () => (warning.hidden = true) },
    "Create an account",
  );
  mount(
    warning,
    h(
      "div",
      { class: "guest-warning-box", role: "dialog", "aria-labelledby": "guest-warning-title", testid: "guest-warning" },
      h("h2", { id: "guest-warning-title" }, "Sign out of a guest account?"),
      h(
        "p",
        null,
        "A guest can't sign in again: your carts will be lost to you. Create an account to keep them — it takes a minute, and your carts come with you.",
      ),
      h(
        "div",
        { class: "actions" },
        keep,
        h("button", { class: "danger", testid: "guest-signout-confirm", onclick: () => app.signOut() }, "Sign out and lose them"),
        h("button", { class: "ghost", testid: "guest-signout-cancel", onclick: close }, "Cancel"),
      ),
    ),
  );
  warning.hidden = false;
  keep.focus();
}
