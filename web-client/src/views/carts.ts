// My carts: create, rename, open.

import { api, ApiError } from "../api";
import type { App } from "../app";
import { h, mount } from "../dom";
import { money, plural } from "../format";
import type { CartSummary } from "../types";

export function renderCarts(app: App): HTMLElement {
  const list = h("ul", { class: "cart-list", testid: "cart-list" }, h("li", { class: "muted" }, "Loading your carts…"));
  const name = h("input", {
    type: "text",
    placeholder: "Name a new cart, e.g. Weekend BBQ",
    maxlength: 100,
    required: true,
    testid: "new-cart-name",
    "aria-label": "New cart name",
  });

  const load = async () => {
    try {
      const carts = await api.carts();
      show(carts);
    } catch (e) {
      mount(list, h("li", { class: "muted" }, e instanceof ApiError ? e.message : "Could not load your carts."));
    }
  };

  const show = (carts: CartSummary[]) => {
    if (carts.length === 0) {
      mount(list, h("li", { class: "empty" }, "No carts yet. Create one above and invite people to it."));
      return;
    }
    mount(list, carts.map((c) => item(c)));
  };

  const item = (c: CartSummary): HTMLElement => {
    const li = h("li", { class: "cart-item", testid: "cart-item", "data-cart-id": c.id });
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
            `${plural(c.line_count, "product")} · ${money(c.subtotal, c.currency)}`,
          ),
        ),
        h("span", { class: `badge role-${c.role}` }, c.role),
        c.capabilities.includes("rename")
          ? h("button", { class: "ghost small", testid: "cart-rename", onclick: () => editing() }, "Rename")
          : null,
      );
    const editing = () => {
      const input = h("input", { type: "text", value: c.name, maxlength: 100, required: true, testid: "cart-rename-input" });
      mount(
        li,
        h(
          "form",
          {
            class: "inline-form",
            onsubmit: async (ev: Event) => {
              ev.preventDefault();
              const newName = input.value.trim();
              if (!newName) return;
              try {
                await api.renameCart(c.id, newName);
                c.name = newName;
                normal();
              } catch (e) {
                app.notify(e instanceof ApiError ? e.message : "Could not rename the cart.");
              }
            },
          },
          input,
          h("button", { type: "submit", class: "primary small", testid: "cart-rename-save" }, "Save"),
          h("button", { type: "button", class: "ghost small", onclick: () => normal() }, "Cancel"),
        ),
      );
      input.focus();
      input.select();
    };
    normal();
    return li;
  };

  void load();

  return h(
    "div",
    { class: "page narrow", testid: "carts-page" },
    h("h1", null, "My carts"),
    h(
      "form",
      {
        class: "card create-cart",
        onsubmit: async (ev: Event) => {
          ev.preventDefault();
          const n = name.value.trim();
          if (!n) return;
          try {
            const cart = await api.createCart(n);
            // The answer says what the creator may do: the page offers it at
            // once rather than after `subscribed`.
            app.live.open(cart.id).grant(cart.role, cart.capabilities);
            app.go(`#/cart/${cart.id}`);
          } catch (e) {
            app.notify(e instanceof ApiError ? e.message : "Could not create the cart.");
          }
        },
      },
      name,
      h("button", { type: "submit", class: "primary", testid: "create-cart" }, "Create cart"),
    ),
    list,
  );
}
