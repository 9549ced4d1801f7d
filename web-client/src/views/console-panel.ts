// The support console's cart panel: the customer's carts in the agent's
// stores, grouped by store; per line the product's picture, name, price
// (and the group-buy discount), stock, quantity and total; two lines per
// cart with "Show more"; the cart's subtotal. Each cart is watched over the
// socket, and a change loads the panel again, so it is always current.
//
// Takeover: "Take over" asks the shopper (or starts at once when the store
// waives consent); "Enter a help code" takes over the cart of a guest who
// read one out; during the agent's takeover, "Edit the cart" opens the cart
// page (where the agent is an editor) and "Hand back" ends it.
//
// History: the cart as it was at an earlier moment (when the conversation
// started, or any time), and what changed since and by whom.

import { ApiError } from "../api";
import type { App } from "../app";
import { h, keepFocus, mount } from "../dom";
import { money, plural } from "../format";
import { clock } from "../chat-widget";
import { supportApi, type HistoryResponse, type Conversation, type PanelCart, type PanelLine, type PanelStore, type Takeover } from "../support-api";
import { spaced } from "../takeover-banner";

/** A history change's op kind in words. */
const CHANGE_WORDS: Record<string, string> = {
  add_line: "added an item",
  change_quantity: "changed a quantity",
  set_quantity: "set a quantity",
  remove_line: "removed an item",
  set_line_note: "wrote a note on an item",
  set_cart_note: "wrote the cart's note",
  rename: "renamed the cart",
  suggest: "suggested an item",
  vote: "voted on a suggestion",
  accept_suggestion: "accepted a suggestion",
  reject_suggestion: "rejected a suggestion",
  withdraw_suggestion: "withdrew a suggestion",
};

/** Lines fetched by each "Show more". */
const MORE_LINES = 20;

const STOCK_WORDS: Record<PanelLine["stock"], string> = {
  in_stock: "In stock",
  low: "Low stock",
  out_of_stock: "Out of stock",
};

export class CartPanel {
  readonly el: HTMLElement;
  private readonly body = h("div", { class: "panel-body", testid: "panel-body" });
  private readonly codeInput = h("input", {
    type: "text",
    id: "help-code-input",
    inputmode: "numeric",
    autocomplete: "off",
    maxlength: 7,
    testid: "help-code-input",
  });
  private readonly codeError = h("p", { class: "form-error", testid: "help-code-error", hidden: true });
  /** What the last help code gave: a link to the cart taken over. */
  private readonly codeResult = h("p", { class: "small", testid: "help-code-result", hidden: true });
  private conversation: Conversation | undefined;
  private stores: PanelStore[] = [];
  /** Lines fetched beyond the first two, by cart. */
  private readonly extra = new Map<string, PanelLine[]>();
  /** The takeovers this page knows of, by cart. */
  private readonly takeovers = new Map<string, Takeover>();
  /** The history being shown, by cart. */
  private readonly histories = new Map<string, { at: number; history?: HistoryResponse; error?: string }>();
  private readonly watched = new Set<string>();
  /** The history's time fields, by cart: kept across redraws, so a time being typed stays. */
  private readonly historyInputs = new Map<string, HTMLInputElement>();
  /** The history part drawn for each cart: a redraw keeps it open if it is
   * open now (read from the element: its toggle event comes a task later). */
  private readonly historyParts = new Map<string, HTMLDetailsElement>();
  /** The stores where this agent may take over carts (the customer update right). */
  private mayTakeOver = new Set<string>();
  private readonly codeForm: HTMLFormElement;
  private error: string | undefined;
  private loading = false;
  private again = false;

