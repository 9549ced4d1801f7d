// The back office's products (with their stock) and orders.

import { h, mount } from "../dom";
import { money } from "../format";
import { backofficeApi } from "../backoffice-api";
import { errorText, scrollTable, when } from "./backoffice-parts";

/** Stock at or under this is called low. */
const LOW_STOCK = 5;

function stockWords(stock: number): string {
  if (stock <= 0) return "Out of stock";
  if (stock <= LOW_STOCK) return `${stock} (low)`;
  return String(stock);
}

export function productsSection(store: string): HTMLElement {
  const body = h("div", null, h("p", { class: "muted" }, "Loading…"));
  void backofficeApi
    .products(store)
    .then((products) =>
      mount(
        body,
        products.length === 0
          ? h("p", { class: "muted" }, "The catalog is empty.")
          : scrollTable(
              "Products and stock",
              ["Product", "SKU", "Price", "Stock"],
              products.map((p) => [p.name, p.sku, money(p.price, p.currency), stockWords(p.stock)]),
              "bo-products",
            ),
      ),
    )
    .catch((e) => mount(body, h("p", { class: "form-error", role: "alert" }, errorText(e, "Products"))));
  return h(
    "section",
    { class: "card bo-section", "aria-labelledby": "bo-products-title", testid: "bo-products-section" },
    h("h2", { id: "bo-products-title" }, "Products"),
    body,
  );
}

export function ordersSection(store: string): HTMLElement {
  const body = h("div", null, h("p", { class: "muted" }, "Loading…"));
  void backofficeApi
    .orders(store)
    .then((orders) =>
      mount(
        body,
        orders.length === 0
          ? h("p", { class: "muted", testid: "bo-orders-empty" }, "No orders yet.")
          : scrollTable(
              "Orders, newest first",
              ["Order", "Placed", "Cart", "By", "Status", "Total"],
              orders.map((o) => [
                h("a", { href: `#/order/${o.id}` }, o.id.slice(0, 8)),
                when(o.placed_at),
                o.cart_name,
                o.placed_by_name,
                o.status,
                money(o.total, o.currency),
              ]),
              "bo-orders",
            ),
      ),
    )
    .catch((e) => mount(body, h("p", { class: "form-error", role: "alert" }, errorText(e, "Orders"))));
  return h(
    "section",
    { class: "card bo-section", "aria-labelledby": "bo-orders-title", testid: "bo-orders-section" },
    h("h2", { id: "bo-orders-title" }, "Orders"),
    body,
  );
}
