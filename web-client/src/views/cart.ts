// The cart page: lines, subtotal, suggestions, catalog, presence, activity,
// members. Rendered from the Automerge replica plus this client's pending ops.

import { api, ApiError } from "../api";
import type { App } from "../app";
import { h, mount } from "../dom";
import { hue, initials, money, plural, timeAgo } from "../format";
import type { CartLive } from "../live";
import type { ActivityEvent, Capabilities, Capability, CartSummary, CartView, LineView, Product, SuggestionView } from "../types";
import { MembersPanel } from "./members";

const ENDED_WORDS: Record<string, string> = {
  removed: "You are no longer a member of this cart.",
  deleted: "This cart has been deleted.",
  not_found: "This cart doesn't exist, or you're not a member of it.",
};

export class CartPage {
  readonly el: HTMLElement;
  private readonly cart: CartLive;
  private readonly title = h("div", { class: "title-row" });
  private readonly presence = h("div", { class: "presence", testid: "presence" });
  private readonly lines = h("ul", { class: "lines", testid: "lines" });
  private readonly totals = h("div", { class: "totals" });
  private readonly suggestions = h("ul", { class: "suggestions", testid: "suggestions" });
  private readonly activity = h("ol", { class: "activity", testid: "activity" });
  private readonly catalog = h("div", { class: "catalog", testid: "catalog" });
  private readonly search = h("input", {
    type: "search",
    placeholder: "Search products",
    testid: "catalog-search",
    "aria-label": "Search the catalog",
  });
  private readonly switcher = h("select", { class: "switcher", testid: "cart-switcher", "aria-label": "Switch cart" });
  private readonly body = h("div", { class: "cart-body" });
  private readonly members: MembersPanel;
  private products: Product[] = [];
  private readonly chat: HTMLFormElement;
  private renaming = false;
  private scheduled = false;
  /** The capabilities the catalog was last drawn for. */
  private catalogFor: Capabilities | undefined;
  private searchSeq = 0;
  private lastSeq: number | undefined;
  private clock: number;

  constructor(
    private readonly app: App,
    readonly cartId: string,
  ) {
    this.cart = app.live.open(cartId);
    this.members = new MembersPanel(app, cartId);
    this.chat = this.chatForm();
    let searchTimer: number | undefined;
    this.search.addEventListener("input", () => {
      window.clearTimeout(searchTimer);
      searchTimer = window.setTimeout(() => void this.loadCatalog(), 150);
    });
    this.switcher.addEventListener("change", () => app.go(`#/cart/${this.switcher.value}`));

    this.el = h(
      "div",
      { class: "page cart-page", testid: "cart-page", "data-cart-id": cartId },
      h("div", { class: "cart-head" }, this.title, this.presence),
      this.body,
    );
    this.layout();
    void this.loadCatalog();
    void this.loadSwitcher();
    // Relative times ("2 min ago") stay true without a change.
    this.clock = window.setInterval(() => this.renderActivity(), 30_000);
    this.render();
  }

  destroy(): void {
    window.clearInterval(this.clock);
    this.app.live.close(this.cartId);
  }