  constructor(private readonly app: App) {
    this.el = h(
      "section",
      { class: "card console-panel", "aria-labelledby": "h-panel", testid: "cart-panel" },
      h("h2", { id: "h-panel", tabindex: -1 }, "Customer's carts"),
      (this.codeForm = h(
        "form",
        { class: "help-code-form", testid: "help-code-form", hidden: true, onsubmit: (ev: Event) => void this.useCode(ev) },
        h("label", { for: "help-code-input", class: "field-label" }, "Help code from a shopper"),
        h("div", { class: "reply-row" }, this.codeInput, h("button", { type: "submit", class: "secondary", testid: "help-code-submit" }, "Take over")),
        this.codeError,
        this.codeResult,
      )),
      this.body,
    );
    this.show(undefined);
  }

  destroy(): void {
    this.unwatch();
  }

  /** Where the agent may take over carts: the help code form shows when anywhere. */
  allow(stores: Set<string>): void {
    this.mayTakeOver = stores;
    this.codeForm.hidden = stores.size === 0;
    this.draw();
  }

  show(c: Conversation | undefined): void {
    const other = c?.id !== this.conversation?.id;
    this.conversation = c;
    if (other) {
      this.unwatch();
      this.stores = [];
      this.extra.clear();
      this.histories.clear();
      this.historyInputs.clear();
      this.historyParts.clear();
      this.error = undefined;
    }
    if (!c) {
      mount(this.body, h("p", { class: "muted" }, "The carts of the customer you choose show here, live."));
      return;
    }
    if (other) mount(this.body, h("p", { class: "muted" }, "Loading the carts…"));
    void this.load();
  }

  /** A watched cart changed: the panel loads again. */
  changed(cartId: string): void {
    if (this.watched.has(cartId)) void this.load();
  }

  /** A takeover frame: the cart's controls follow it. */
  takeoverFrame(t: Takeover): void {
    this.takeovers.set(t.cart_id, t);
    this.draw();
  }

  private unwatch(): void {
    for (const id of this.watched) this.app.live.close(id);
    this.watched.clear();
  }

  private async load(): Promise<void> {
    const c = this.conversation;
    if (!c) return;
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    try {
      const stores = await supportApi.panel(c.id);
      if (this.conversation?.id !== c.id) return;
      this.stores = stores;
      this.error = undefined;
      for (const s of stores) {
        for (const cart of s.carts) {
          if (this.watched.has(cart.cart_id)) continue;
          this.watched.add(cart.cart_id);
          this.app.live.open(cart.cart_id);
          // A takeover asked for or started before this page was opened.
          void supportApi
            .openTakeover(cart.cart_id)
            .then((t) => {
              if (t && !this.takeovers.has(cart.cart_id)) this.takeoverFrame(t);
            })
            .catch(() => undefined);
        }
      }
      // Lines fetched with "Show more" are fetched again, so they stay current too.
      for (const [cartId, lines] of this.extra) {
        if (lines.length > 0) this.extra.set(cartId, await supportApi.lines(c.id, cartId, 2, lines.length));
      }
    } catch (e) {
      this.error = e instanceof ApiError ? e.message : "The carts could not be loaded.";
    } finally {
      this.loading = false;
    }
    this.draw();
    if (this.again) {
      this.again = false;
      void this.load();
    }
  }

  private draw(): void {
    if (!this.conversation) return;
    keepFocus(this.el, () => {
      if (this.error) {
        mount(this.body, h("p", { class: "form-error", testid: "panel-error" }, this.error));
        return;
      }
      const carts = this.stores.reduce((n, s) => n + s.carts.length, 0);
      mount(
        this.body,
        carts === 0 ? h("p", { class: "muted", testid: "panel-empty" }, "This customer has no carts in your stores.") : null,
        this.stores
          .filter((s) => s.carts.length > 0)
          .map((s) =>
            h(
              "div",
              { class: "panel-store", testid: "panel-store", "data-store-id": s.store_id },
              h("h3", { class: "panel-store-name" }, s.store_name),
              s.carts.map((cart) => this.cart(s, cart)),
              s.truncated ? h("p", { class: "muted small" }, "Only the first 250 lines of this store are shown.") : null,
            ),
          ),
      );
    });
  }

