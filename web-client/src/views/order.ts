// The order page (`#/order/{id}`): what was ordered at which price, where it
// goes, who pays what and whether it is paid, and the order's status. A
// cart's admin may cancel a pending order (the stock goes back and the cart
// reopens). The page asks the server again every few seconds, so a status
// or payment the store records shows up by itself.

import { ApiError } from "../api";
import type { App } from "../app";
import { checkoutApi } from "../checkout-api";
import { h, mount } from "../dom";
import { money } from "../format";
import type { OrderView } from "../generated";

const REFRESH_MS = 3_000;

const STATUS_WORDS: Record<OrderView["status"], string> = {
  pending: "Pending: the store has it",
  confirmed: "Confirmed by the store",
  fulfilled: "Fulfilled",
  cancelled: "Cancelled",
};

export class OrderPage {
  readonly el: HTMLElement;
  private readonly body = h("div", { class: "order-body" });
  private readonly timer: number;
  private order: OrderView | undefined;

  constructor(
    private readonly app: App,
    readonly orderId: string,
  ) {
    this.el = h("div", { class: "page order-page", testid: "order-page", "data-order-id": orderId }, this.body);
    mount(this.body, h("p", { class: "muted" }, "Loading the order…"));
    this.timer = window.setInterval(() => void this.load(), REFRESH_MS);
    void this.load();
  }

  destroy(): void {
    window.clearInterval(this.timer);
  }

  private async load(): Promise<void> {
    try {
      this.order = await checkoutApi.order(this.orderId);
      this.render();
    } catch (e) {
      if (this.order) return;
      mount(this.body, h("p", { class: "over", testid: "order-error" }, e instanceof ApiError ? e.message : "The order could not be loaded."));
    }
  }

  private render(): void {
    const o = this.order;
    if (!o) return;
    const m = (n: number) => money(n, o.currency);
    const short = o.id.slice(0, 8).toUpperCase();
    mount(
      this.body,
      h("a", { href: `#/cart/${o.cart_id}`, class: "link small" }, `← ${o.cart_name}`),
      h("h1", null, `Order ${short}`),
      h("p", null, h("span", { class: `badge status-${o.status}`, testid: "order-status", "data-status": o.status }, STATUS_WORDS[o.status]), o.paid ? h("span", { class: "badge paid", testid: "order-paid" }, "Paid") : null),
      h("p", { class: "muted small" }, `Placed by ${o.placed_by_name} on ${new Date(o.placed_at).toLocaleString()}`),
      h(
        "section",
        { class: "card" },
        h("h2", null, "Items"),
        h(
          "table",
          { class: "order-lines", testid: "order-lines" },
          h("tbody", null, o.lines.map((l) => h("tr", { "data-key": l.sku }, h("td", null, `${l.name} × ${l.quantity}`), h("td", { class: "muted small" }, l.owner_name), h("td", { class: "num" }, m(l.line_total))))),
          h(
            "tfoot",
            null,
            h("tr", null, h("td", { colspan: 2 }, "Items"), h("td", { class: "num" }, m(o.subtotal))),
            h("tr", null, h("td", { colspan: 2 }, "Shipping"), h("td", { class: "num" }, m(o.shipping))),
            h("tr", null, h("th", { colspan: 2 }, "Total"), h("th", { class: "num", testid: "order-total" }, m(o.total))),
          ),
        ),
      ),
      h(
        "section",
        { class: "card" },
        h("h2", null, "Shipping"),
        o.addresses.length === 0
          ? h("p", null, "Picked up at the store.")
          : h(
              "ul",
              null,
              o.addresses.map((a) =>
                h(
                  "li",
                  null,
                  h("strong", null, a.label),
                  ` ${a.name}, ${a.line1}, ${a.postal_code} ${a.city}, ${a.country} — `,
                  Object.entries(a.lines)
                    .map(([sku, n]) => `${o.lines.find((l) => l.sku === sku)?.name ?? sku} × ${n}`)
                    .join(", "),
                  ` · shipping ${a.shipping === 0 ? "free" : m(a.shipping)}`,
                ),
              ),
            ),
      ),
      h(
        "section",
        { class: "card" },
        h("h2", null, "Who pays"),
        h(
          "ul",
          { class: "shares", testid: "order-shares" },
          o.shares.map((s) =>
            h(
              "li",
              { "data-key": s.user_id, testid: `order-share-${s.user_id}` },
              h("span", null, s.name),
              h("span", null, m(s.amount)),
              h("span", { class: "muted small" }, s.paid_at ? "paid" : `${s.instructions} (ref. ${s.reference})`),
            ),
          ),
        ),
      ),
      o.status === "pending"
        ? h(
            "button",
            {
              class: "secondary",
              testid: "cancel-order",
              onclick: async () => {
                try {
                  this.order = await checkoutApi.setStatus(o.id, "cancelled");
                  this.app.notify("The order is cancelled; the cart is open again.", "info");
                  this.render();
                } catch (e) {
                  this.app.notify(e instanceof ApiError ? e.message : "The order could not be cancelled.");
                }
              },
            },
            "Cancel the order",
          )
        : null,
    );
  }
}
