// The cart page's catalog card: search, pictures, prices, stock when it
// matters ("Only 5 left"), how many are in the cart, and Add (editors) or
// Suggest with a quantity and a note (the others). It loads again by itself
// when the connection comes back.

import { api, ApiError } from "../api";
import { h, mount } from "../dom";
import { money } from "../format";
import { Retrier } from "../retry";
import type { CartView, Product } from "../types";
import type { CartHost } from "./cart-host";

/** What is left in stock (less what this cart holds) shows as "Only N left" at or below this. */
export const LOW_STOCK = 10;

export class CatalogCard {
  readonly el: HTMLElement;
  readonly search = h("input", {
    type: "search",
    placeholder: "Search products",
    testid: "catalog-search",
    "aria-label": "Search the catalog",
  });
  private readonly list = h("div", { class: "catalog", testid: "catalog" });
  private readonly note = h("p", { class: "muted small", testid: "catalog-note", hidden: true });
  private products: Product[] = [];
  /** The store the cart buys from: its catalog is the one shown. */
  private storeId: string | undefined;
  private loaded = false;
  private readonly loader: Retrier;
  /** The product being suggested, with its quantity and note fields (kept across redraws). */
  private suggesting: { sku: string; qty: HTMLInputElement; note: HTMLInputElement } | undefined;

  constructor(
    private readonly host: CartHost,
    /** Called after an add, so the phone's cart bar can show it. */
    private readonly added: () => void,
  ) {
    this.loader = new Retrier(() => this.load());
    let searchTimer: number | undefined;
    this.search.addEventListener("input", () => {
      window.clearTimeout(searchTimer);
      searchTimer = window.setTimeout(() => this.loader.again(), 150);
    });
    this.el = h(
      "section",
      { class: "card", id: "cart-catalog", "aria-labelledby": "h-catalog", "data-area": "catalog" },
      h("h2", { id: "h-catalog", tabindex: -1 }, "Catalog"),
      this.search,
      this.note,
      this.list,
    );
    this.loader.again();
  }

  destroy(): void {
    this.loader.stop();
  }

  reload(): void {
    this.loader.again();
  }

  private async load(): Promise<boolean> {
    const q = this.search.value.trim();
    try {
      this.storeId ??= await api.cartStore(this.host.cartId);
      const { value: products, copy } = await api.catalog(this.storeId, q);
      if (q !== this.search.value.trim()) return true; // a newer search runs next
      this.products = products;
      this.loaded = true;
      for (const p of products) this.host.app.products.set(p.sku, p);
      this.note.hidden = !copy;
      this.note.textContent = copy ? "Showing the catalog as it was last loaded. Prices and stock may have changed." : "";
      this.host.render();
      return !copy;
    } catch (e) {
      this.note.hidden = false;
      if (e instanceof ApiError && !e.unreachable) {
        this.note.textContent = e.message;
        return true;
      }
      this.note.textContent = e instanceof ApiError ? e.message : "The catalog could not be loaded. Trying again…";
      this.host.render();
      return false;
    }
  }

  render(v: CartView): void {
    const canEdit = this.host.can("edit_lines");
    const canSuggest = this.host.can("suggest");
    if (this.products.length === 0) {
      mount(this.list, h("p", { class: "muted" }, this.loaded ? "No products match your search." : "Loading products…"));
      return;
    }
    const inCart = new Map(v.lines.map((l) => [l.sku, l.quantity]));
    mount(
      this.list,
      this.products.map((p) => {
        const have = inCart.get(p.sku) ?? 0;
        const full = p.stock <= 0 || have >= p.stock;
        const left = p.stock - have;
        const stockWords =
          p.stock <= 0 ? "Out of stock" : left <= 0 ? `All ${p.stock} are in the cart` : left <= LOW_STOCK ? `Only ${left} left` : "";
        return h(
          "div",
          { class: "product", testid: "product", "data-sku": p.sku, "data-key": `prod:${p.sku}` },
          h("img", { class: "product-img", src: p.image_url || `/images/${encodeURIComponent(p.sku)}.svg`, alt: "", loading: "lazy" }),
          h("div", { class: "product-name" }, p.name),
          h("div", { class: "muted small" }, money(p.price, p.currency)),
          stockWords ? h("div", { class: "stock-note", testid: "product-stock" }, stockWords) : null,
          p.group_buy
            ? h("div", { class: "deal small" }, `${money(p.group_buy.price, p.currency)} each from ${p.group_buy.min_quantity}`)
            : null,
          have > 0 ? h("div", { class: "in-cart small", testid: "product-in-cart" }, `${have} in the cart`) : null,
          canEdit ? this.addButton(p, have, full) : canSuggest ? (this.suggesting?.sku === p.sku ? this.suggestForm(p) : this.suggestButton(p)) : null,
        );
      }),
    );
  }

  private addButton(p: Product, have: number, full: boolean): HTMLElement {
    const { app } = this.host;
    return h(
      "button",
      {
        class: "primary small",
        testid: "product-add",
        "aria-label": `Add ${p.name}`,
        "aria-disabled": full ? "true" : "false",
        onclick: () => {
          if (full) {
            app.notify(p.stock <= 0 ? `${p.name} is out of stock.` : `There are only ${p.stock} of ${p.name} in stock.`, "info");
            return;
          }
          this.host.submit({ kind: "add_line", sku: p.sku, quantity: 1 });
          app.notify(`Added ${p.name} · ${have + 1} in the cart`, "info");
          this.added();
        },
      },
      "Add",
    );
  }

  private suggestButton(p: Product): HTMLElement {
    return h(
      "button",
      {
        class: "secondary small",
        testid: "product-suggest",
        "aria-label": `Suggest ${p.name}`,
        onclick: () => {
          const qty = h("input", { type: "number", min: 1, max: 999, value: 1, testid: "suggest-qty", "aria-label": `How many ${p.name}` });
          const note = h("input", { type: "text", maxlength: 500, testid: "suggest-note", placeholder: "Why? (optional)", "aria-label": `A note on ${p.name}` });
          this.suggesting = { sku: p.sku, qty, note };
          this.host.render();
          qty.focus();
          qty.select();
        },
      },
      "Suggest",
    );
  }

  /** How many, and why: a suggestion for the editors. */
  private suggestForm(p: Product): HTMLFormElement {
    const { app } = this.host;
    const { qty, note } = this.suggesting!;
    const close = () => {
      this.suggesting = undefined;
      this.host.render();
      (this.list.querySelector(`[data-key="prod:${CSS.escape(p.sku)}"] [data-testid="product-suggest"]`) as HTMLElement | null)?.focus();
    };
    return h(
      "form",
      {
        class: "suggest-form",
        testid: "suggest-form",
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          const quantity = Math.trunc(Number(qty.value));
          if (!(quantity >= 1 && quantity <= 999)) {
            app.notify("Quantities must stay between 1 and 999.");
            qty.focus();
            return;
          }
          const text = note.value.trim();
          this.host.submit({ kind: "suggest", sku: p.sku, quantity, ...(text ? { note: text } : {}) });
          app.notify(`You suggested ${p.name} × ${quantity}. An editor can add it to the cart.`, "info");
          close();
        },
        onkeydown: (ev: KeyboardEvent) => {
          if (ev.key === "Escape") close();
        },
      },
      qty,
      note,
      h(
        "div",
        { class: "suggest-actions" },
        h("button", { type: "submit", class: "secondary small", testid: "suggest-send" }, "Suggest"),
        h("button", { type: "button", class: "ghost small", onclick: close }, "Cancel"),
      ),
    );
  }
}
