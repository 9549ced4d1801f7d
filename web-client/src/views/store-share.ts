// "Share with the shop", a section of the share dialog (./share.ts): when
// the store takes shared carts, a shopper (a guest too) gives a name, an
// e-mail and a message, and the store's staff get an e-mail and see the
// cart in their "shared with us" list. Hidden when the store does not
// take shared carts.

import { ApiError } from "../api";
import type { App } from "../app";
import { h } from "../dom";
import { storeApi } from "../store-api";

export function shopShareSection(app: App, cartId: string): HTMLElement {
  const name = h("input", { type: "text", required: true, maxlength: 60, testid: "shop-share-name", id: "shop-share-name", value: app.me.name });
  const email = h("input", { type: "email", required: true, maxlength: 254, testid: "shop-share-email", id: "shop-share-email", value: app.me.email ?? "" });
  const note = h("textarea", { rows: 3, maxlength: 1000, testid: "shop-share-message", id: "shop-share-message", placeholder: "What can the shop help with? (optional)" });
  const error = h("p", { class: "form-error", role: "alert", testid: "shop-share-error", hidden: true });
  const done = h("p", { class: "muted small", testid: "shop-share-done", hidden: true }, "Shared. The shop's staff can open your cart and help.");
  const form = h(
    "form",
    {
      testid: "shop-share-form",
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        error.hidden = true;
        try {
          await storeApi.shareWithStore(cartId, { name: name.value.trim(), email: email.value.trim(), message: note.value });
          done.hidden = false;
        } catch (e) {
          error.textContent = e instanceof ApiError ? e.message : String(e);
          error.hidden = false;
        }
      },
    },
    h("label", { class: "field", for: "shop-share-name" }, h("span", null, "Your name"), name),
    h("label", { class: "field", for: "shop-share-email" }, h("span", null, "Your e-mail"), email),
    h("label", { class: "field", for: "shop-share-message" }, h("span", null, "Message"), note),
    error,
    h("button", { type: "submit", testid: "shop-share-send" }, "Share with the shop"),
    done,
  );
  const section = h(
    "section",
    { "aria-labelledby": "shop-share-title", testid: "shop-share", hidden: true },
    h("h3", { id: "shop-share-title" }, "Share with the shop"),
    h("p", { class: "muted small" }, "The shop's staff see your cart and can edit it with you."),
    form,
  );
  void storeApi
    .settings()
    .then((s) => (section.hidden = !s.customer_shares))
    .catch(() => undefined);
  return section;
}