  /** Called by the connection whenever this cart (or the socket) changed. */
  changed(cartId: string): void {
    if (cartId !== this.cartId || this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.render();
    });
  }

  private layout(): void {
    mount(
      this.body,
      h(
        "div",
        { class: "grid" },
        h(
          "div",
          { class: "col" },
          h("section", { class: "card" }, h("h2", null, "In the cart"), this.lines, this.totals),
          h("section", { class: "card" }, h("h2", null, "Suggestions"), this.suggestions),
          h("section", { class: "card" }, h("h2", null, "Activity"), this.chat, this.activity),
        ),
        h(
          "div",
          { class: "col" },
          h("section", { class: "card" }, h("h2", null, "Catalog"), this.search, this.catalog),
          this.members.el,
        ),
      ),
    );
  }

  /** A line of chat; it comes back to everyone as an activity event. */
  private chatForm(): HTMLFormElement {
    const input = h("input", {
      type: "text",
      placeholder: "Say something to everyone here",
      maxlength: 1000,
      testid: "chat-input",
      "aria-label": "Chat message",
    });
    return h(
      "form",
      {
        class: "chat",
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          const text = input.value.trim();
          if (!text) return;
          if (!this.app.live.chat(this.cartId, text)) {
            this.app.notify("You're offline: chat messages can't be sent until you reconnect.");
            return;
          }
          input.value = "";
        },
      },
      input,
      h("button", { type: "submit", class: "secondary small", testid: "chat-send" }, "Send"),
    );
  }

  private view(): CartView {
    return this.cart.replica.view({ id: this.app.me.id, name: this.app.me.name }, this.app.products);
  }

  /** What the server allows here; every control below asks this, never the role. */
  private can(capability: Capability): boolean {
    return this.cart.can(capability);
  }

  private render(): void {
    // Readiness for tests: the page shows the server's current document.
    const current = this.cart.loaded && !this.cart.syncing && this.app.live.state === "online";
    this.el.toggleAttribute("data-ready", current && !this.cart.ended);
    if (this.cart.ended) {
      mount(this.title, h("h1", null, "Cart unavailable"));
      mount(this.presence);
      mount(
        this.body,
        h(
          "div",
          { class: "card ended", testid: "cart-ended" },
          h("p", null, ENDED_WORDS[this.cart.ended] ?? "This cart is not available."),
          h("a", { href: "#/", class: "button primary" }, "Back to my carts"),
        ),
      );
      return;
    }
    const v = this.view();
    this.renderTitle(v);
    this.renderPresence();
    this.renderLines(v);
    this.renderSuggestions(v);
    this.renderActivity();
    this.chat.hidden = !this.can("chat");
    if (this.catalogFor !== this.cart.capabilities) this.renderCatalog();
    this.members.show(this.cart.capabilities);
    this.members.noticePresence(this.cart.presence.map((p) => p.user_id));
    const last = this.cart.activity.reduce<ActivityEvent | undefined>((m, e) => (e.seq > (m?.seq ?? 0) ? e : m), undefined);
    if (last && last.seq !== this.lastSeq) {
      if (this.lastSeq !== undefined && /member|role|invite/.test(last.kind)) void this.members.refresh();
      this.lastSeq = last.seq;
    }
  }

  private renderTitle(v: CartView): void {
    if (this.renaming) return;
    const name = v.name || (this.cart.loaded ? "Untitled cart" : "Loading…");
    document.title = `${name} · Cartroom`;
    const role = this.cart.role;
    mount(
      this.title,
      h("h1", { testid: "cart-name" }, name),
      role
        ? h("span", { class: `badge role-${role}`, testid: "role-badge", title: capabilityHelp(this.cart.capabilities) }, role)
        : null,
      this.can("rename")
        ? h("button", { class: "ghost small", testid: "rename-cart", onclick: () => this.startRename(v.name) }, "Rename")
        : null,
      h("span", { class: "spacer" }),
      this.switcher,
    );
  }

  private startRename(current: string): void {
    this.renaming = true;
    const input = h("input", { type: "text", value: current, maxlength: 100, required: true, testid: "rename-input" });
    const done = () => {
      this.renaming = false;
      this.render();
    };
    mount(
      this.title,
      h(
        "form",
        {
          class: "inline-form grow",
          onsubmit: (ev: Event) => {
            ev.preventDefault();
            const name = input.value.trim();
            if (name && name !== current) this.app.live.submit(this.cartId, { kind: "rename", name });
            done();
          },
        },
        input,
        h("button", { type: "submit", class: "primary small", testid: "rename-save" }, "Save"),
        h("button", { type: "button", class: "ghost small", onclick: done }, "Cancel"),
      ),
    );
    input.focus();
    input.select();
  }

  private renderPresence(): void {
    const here = this.cart.presence;
    mount(
      this.presence,
      h(
        "div",
        { class: "avatars" },
        here.map((p) =>
          h(
            "span",
            {
              class: "avatar",
              title: `${p.name} (${p.role})${p.status ? ` — ${p.status}` : ""}`,
              style: `--h:${hue(p.user_id)}`,
              testid: "presence-member",
              "data-user-id": p.user_id,
            },
            initials(p.name),
          ),
        ),
      ),
      h(
        "span",
        { class: "muted small" },
        here.length === 0 ? "" : here.length === 1 ? "Only you are here" : `${here.length} people here`,
      ),
    );
  }

  private renderLines(v: CartView): void {
    const canEdit = this.can("edit_lines");
    if (!this.cart.loaded && v.lines.length === 0) {
      mount(this.lines, h("li", { class: "empty" }, "Loading the cart…"));
    } else if (v.lines.length === 0) {
      mount(
        this.lines,
        h("li", { class: "empty" }, canEdit ? "The cart is empty. Add something from the catalog." : "The cart is empty."),
      );
    } else {
      mount(this.lines, v.lines.map((l) => this.line(l, canEdit, v.currency)));
    }
    const pending = this.cart.replica.pending.length;
    const offline = this.app.live.state !== "online";
    mount(
      this.totals,
      h(
        "div",
        { class: "subtotal-row" },
        h("span", null, "Subtotal"),
        h("strong", { testid: "subtotal", "data-minor": v.subtotal }, money(v.subtotal, v.currency)),
      ),
      h(
        "div",
        { class: "muted small" },
        plural(v.item_count, "item"),
        pending > 0
          ? h(
              "span",
              { class: `pending-note ${offline ? "offline" : ""}`, testid: "pending-count", "data-count": pending },
              offline
                ? ` · ${plural(pending, "change")} waiting to be sent`
                : " · saving…",
            )
          : null,
      ),
    );
  }

  private line(l: LineView, canEdit: boolean, currency: string): HTMLElement {
    const submit = this.app.live.submit.bind(this.app.live, this.cartId);
    return h(
      "li",
      { class: `line ${l.pending ? "pending" : ""}`, testid: "line", "data-sku": l.sku },
      h("img", { class: "thumb", src: `/images/${encodeURIComponent(l.sku)}.svg`, alt: "", loading: "lazy" }),
      h(
        "div",
        { class: "line-main" },
        h("div", { class: "line-name", testid: "line-name" }, l.name),
        h(
          "div",
          { class: "muted small" },
          `${money(l.unit_price, currency)} each · `,
          h("span", { testid: "line-added-by" }, `added by ${l.added_by === this.app.me.id ? "you" : l.added_by_name}`),
        ),
      ),
      h(
        "div",
        { class: "line-qty" },
        canEdit
          ? h(
              "div",
              { class: "stepper" },
              h(
                "button",
                {
                  class: "step",
                  testid: "line-dec",
                  "aria-label": `One less ${l.name}`,
                  disabled: l.quantity <= 1,
                  onclick: () => submit({ kind: "change_quantity", line_id: l.line_id, delta: -1 }),
                },
                "−",
              ),
              h("span", { class: "qty", testid: "line-qty" }, l.quantity),
              h(
                "button",
                {
                  class: "step",
                  testid: "line-inc",
                  "aria-label": `One more ${l.name}`,
                  disabled: l.quantity >= 999,
                  onclick: () => submit({ kind: "change_quantity", line_id: l.line_id, delta: 1 }),
                },
                "+",
              ),
            )
          : h("span", { class: "qty readonly" }, "× ", h("span", { testid: "line-qty" }, l.quantity)),
        h("span", { class: "line-total", testid: "line-total" }, money(l.line_total, currency)),
      ),
      canEdit
        ? h(
            "button",
            {
              class: "icon remove",
              testid: "line-remove",
              "aria-label": `Remove ${l.name}`,
              title: "Remove",
              onclick: () => submit({ kind: "remove_line", line_id: l.line_id }),
            },
            "×",
          )
        : null,
    );
  }

  private renderSuggestions(v: CartView): void {
    const canAccept = this.can("accept_suggestion");
    const canVote = this.can("vote");
    if (v.suggestions.length === 0) {
      const invite = this.can("suggest") && !this.can("edit_lines");
      mount(
        this.suggestions,
        h("li", { class: "empty" }, invite ? "No suggestions yet. Suggest something from the catalog." : "No suggestions right now."),
      );
      return;
    }
    const submit = this.app.live.submit.bind(this.app.live, this.cartId);
    mount(
      this.suggestions,
      v.suggestions.map((s: SuggestionView) => {
        const mine = s.votes[this.app.me.id] ?? 0;
        const real = !s.suggestion_id.startsWith("pending:");
        return h(
          "li",
          { class: `suggestion ${s.pending ? "pending" : ""}`, testid: "suggestion", "data-sku": s.sku, "data-id": s.suggestion_id },
          h("img", { class: "thumb", src: `/images/${encodeURIComponent(s.sku)}.svg`, alt: "", loading: "lazy" }),
          h(
            "div",
            { class: "line-main" },
            h("div", { class: "line-name" }, `${s.name} × ${s.quantity}`),
            h("div", { class: "muted small" }, `suggested by ${s.by === this.app.me.id ? "you" : s.by_name}`, s.note ? ` · “${s.note}”` : ""),
          ),
          h(
            "div",
            { class: "votes" },
            canVote ? this.voteButton(s.suggestion_id, 1, mine, real) : null,
            h("span", { class: "score", testid: "suggestion-score" }, s.score),
            canVote ? this.voteButton(s.suggestion_id, -1, mine, real) : null,
          ),
          canAccept
            ? h(
                "button",
                {
                  class: "primary small",
                  testid: "suggestion-accept",
                  disabled: !real,
                  onclick: () => submit({ kind: "accept_suggestion", suggestion_id: s.suggestion_id }),
                },
                "Accept",
              )
            : null,
        );
      }),
    );
  }

  /** ▲ (`value` 1) or ▼ (-1); pressing one's own vote again withdraws it. */
  private voteButton(suggestion_id: string, value: 1 | -1, mine: number, real: boolean): HTMLElement {
    const on = mine === value;
    return h(
      "button",
      {
        class: `vote ${on ? (value === 1 ? "on" : "on down") : ""}`,
        testid: value === 1 ? "vote-up" : "vote-down",
        "aria-label": value === 1 ? "Vote for" : "Vote against",
        "aria-pressed": on ? "true" : "false",
        disabled: !real,
        onclick: () => this.app.live.submit(this.cartId, { kind: "vote", suggestion_id, value: on ? 0 : value }),
      },
      value === 1 ? "▲" : "▼",
    );
  }

  private renderActivity(): void {
    const events = this.cart.activity.slice(-30).reverse();
    if (events.length === 0) {
      mount(this.activity, h("li", { class: "empty" }, "Nothing has happened yet."));
      return;
    }
    mount(
      this.activity,
      events.map((e) =>
        h(
          "li",
          { class: `event ${e.kind === "chat" ? "is-chat" : ""}`, testid: "activity-event", "data-kind": e.kind },
          h("span", { class: "avatar tiny", style: `--h:${hue(e.user_id)}` }, initials(e.user_name)),
          h("span", { class: "event-text" }, e.text),
          h("time", { class: "muted small", datetime: new Date(e.at).toISOString() }, timeAgo(e.at)),
        ),
      ),
    );
  }

  private async loadCatalog(): Promise<void> {
    const seq = ++this.searchSeq;
    try {
      const products = await api.catalog(this.search.value.trim());
      if (seq !== this.searchSeq) return;
      this.products = products;
      for (const p of products) this.app.products.set(p.sku, p);
      this.renderCatalog();
      // Pending lines may have been drawn before their product was known.
      this.render();
    } catch (e) {
      if (seq !== this.searchSeq) return;
      mount(this.catalog, h("p", { class: "muted" }, e instanceof ApiError ? e.message : "The catalog could not be loaded."));
    }
  }

  private renderCatalog(): void {
    this.catalogFor = this.cart.capabilities;
    const canEdit = this.can("edit_lines");
    const canSuggest = this.can("suggest");
    if (this.products.length === 0) {
      mount(this.catalog, h("p", { class: "muted" }, this.search.value ? "No products match your search." : "Loading products…"));
      return;
    }
    const submit = this.app.live.submit.bind(this.app.live, this.cartId);
    mount(
      this.catalog,
      this.products.map((p) =>
        h(
          "div",
          { class: "product", testid: "product", "data-sku": p.sku },
          h("img", { class: "product-img", src: p.image_url || `/images/${encodeURIComponent(p.sku)}.svg`, alt: p.name, loading: "lazy" }),
          h("div", { class: "product-name" }, p.name),
          h(
            "div",
            { class: "muted small" },
            money(p.price, p.currency),
            p.stock <= 0 ? " · out of stock" : p.stock < 10 ? ` · ${p.stock} left` : "",
          ),
          p.group_buy
            ? h("div", { class: "deal small" }, `${money(p.group_buy.price, p.currency)} each from ${p.group_buy.min_quantity}`)
            : null,
          canEdit
            ? h(
                "button",
                {
                  class: "primary small",
                  testid: "product-add",
                  disabled: p.stock <= 0,
                  onclick: () => submit({ kind: "add_line", sku: p.sku, quantity: 1 }),
                },
                "Add",
              )
            : canSuggest
              ? h(
                  "button",
                  {
                    class: "secondary small",
                    testid: "product-suggest",
                    onclick: () => {
                      submit({ kind: "suggest", sku: p.sku, quantity: 1 });
                      this.app.notify(`You suggested ${p.name}. An editor can add it to the cart.`, "info");
                    },
                  },
                  "Suggest",
                )
              : null,
        ),
      ),
    );
  }

  private async loadSwitcher(): Promise<void> {
    let carts: CartSummary[];
    try {
      carts = await api.carts();
    } catch {
      return;
    }
    if (!carts.some((c) => c.id === this.cartId)) carts.unshift({ id: this.cartId, name: "This cart" } as CartSummary);
    mount(
      this.switcher,
      carts.map((c) => h("option", { value: c.id, selected: c.id === this.cartId }, c.name)),
    );
    this.switcher.value = this.cartId;
  }
}

// Keyed by the generated `Capability`: a new one fails the type check until
// it is described here.
const CAPABILITY_WORDS: Record<Capability, string> = {
  view: "see the cart",
  suggest: "suggest items",
  vote: "vote",
  chat: "chat",
  edit_lines: "add, change and remove items",
  accept_suggestion: "accept suggestions",
  rename: "rename the cart",
  manage_members: "manage its members",
  delete_cart: "delete it",
};

/** The role badge's tooltip: what the server says this user may do. */
function capabilityHelp(capabilities: Capabilities): string {
  const words = [...capabilities].map((c) => CAPABILITY_WORDS[c]);
  if (words.length === 0) return "";
  const last = words.pop()!;
  return `You can ${words.length ? `${words.join(", ")} and ${last}` : last}.`;
}