  private cart(store: PanelStore, cart: PanelCart): HTMLElement {
    const lines = [...cart.lines, ...(this.extra.get(cart.cart_id) ?? [])];
    const more = cart.more && lines.length < cart.line_count;
    const headingId = `panel-cart-${cart.cart_id}`;
    return h(
      "article",
      { class: "panel-cart", testid: "panel-cart", "data-cart-id": cart.cart_id, "data-key": `cart:${cart.cart_id}`, "aria-labelledby": headingId },
      h(
        "div",
        { class: "panel-cart-head" },
        h("h4", { id: headingId, class: "panel-cart-name" }, cart.name || "Untitled cart"),
        h("span", { class: "muted small", testid: "panel-line-count" }, plural(cart.line_count, "line")),
      ),
      lines.length === 0
        ? h("p", { class: "muted small" }, "The cart is empty.")
        : h("ul", { class: "panel-lines", "aria-label": `Items in ${cart.name || "the cart"}` }, lines.map((l) => this.line(l, store.currency))),
      more
        ? h(
            "button",
            { class: "ghost small", testid: "panel-more", onclick: () => void this.more(cart, lines.length) },
            `Show more (${cart.line_count - lines.length})`,
          )
        : null,
      h(
        "p",
        { class: "panel-subtotal" },
        h("span", null, "Subtotal"),
        h("strong", { testid: "panel-subtotal", "data-minor": cart.subtotal }, money(cart.subtotal, store.currency)),
      ),
      this.takeoverControls(store, cart),
      this.historyControls(cart, store.currency),
    );
  }

  private line(l: PanelLine, currency: string): HTMLElement {
    return h(
      "li",
      { class: "panel-line", testid: "panel-line", "data-sku": l.sku, "data-key": `line:${l.line_id}` },
      h("img", { class: "thumb", src: l.image_url || `/images/${encodeURIComponent(l.sku)}.svg`, alt: "", loading: "lazy" }),
      h(
        "div",
        { class: "line-main" },
        h("div", { class: "line-name", testid: "panel-line-name" }, l.name),
        h(
          "div",
          { class: "muted small" },
          l.discount > 0
            ? [h("s", null, money(l.price, currency)), " ", h("span", { class: "deal" }, `${money(l.unit_price, currency)} group-buy price`)]
            : `${money(l.unit_price, currency)} each`,
        ),
        h("span", { class: `stock stock-${l.stock}`, testid: "panel-line-stock" }, STOCK_WORDS[l.stock]),
      ),
      h("span", { class: "qty readonly" }, "× ", h("span", { testid: "panel-line-qty" }, l.quantity)),
      h("span", { class: "line-total", testid: "panel-line-total" }, money(l.line_total, currency)),
    );
  }

  private async more(cart: PanelCart, shown: number): Promise<void> {
    const c = this.conversation;
    if (!c) return;
    try {
      const lines = await supportApi.lines(c.id, cart.cart_id, shown, MORE_LINES);
      this.extra.set(cart.cart_id, [...(this.extra.get(cart.cart_id) ?? []), ...lines]);
      this.draw();
    } catch (e) {
      this.app.notify(e instanceof ApiError ? e.message : "More lines could not be loaded.");
    }
  }

