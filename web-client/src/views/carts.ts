// My carts: create, rename, open. The list loads again by itself when the
// connection comes back, when the tab gets the focus, and when the server
// says this person's carts changed (`carts_changed` over the socket), so a
// cart someone shared shows up without a reload.

import { api, ApiError } from "../api";
import type { App } from "../app";
import { h, keepFocus, mount } from "../dom";
import { money, plural } from "../format";
import { CARTS_CHANGED_EVENT, Retrier } from "../retry";
import type { CartSummary } from "../types";

export function renderCarts(app: App): HTMLElement {
  const list = h("ul", { class: "cart-list", testid: "cart-list" }, h("li", { class: "muted" }, "Loading your carts…"));
  const note = h("p", { class: "muted small", testid: "carts-note", hidden: true });
  const error = h("p", { class: "form-error", id: "new-cart-error", testid: "new-cart-error", hidden: true });
  const name = h("input", {
    type: "text",
    placeholder: "Name a new cart, e.g. Weekend BBQ",
    maxlength: 100,
    testid: "new-cart-name",
    "aria-label": "New cart name",
  });
  name.addEventListener("input", () => {
    error.hidden = true;
    name.removeAttribute("aria-invalid");
  });
  // Which store a new cart buys from, and each cart's store in the list:
  // shown once the server has more than one store.
  const store = h("select", { testid: "new-cart-store", "aria-label": "Store", hidden: true });
  const storeNames = new Map<string, string>();
  void api.stores().then(
    (stores) => {
      for (const s of stores) storeNames.set(s.id, s.name);
      mount(store, stores.map((s) => h("option", { value: s.id }, s.name)));
      store.hidden = stores.length < 2;
      if (shown) keepFocus(list, () => mount(list, shown!.map((c) => item(c))));
    },
    () => undefined, // one store or offline: carts go to the default store
  );
  /** The row being renamed, kept across refreshes of the list. */
  let editingId: string | undefined;
  let shown: CartSummary[] | undefined;

  const loader = new Retrier(async () => {
    if (!page.isConnected && shown) {
      stop();
      return true;
    }
    try {
      const { value: carts, copy } = await api.carts();
      note.hidden = !copy;
      note.textContent = copy ? "Showing your carts as they were last loaded on this device." : "";
      show(carts);
      return !copy;
    } catch (e) {
      if (e instanceof ApiError && !e.unreachable) {
        mount(list, h("li", { class: "muted" }, e.message));
        return true;
      }
      note.hidden = false;
      note.textContent = e instanceof ApiError ? e.message : "Could not load your carts. Trying again…";
      if (!shown) mount(list, h("li", { class: "muted" }, "Your carts will show here as soon as Cartroom answers."));
      return false;
    }
  }, [CARTS_CHANGED_EVENT]);
  const stop = () => loader.stop();

  const show = (carts: CartSummary[]) => {
    if (editingId !== undefined) return;
    const same = JSON.stringify(carts) === JSON.stringify(shown);
    shown = carts;
    if (same && list.querySelector("[data-testid=cart-item], .empty")) return;
    if (carts.length === 0) {
      mount(list, h("li", { class: "empty" }, "No carts yet. Create one above and invite people to it."));
      return;
    }
    keepFocus(list, () => mount(list, carts.map((c) => item(c))));
  };

  const item = (c: CartSummary): HTMLElement => {
    const li = h("li", { class: "cart-item", testid: "cart-item", "data-cart-id": c.id, "data-key": `cart:${c.id}` });
    const normal = () =>
      mount(
        li,
        h(
          "a",
          { class: "cart-open", href: `#/cart/${c.id}`, testid: "cart-open" },
          h("span", { class: "cart-title" }, c.name),
          h(
            "span",
            { class: "cart-meta" },
            [storeNames.size > 1 ? storeNames.get(c.store_id) : undefined, plural(c.line_count, "product"), money(c.subtotal, c.currency)]
              .filter(Boolean)
              .join(" · "),
          ),
        ),
        h("span", { class: `badge role-${c.role}` }, c.role),
        c.capabilities.includes("rename")
          ? h("button", { class: "ghost small", testid: "cart-rename", "aria-label": `Rename ${c.name}`, onclick: () => editing() }, "Rename")
          : null,
      );
    const editing = () => {
      editingId = c.id;
      const input = h("input", { type: "text", value: c.name, maxlength: 100, testid: "cart-rename-input", "aria-label": "Cart name" });
      const rowError = h("p", { class: "form-error", testid: "cart-rename-error", hidden: true, id: `rename-error-${c.id}` });
      const done = () => {
        editingId = undefined;
        normal();
        (li.querySelector('[data-testid="cart-rename"]') as HTMLElement | null)?.focus();
      };
      mount(
        li,
        h(
          "form",
          {
            class: "inline-form",
            onsubmit: async (ev: Event) => {
              ev.preventDefault();
              const newName = input.value.trim();
              if (!newName) {
                rowError.textContent = "Give the cart a name.";
                rowError.hidden = false;
                input.setAttribute("aria-invalid", "true");
                input.setAttribute("aria-describedby", rowError.id);
                input.focus();
                return;
              }
              try {
                await api.renameCart(c.id, newName);
                c.name = newName;
                done();
              } catch (e) {
                app.notify(e instanceof ApiError ? e.message : "Could not rename the cart.");
              }
            },
          },
          input,
          h("button", { type: "submit", class: "primary small", testid: "cart-rename-save" }, "Save"),
          h("button", { type: "button", class: "ghost small", onclick: done }, "Cancel"),
          rowError,
        ),
      );
      input.focus();
      input.select();
    };
    normal();
    return li;
  };

  const page = h(
    "div",
    { class: "page narrow", testid: "carts-page" },
    h("h1", null, "My carts"),
    h(
      "form",
      {
        class: "card create-cart",
        novalidate: true,
        onsubmit: async (ev: Event) => {
          ev.preventDefault();
          const n = name.value.trim();
          if (!n) {
            error.textContent = "Give the cart a name, e.g. Weekend BBQ.";
            error.hidden = false;
            name.setAttribute("aria-invalid", "true");
            name.setAttribute("aria-describedby", error.id);
            name.focus();
            return;
          }
          try {
            const cart = await api.createCart(n, store.hidden ? undefined : store.value);
            // The answer says what the creator may do: the page offers it at
            // once rather than after `subscribed`.
            app.live.open(cart.id).grant(cart.role, cart.capabilities);
            stop();
            app.go(`#/cart/${cart.id}`);
          } catch (e) {
            app.notify(e instanceof ApiError ? e.message : "Could not create the cart.");
          }
        },
      },
      h("div", { class: "create-row" }, name, store, h("button", { type: "submit", class: "primary", testid: "create-cart" }, "Create cart")),
      error,
    ),
    note,
    list,
  );
  loader.again();
  return page;
}