  private takeoverControls(store: PanelStore, cart: PanelCart): HTMLElement {
    const t = this.takeovers.get(cart.cart_id);
    const mine = t?.agent_id === this.app.me.id;
    const may = this.mayTakeOver.has(store.store_id);
    let body: (HTMLElement | string)[];
    if (t?.status === "active" && mine) {
      body = [
        h("span", { class: "takeover-state", testid: "takeover-state", "data-status": "active" }, "You have this cart."),
        h("a", { class: "button primary small", href: `#/cart/${cart.cart_id}`, testid: "takeover-edit" }, "Edit the cart"),
        h("button", { class: "secondary small", testid: "takeover-handback", onclick: () => void this.end(t) }, "Hand back"),
      ];
    } else if (t?.status === "active") {
      body = [h("span", { class: "takeover-state", testid: "takeover-state", "data-status": "active" }, `${t.agent_name} has this cart.`)];
    } else if (t?.status === "requested") {
      body = [
        h("span", { class: "takeover-state", testid: "takeover-state", "data-status": "requested" }, "Waiting for the shopper to allow it…"),
        mine ? h("button", { class: "ghost small", testid: "takeover-cancel", onclick: () => void this.end(t) }, "Cancel") : null,
      ].filter((x): x is HTMLElement => x !== null);
    } else {
      body = [
        t?.status === "declined"
          ? h("span", { class: "takeover-state", testid: "takeover-state", "data-status": "declined" }, "The shopper declined.")
          : null,
        t?.status === "ended"
          ? h("span", { class: "takeover-state", testid: "takeover-state", "data-status": "ended" }, "The takeover has ended.")
          : null,
        may
          ? h("button", { class: "secondary small", testid: "takeover-request", onclick: () => void this.request(cart) }, "Take over")
          : h("span", { class: "muted small" }, "Taking over carts needs the customer update right."),
      ].filter((x): x is HTMLElement => x !== null);
    }
    return h("div", { class: "panel-takeover", "aria-label": "Takeover", role: "group" }, body);
  }

  private async request(cart: PanelCart): Promise<void> {
    try {
      const t = await supportApi.requestTakeover(cart.cart_id);
      this.takeovers.set(cart.cart_id, t);
      this.app.announce(t.status === "active" ? "You have the cart now." : "The shopper is asked to allow the takeover.");
    } catch (e) {
      this.app.notify(e instanceof ApiError ? e.message : "The takeover could not be asked for.");
    }
    this.draw();
  }

  private async end(t: Takeover): Promise<void> {
    try {
      this.takeovers.set(t.cart_id, await supportApi.endTakeover(t.id));
      this.app.announce("The cart is handed back.");
    } catch (e) {
      this.app.notify(e instanceof ApiError ? e.message : "The takeover could not be ended.");
    }
    this.draw();
  }

  private async useCode(ev: Event): Promise<void> {
    ev.preventDefault();
    const code = this.codeInput.value.replace(/\s/g, "");
    this.codeError.hidden = true;
    this.codeResult.hidden = true;
    this.codeInput.removeAttribute("aria-invalid");
    if (!/^\d{6}$/.test(code)) {
      this.codeFail("A help code has six digits.");
      return;
    }
    try {
      const t = await supportApi.takeoverWithCode(code);
      this.takeovers.set(t.cart_id, t);
      this.codeInput.value = "";
      mount(
        this.codeResult,
        `You have the shopper's cart now (help code ${spaced(code)}). `,
        h("a", { class: "button primary small", href: `#/cart/${t.cart_id}`, testid: "help-code-cart" }, "Edit the cart"),
      );
      this.codeResult.hidden = false;
      this.app.announce("You have the shopper's cart now.");
      // The cart may be one the panel did not show yet (a guest's new cart).
      void this.load();
    } catch (e) {
      this.codeFail(e instanceof ApiError ? e.message : "That help code could not be used.");
    }
    this.draw();
  }

  private codeFail(text: string): void {
    this.codeError.textContent = text;
    this.codeError.id = "help-code-error";
    this.codeError.hidden = false;
    this.codeInput.setAttribute("aria-invalid", "true");
    this.codeInput.setAttribute("aria-describedby", "help-code-error");
    this.codeInput.focus();
  }

  private historyControls(cart: PanelCart, currency: string): HTMLElement {
    const shown = this.histories.get(cart.cart_id);
    const c = this.conversation!;
    const fieldId = `history-at-${cart.cart_id}`;
    let at = this.historyInputs.get(cart.cart_id);
    if (!at) {
      at = h("input", { type: "datetime-local", id: fieldId, testid: "history-at", value: localInput(c.created_at) });
      this.historyInputs.set(cart.cart_id, at);
    }
    const field = at;
    const form = h(
      "form",
      {
        class: "history-form",
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          const when = field.value ? new Date(field.value).getTime() : c.created_at;
          void this.history(cart, when);
        },
      },
      h("label", { for: fieldId, class: "field-label" }, "The cart as it was at"),
      h(
        "div",
        { class: "reply-row" },
        at,
        h("button", { type: "submit", class: "ghost small", testid: "history-show" }, "Show"),
      ),
      h(
        "button",
        { type: "button", class: "link small", testid: "history-start", onclick: () => {
            field.value = localInput(c.created_at);
            void this.history(cart, c.created_at);
          },
        },
        "When the conversation started",
      ),
    );
    const details = h(
      "details",
      {
        class: "panel-history",
        testid: "panel-history",
        open: shown || this.historyParts.get(cart.cart_id)?.open ? true : undefined,
      },
      h("summary", { testid: "history-toggle" }, "History"),
      form,
      shown ? this.historyView(shown, currency) : null,
    ) as HTMLDetailsElement;
    this.historyParts.set(cart.cart_id, details);
    return details;
  }

  private historyView(shown: { at: number; history?: HistoryResponse; error?: string }, currency: string): HTMLElement {
    if (shown.error) return h("p", { class: "form-error", testid: "history-error" }, shown.error);
    const hist = shown.history;
    if (!hist) return h("p", { class: "muted small" }, "Loading…");
    const cur = hist.currency || currency;
    return h(
      "div",
      { class: "history-view", testid: "history-view" },
      h("h5", null, `At ${clock(shown.at)}: ${hist.name || "the cart"}`),
      hist.lines.length === 0
        ? h("p", { class: "muted small" }, "The cart was empty.")
        : h(
            "ul",
            { class: "panel-lines", testid: "history-lines" },
            hist.lines.map((l) =>
              h(
                "li",
                { class: "history-line", testid: "history-line", "data-sku": l.sku },
                h("span", { class: "line-name" }, l.name),
                h("span", { class: "qty readonly" }, `× ${l.quantity}`),
                h("span", { class: "line-total" }, money(l.line_total, cur)),
              ),
            ),
          ),
      h("p", { class: "panel-subtotal" }, h("span", null, "Subtotal then"), h("strong", { testid: "history-subtotal" }, money(hist.subtotal, cur))),
      h("h5", null, "What changed since"),
      hist.changes.length === 0
        ? h("p", { class: "muted small" }, "Nothing.")
        : h(
            "ol",
            { class: "history-since", testid: "history-since", "data-total": hist.changes_total },
            hist.changes.map((e) =>
              h(
                "li",
                { testid: "history-event", "data-kind": e.kind },
                h("time", { class: "muted small", datetime: new Date(e.at).toISOString() }, clock(e.at)),
                ` ${e.user_name || "Cartroom"} ${CHANGE_WORDS[e.kind] ?? `made a change (${e.kind})`}`,
              ),
            ),
          ),
      hist.changes_total > hist.changes.length
        ? h("p", { class: "muted small" }, `The latest ${hist.changes.length} of ${hist.changes_total} changes.`)
        : null,
    );
  }

  private async history(cart: PanelCart, at: number): Promise<void> {
    this.histories.set(cart.cart_id, { at });
    this.draw();
    try {
      this.histories.set(cart.cart_id, { at, history: await supportApi.history(cart.cart_id, at) });
    } catch (e) {
      this.histories.set(cart.cart_id, { at, error: e instanceof ApiError ? e.message : "The history could not be loaded." });
    }
    this.draw();
  }
}

/** Unix ms as a `datetime-local` value, in the browser's time zone. */
function localInput(at: number): string {
  const d = new Date(at - new Date(at).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}
