// The cart page: lines, subtotal, notes, suggestions, catalog, presence,
// activity, members. Rendered from the Automerge replica plus this client's
// pending ops.
//
// Re-rendering keeps the keyboard focus where it was: every control carries
// a `data-testid` and sits in a row with a `data-key`, and the control with
// the same pair gets the focus back after a redraw (`keepFocus`). Steppers
// at a limit are `aria-disabled` rather than `disabled`, so they keep it.
//
// On a phone the page is one column (cart, catalog, suggestions, activity,
// members) with a bar fixed at the bottom: "Catalog" and "Cart · 3 items ·
// $36.00", each one tap from the other.

import { api, ApiError } from "../api";
import type { App } from "../app";
import { h, keepFocus, mount } from "../dom";
import { hue, initials, money, plural, timeAgo } from "../format";
import { mergeOlder, type CartLive } from "../live";
import { Retrier } from "../retry";
import type { ActivityEvent, Capabilities, Capability, CartSummary, CartView, LineView, Op, Product, SuggestionView } from "../types";
import { UndoStack, undoableOf } from "../undo";
import { MembersPanel } from "./members";
import { shareButton } from "./share"; // sharing
import { CheckoutPanel } from "./checkout"; // checkout

const ENDED_WORDS: Record<string, string> = {
  removed: "You are no longer a member of this cart.",
  deleted: "This cart has been deleted.",
  not_found: "This cart doesn't exist, or you're not a member of it.",
};

/** What is left in stock (less what this cart holds) shows as "Only N left" at or below this. */
const LOW_STOCK = 10;
/** Activity entries shown at first, and added by each "Show older". */
const ACTIVITY_PAGE = 20;
/** One person's edits of one product this close together read as one entry. */
const BURST_MS = 2 * 60_000;
/** A suggestion stays marked new until its card has been on screen this long. */
const NEW_SUGGESTION_SEEN_MS = 4_000;

export class CartPage {
  readonly el: HTMLElement;
  private readonly cart: CartLive;
  private readonly title = h("div", { class: "title-row" });
  private readonly presence = h("div", { class: "presence", testid: "presence" });
  private readonly lines = h("ul", { class: "lines", testid: "lines", "aria-label": "Items in the cart" });
  private readonly totals = h("div", { class: "totals" });
  private readonly suggestions = h("ul", { class: "suggestions", testid: "suggestions", "aria-label": "Suggestions" });
  private readonly suggestionsBadge = h("span", { class: "new-badge", testid: "suggestions-new", hidden: true });
  private readonly activity = h("ol", { class: "activity", testid: "activity", "aria-label": "Activity, newest first" });
  private readonly activityMore = h("div", { class: "activity-more" });
  private readonly catalog = h("div", { class: "catalog", testid: "catalog" });
  private readonly catalogNote = h("p", { class: "muted small", testid: "catalog-note", hidden: true });
  private readonly search = h("input", {
    type: "search",
    placeholder: "Search products",
    testid: "catalog-search",
    "aria-label": "Search the catalog",
  });
  private readonly switcher = h("select", { class: "switcher", testid: "cart-switcher", "aria-label": "Switch cart" });
  private readonly body = h("div", { class: "cart-body" });
  private readonly bar = h("nav", { class: "cart-bar", testid: "cart-bar", "aria-label": "Cart and catalog" });
  private readonly cartNote: HTMLFormElement;
  private readonly cartNoteInput = h("textarea", {
    testid: "cart-note-input",
    id: "cart-note-field",
    rows: 2,
    maxlength: 500,
    placeholder: "A note for everyone, e.g. for Saturday",
    "aria-label": "Cart note",
  });
  private cartNoteDirty = false;
  private readonly members: MembersPanel;
  private readonly checkoutPanel: CheckoutPanel; // checkout
  private readonly sections: Record<"lines" | "catalog" | "suggestions", HTMLElement>;
  private products: Product[] = [];
  private catalogLoaded = false;
  private readonly catalogLoader: Retrier;
  private readonly switcherLoader: Retrier;
  private switcherCarts: CartSummary[] | undefined;
  private readonly chat: HTMLFormElement;
  private renaming = false;
  /** The line whose note is being written, and its input (kept across redraws). */
  private noteFor: string | undefined;
  private noteInput: HTMLInputElement | undefined;
  private scheduled = false;
  private lastSeq: number | undefined;
  private clock: number;
  private activityShown = ACTIVITY_PAGE;
  private olderLoaded = false;
  /** Suggestions this person has seen; undefined until the first load. */
  private seenSuggestions: Set<string> | undefined;
  private suggestionsVisible = false;
  private seenTimer: number | undefined;
  private readonly observer: IntersectionObserver | undefined;
  private lastCount: number | undefined;
  /** The product being suggested, with its quantity and note fields (kept across redraws). */
  private suggesting: { sku: string; qty: HTMLInputElement; note: HTMLInputElement } | undefined;
  /** This person's own edits on this page, newest last, with how to reverse them. */
  private readonly undo = new UndoStack();
  private readonly undoButton = h("button", { class: "ghost small", testid: "undo", hidden: true, "aria-keyshortcuts": "Control+Z" });
  /** What this person is doing here, as last told to the others. */
  private status = "";
  private statusTimer: number | undefined;
  private readonly onKey = (ev: KeyboardEvent) => {
    if (!(ev.ctrlKey || ev.metaKey) || ev.shiftKey || ev.altKey || ev.key.toLowerCase() !== "z") return;
    const t = ev.target as HTMLElement | null;
    // In a text field, Ctrl+Z undoes typing.
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.isContentEditable)) return;
    if (!this.undo.peek()) return;
    ev.preventDefault();
    this.undoLast();
  };

  constructor(
    private readonly app: App,
    readonly cartId: string,
  ) {
    this.cart = app.live.open(cartId);
    this.members = new MembersPanel(app, cartId);
    this.checkoutPanel = new CheckoutPanel(app, this.cart); // checkout
    this.chat = this.chatForm();
    this.cartNote = this.cartNoteForm();
    this.catalogLoader = new Retrier(() => this.loadCatalog());
    this.switcherLoader = new Retrier(() => this.loadSwitcher());
    let searchTimer: number | undefined;
    this.search.addEventListener("input", () => {
      window.clearTimeout(searchTimer);
      searchTimer = window.setTimeout(() => this.catalogLoader.again(), 150);
    });
    this.switcher.addEventListener("change", () => app.go(`#/cart/${this.switcher.value}`));
    this.undoButton.addEventListener("click", () => this.undoLast());
    document.addEventListener("keydown", this.onKey);

    this.sections = {
      lines: h(
        "section",
        { class: "card", id: "cart-lines", "aria-labelledby": "h-lines", "data-area": "lines" },
        h("div", { class: "card-head" }, h("h2", { id: "h-lines", tabindex: -1 }, "In the cart"), this.undoButton),
        this.lines,
        this.totals,
        this.cartNote,
      ),
      catalog: h(
        "section",
        { class: "card", id: "cart-catalog", "aria-labelledby": "h-catalog", "data-area": "catalog" },
        h("h2", { id: "h-catalog", tabindex: -1 }, "Catalog"),
        this.search,
        this.catalogNote,
        this.catalog,
      ),
      suggestions: h(
        "section",
        { class: "card", "aria-labelledby": "h-suggestions", "data-area": "suggestions" },
        h("h2", { id: "h-suggestions" }, "Suggestions ", this.suggestionsBadge),
        this.suggestions,
      ),
    };
    this.el = h(
      "div",
      { class: "page cart-page", testid: "cart-page", "data-cart-id": cartId },
      h("div", { class: "cart-head" }, this.title, this.presence),
      this.body,
      this.bar,
    );
    this.layout();
    for (const type of ["focusin", "focusout", "input"]) this.el.addEventListener(type, () => queueMicrotask(() => this.noticeActivity()));
    this.catalogLoader.again();
    this.switcherLoader.again();
    if ("IntersectionObserver" in window) {
      this.observer = new IntersectionObserver((entries) => {
        this.suggestionsVisible = entries.some((e) => e.isIntersecting);
        this.noticeSeen();
      });
      this.observer.observe(this.sections.suggestions);
    }
    // Relative times ("2 min ago") stay true without a change.
    this.clock = window.setInterval(() => this.renderActivity(), 30_000);
    this.render();
  }

  destroy(): void {
    document.removeEventListener("keydown", this.onKey);
    window.clearTimeout(this.statusTimer);
    window.clearInterval(this.clock);
    window.clearTimeout(this.seenTimer);
    this.observer?.disconnect();
    this.catalogLoader.stop();
    this.switcherLoader.stop();
    this.members.destroy();
    this.checkoutPanel.destroy(); // checkout
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
          this.sections.lines,
          this.checkoutPanel.el, // checkout
          this.sections.suggestions,
          h(
            "section",
            { class: "card", "aria-labelledby": "h-activity", "data-area": "activity" },
            h("h2", { id: "h-activity" }, "Activity"),
            this.chat,
            this.activity,
            this.activityMore,
          ),
        ),
        h("div", { class: "col" }, this.sections.catalog, this.members.el),
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

  /** The cart's note: one field, kept while it is being written. */
  private cartNoteForm(): HTMLFormElement {
    this.cartNoteInput.addEventListener("input", () => (this.cartNoteDirty = true));
    return h(
      "form",
      {
        class: "cart-note",
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          const note = this.cartNoteInput.value.trim();
          this.cartNoteDirty = false;
          if (note !== this.view().note) this.submit({ kind: "set_cart_note", note });
          this.app.notify(note ? "The cart note is saved." : "The cart note is cleared.", "info");
        },
      },
      h("label", { class: "field-label", for: "cart-note-field" }, "Note for everyone"),
      this.cartNoteInput,
      h("button", { type: "submit", class: "secondary small", testid: "cart-note-save" }, "Save note"),
    );
  }

  private view(): CartView {
    return this.cart.replica.view({ id: this.app.me.id, name: this.app.me.name }, this.app.products);
  }

  /** What the server allows here; every control below asks this, never the role. */
  private can(capability: Capability): boolean {
    return this.cart.can(capability);
  }

  /** Makes an edit; it can be undone unless `undoable` is false (an undo itself). */
  private submit(op: Op, undoable = true): void {
    const item = undoable && this.cart.loaded ? undoableOf(op, this.view(), this.app.me.id, (sku) => this.app.products.get(sku)?.name) : undefined;
    this.app.live.submit(this.cartId, op);
    if (item) this.undo.push(item);
  }

  /** Reverses this person's last edit with new ops (Ctrl+Z, or the Undo button). */
  private undoLast(): void {
    const item = this.undo.pop();
    if (!item) return;
    const ops = item.reverse(this.view());
    if (typeof ops === "string") {
      this.app.notify(`Can't undo the ${item.label}: ${ops}`, "info");
    } else {
      for (const op of ops) this.submit(op, false);
      this.app.announce(`Undone: ${item.label}.`);
    }
    const hadFocus = document.activeElement === this.undoButton;
    this.render();
    // The button goes when nothing is left to undo: the focus stays in the card.
    if (hadFocus && this.undoButton.hidden) (this.sections.lines.querySelector("h2") as HTMLElement).focus();
  }

  /** Tells the others what this person is doing here, when it changes. */
  private noticeActivity(): void {
    const active = document.activeElement;
    const chat = this.chat.querySelector("input");
    let status = "";
    if (active && active === chat && chat.value.trim()) status = "typing in chat";
    else if (active && this.sections.catalog.contains(active)) status = "looking at the catalog";
    if (status === this.status) return;
    this.status = status;
    window.clearTimeout(this.statusTimer);
    this.statusTimer = window.setTimeout(() => this.app.live.presence(this.cartId, this.status), 250);
  }

  private render(): void {
    // Readiness for tests: the page shows the server's current document.
    const current = this.cart.loaded && !this.cart.syncing && this.app.live.state === "online";
    this.el.toggleAttribute("data-ready", current && !this.cart.ended);
    this.el.toggleAttribute("data-from-copy", this.cart.fromCopy);
    if (this.cart.ended) {
      mount(this.title, h("h1", null, "Cart unavailable"));
      mount(this.presence);
      mount(this.bar);
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
    keepFocus(this.el, () => {
      const v = this.view();
      this.renderTitle(v);
      this.renderPresence();
      this.renderLines(v);
      this.renderSuggestions(v);
      this.renderActivity();
      this.renderCatalog(v);
      this.renderBar(v);
      const next = this.undo.peek();
      this.undoButton.hidden = !next;
      this.undoButton.textContent = next ? `Undo ${next.label}` : "Undo";
      this.chat.hidden = !this.can("chat");
      this.cartNote.hidden = !this.can("edit_lines");
      if (!this.cartNoteDirty && document.activeElement !== this.cartNoteInput) this.cartNoteInput.value = v.note;
    });
    this.members.show(this.cart.capabilities);
    this.members.noticePresence(this.cart.presence.map((p) => p.user_id));
    this.checkoutPanel.render(); // checkout
    const last = this.cart.activity.reduce<ActivityEvent | undefined>((m, e) => (e.seq > (m?.seq ?? 0) ? e : m), undefined);
    if (last && last.seq !== this.lastSeq) {
      if (this.lastSeq !== undefined && /member|role|invite/.test(last.kind)) void this.members.refresh();
      if (this.lastSeq !== undefined && last.kind === "rename") this.switcherLoader.again();
      this.lastSeq = last.seq;
    }
  }

  private renderTitle(v: CartView): void {
    if (this.renaming) return;
    const name = v.name || (this.cart.loaded ? "Untitled cart" : "Loading…");
    document.title = `${name} · Cartroom`;
    const role = this.cart.role;
    this.drawSwitcher(v.name);
    mount(
      this.title,
      h("h1", { testid: "cart-name" }, name),
      role
        ? h("span", { class: `badge role-${role}`, testid: "role-badge", title: capabilityHelp(this.cart.capabilities) }, role)
        : null,
      this.can("rename")
        ? h("button", { class: "ghost small", testid: "rename-cart", onclick: () => this.startRename(v.name) }, "Rename")
        : null,
      // Sharing (src/views/share.ts): invitations and links, for admins.
      this.can("manage_members") ? shareButton(this.app, this.cartId, () => v.name) : null,
      h("span", { class: "spacer" }),
      this.switcher,
    );
  }

  private startRename(current: string): void {
    this.renaming = true;
    const input = h("input", { type: "text", value: current, maxlength: 100, testid: "rename-input", "aria-label": "Cart name" });
    const error = h("p", { class: "form-error", id: "rename-error", testid: "rename-error", hidden: true });
    const done = () => {
      this.renaming = false;
      this.render();
      (this.title.querySelector('[data-testid="rename-cart"]') as HTMLElement | null)?.focus();
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
            if (!name) {
              error.textContent = "Give the cart a name.";
              error.hidden = false;
              input.setAttribute("aria-invalid", "true");
              input.setAttribute("aria-describedby", "rename-error");
              input.focus();
              return;
            }
            if (name !== current) this.submit({ kind: "rename", name });
            done();
          },
        },
        input,
        h("button", { type: "submit", class: "primary small", testid: "rename-save" }, "Save"),
        h("button", { type: "button", class: "ghost small", onclick: done }, "Cancel"),
        error,
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
              role: "img",
              "aria-label": `${p.name}, ${p.role}${p.status ? `, ${p.status}` : ""}`,
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
      here
        .filter((p) => p.user_id !== this.app.me.id && p.status)
        .map((p) => h("span", { class: "muted small presence-status", testid: "presence-status", "data-user-id": p.user_id }, `${p.name} is ${p.status}`)),
    );
  }

  /** The most of `sku` the store has, when the catalog has been seen. */
  private stockOf(sku: string): number | undefined {
    return this.app.products.get(sku)?.stock;
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
              offline ? ` · ${plural(pending, "change")} waiting to be sent` : " · saving…",
            )
          : null,
      ),
      v.note && !canEdit ? h("p", { class: "cart-note-text", testid: "cart-note" }, `Note: ${v.note}`) : null,
    );
  }

  private line(l: LineView, canEdit: boolean, currency: string): HTMLElement {
    const stock = this.stockOf(l.sku);
    const atLimit = stock !== undefined && l.quantity >= stock;
    const low = stock !== undefined && !atLimit && stock - l.quantity <= LOW_STOCK;
    const step = (delta: 1 | -1, blocked: boolean, why: string) =>
      h(
        "button",
        {
          class: "step",
          testid: delta > 0 ? "line-inc" : "line-dec",
          "aria-label": `${delta > 0 ? "One more" : "One less"} ${l.name}`,
          "aria-disabled": blocked ? "true" : "false",
          title: blocked ? why : undefined,
          onclick: () => {
            if (blocked) {
              this.app.notify(why, "info");
              return;
            }
            this.submit({ kind: "change_quantity", line_id: l.line_id, delta });
          },
        },
        delta > 0 ? "+" : "−",
      );
    const editingNote = canEdit && this.noteFor === l.line_id;
    return h(
      "li",
      { class: `line ${l.pending ? "pending" : ""}`, testid: "line", "data-sku": l.sku, "data-key": `line:${l.line_id}` },
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
        atLimit
          ? h("div", { class: "stock-note", testid: "line-stock" }, `That's all we have (${stock})`)
          : low
            ? h("div", { class: "stock-note", testid: "line-stock" }, `Only ${stock! - l.quantity} more in stock`)
            : null,
        l.note && !editingNote ? h("div", { class: "line-note", testid: "line-note" }, `Note: ${l.note}`) : null,
        editingNote ? this.lineNoteForm(l) : null,
      ),
      h(
        "div",
        { class: "line-qty" },
        canEdit
          ? h(
              "div",
              { class: "stepper", role: "group", "aria-label": `Quantity of ${l.name}` },
              step(-1, l.quantity <= 1, `${l.name}: 1 is the least. Remove the item instead.`),
              h("span", { class: "qty", testid: "line-qty", "aria-live": "off" }, l.quantity),
              step(
                1,
                atLimit || l.quantity >= 999,
                atLimit ? `There are only ${stock} of ${l.name} in stock.` : "Quantities must stay between 1 and 999.",
              ),
            )
          : h("span", { class: "qty readonly" }, "× ", h("span", { testid: "line-qty" }, l.quantity)),
        h("span", { class: "line-total", testid: "line-total" }, money(l.line_total, currency)),
      ),
      canEdit
        ? h(
            "div",
            { class: "line-actions" },
            editingNote
              ? null
              : h(
                  "button",
                  {
                    class: "ghost small",
                    testid: "line-note-edit",
                    "aria-label": `${l.note ? "Edit the note on" : "Add a note to"} ${l.name}`,
                    onclick: () => {
                      this.noteFor = l.line_id;
                      this.noteInput = undefined;
                      this.render();
                      (this.noteInput as HTMLInputElement | undefined)?.focus();
                    },
                  },
                  l.note ? "Edit note" : "Note",
                ),
            h(
              "button",
              {
                class: "icon remove",
                testid: "line-remove",
                "aria-label": `Remove ${l.name}`,
                title: "Remove",
                onclick: () => this.submit({ kind: "remove_line", line_id: l.line_id }),
              },
              "×",
            ),
          )
        : null,
    );
  }

  private lineNoteForm(l: LineView): HTMLFormElement {
    const input = (this.noteInput ??= h("input", {
      type: "text",
      value: l.note,
      maxlength: 500,
      testid: "line-note-input",
      "aria-label": `Note on ${l.name}`,
      placeholder: "e.g. the big ones",
    }));
    const close = () => {
      this.noteFor = undefined;
      this.noteInput = undefined;
      this.render();
      (this.lines.querySelector(`[data-key="line:${CSS.escape(l.line_id)}"] [data-testid="line-note-edit"]`) as HTMLElement | null)?.focus();
    };
    return h(
      "form",
      {
        class: "inline-form line-note-form",
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          const note = input.value.trim();
          if (note !== l.note) this.submit({ kind: "set_line_note", line_id: l.line_id, note });
          close();
        },
        onkeydown: (ev: KeyboardEvent) => {
          if (ev.key === "Escape") close();
        },
      },
      input,
      h("button", { type: "submit", class: "primary small", testid: "line-note-save" }, "Save"),
      h("button", { type: "button", class: "ghost small", onclick: close }, "Cancel"),
    );
  }

  /** Who is who, from everything this page has heard. */
  private names(): Map<string, string> {
    const names = new Map<string, string>();
    for (const e of this.cart.activity) names.set(e.user_id, e.user_name);
    for (const m of this.members.known()) names.set(m.user_id, m.name);
    for (const p of this.cart.presence) names.set(p.user_id, p.name);
    names.set(this.app.me.id, "you");
    return names;
  }

  private renderSuggestions(v: CartView): void {
    const canAccept = this.can("accept_suggestion");
    const canVote = this.can("vote");
    const real = v.suggestions.filter((s) => !s.suggestion_id.startsWith("pending:"));
    if (this.cart.loaded && !this.cart.fromCopy && this.seenSuggestions === undefined) {
      this.seenSuggestions = new Set(real.map((s) => s.suggestion_id));
    }
    const fresh = real.filter((s) => this.seenSuggestions && !this.seenSuggestions.has(s.suggestion_id) && s.by !== this.app.me.id);
    this.suggestionsBadge.hidden = fresh.length === 0;
    this.suggestionsBadge.textContent = fresh.length ? `${fresh.length} new` : "";
    this.noticeSeen();
    if (v.suggestions.length === 0) {
      const invite = this.can("suggest") && !this.can("edit_lines");
      mount(
        this.suggestions,
        h("li", { class: "empty" }, invite ? "No suggestions yet. Suggest something from the catalog." : "No suggestions right now."),
      );
      return;
    }
    const names = this.names();
    mount(
      this.suggestions,
      v.suggestions.map((s: SuggestionView) => {
        const mine = s.votes[this.app.me.id] ?? 0;
        const isReal = !s.suggestion_id.startsWith("pending:");
        const isNew = fresh.includes(s);
        const voters = (value: number) =>
          Object.entries(s.votes)
            .filter(([, v]) => v === value)
            .map(([u]) => names.get(u) ?? "someone");
        const up = voters(1);
        const down = voters(-1);
        return h(
          "li",
          {
            class: `suggestion ${s.pending ? "pending" : ""}`,
            testid: "suggestion",
            "data-sku": s.sku,
            "data-id": s.suggestion_id,
            "data-key": `sug:${s.suggestion_id}`,
          },
          h("img", { class: "thumb", src: `/images/${encodeURIComponent(s.sku)}.svg`, alt: "", loading: "lazy" }),
          h(
            "div",
            { class: "line-main" },
            h(
              "div",
              { class: "line-name" },
              `${s.name} × ${s.quantity}`,
              isNew ? h("span", { class: "new-badge", testid: "suggestion-new" }, "new") : null,
            ),
            h("div", { class: "muted small" }, `suggested by ${s.by === this.app.me.id ? "you" : s.by_name}`, s.note ? ` · “${s.note}”` : ""),
            up.length || down.length
              ? h(
                  "div",
                  { class: "muted small", testid: "suggestion-voters" },
                  up.length ? `For: ${up.join(", ")}` : "",
                  up.length && down.length ? " · " : "",
                  down.length ? `Against: ${down.join(", ")}` : "",
                )
              : null,
          ),
          h(
            "div",
            { class: "votes" },
            canVote ? this.voteButton(s, 1, mine, isReal) : null,
            h("span", { class: "score", testid: "suggestion-score", "aria-label": `Score ${s.score}` }, s.score),
            canVote ? this.voteButton(s, -1, mine, isReal) : null,
          ),
          h(
            "div",
            { class: "suggestion-actions" },
            canAccept
              ? h(
                  "button",
                  {
                    class: "primary small",
                    testid: "suggestion-accept",
                    "aria-label": `Accept ${s.name}`,
                    disabled: !isReal,
                    onclick: () => this.submit({ kind: "accept_suggestion", suggestion_id: s.suggestion_id }),
                  },
                  "Accept",
                )
              : null,
            canAccept
              ? h(
                  "button",
                  {
                    class: "ghost small",
                    testid: "suggestion-reject",
                    "aria-label": `Turn down ${s.name}`,
                    disabled: !isReal,
                    onclick: () => this.submit({ kind: "reject_suggestion", suggestion_id: s.suggestion_id }),
                  },
                  "Turn down",
                )
              : null,
            s.by === this.app.me.id && !canAccept
              ? h(
                  "button",
                  {
                    class: "ghost small",
                    testid: "suggestion-withdraw",
                    "aria-label": `Withdraw your suggestion of ${s.name}`,
                    disabled: !isReal,
                    onclick: () => this.submit({ kind: "withdraw_suggestion", suggestion_id: s.suggestion_id }),
                  },
                  "Withdraw",
                )
              : null,
          ),
        );
      }),
    );
  }

  /** New suggestions count as seen once the list has been on screen a moment. */
  private noticeSeen(): void {
    if (!this.suggestionsVisible || this.suggestionsBadge.hidden) {
      if (!this.suggestionsVisible) window.clearTimeout(this.seenTimer);
      this.seenTimer = this.suggestionsVisible ? this.seenTimer : undefined;
      return;
    }
    if (this.seenTimer !== undefined) return;
    this.seenTimer = window.setTimeout(() => {
      this.seenTimer = undefined;
      if (!this.suggestionsVisible || !this.seenSuggestions) return;
      for (const s of this.view().suggestions) this.seenSuggestions.add(s.suggestion_id);
      this.render();
    }, NEW_SUGGESTION_SEEN_MS);
  }

  /** ▲ (`value` 1) or ▼ (-1); pressing one's own vote again withdraws it. */
  private voteButton(s: SuggestionView, value: 1 | -1, mine: number, real: boolean): HTMLElement {
    const on = mine === value;
    return h(
      "button",
      {
        class: `vote ${on ? (value === 1 ? "on" : "on down") : ""}`,
        testid: value === 1 ? "vote-up" : "vote-down",
        "aria-label": `${value === 1 ? "Vote for" : "Vote against"} ${s.name}`,
        "aria-pressed": on ? "true" : "false",
        disabled: !real,
        onclick: () => this.submit({ kind: "vote", suggestion_id: s.suggestion_id, value: on ? 0 : value }),
      },
      value === 1 ? "▲" : "▼",
    );
  }

  private renderActivity(): void {
    const entries = groupBursts(this.cart.activity).reverse();
    if (entries.length === 0) {
      mount(this.activity, h("li", { class: "empty" }, "Nothing has happened yet."));
      mount(this.activityMore);
      return;
    }
    const shown = entries.slice(0, this.activityShown);
    mount(
      this.activity,
      shown.map(({ event: e, count }) =>
        h(
          "li",
          { class: `event ${e.kind === "chat" ? "is-chat" : ""}`, testid: "activity-event", "data-kind": e.kind, "data-count": count },
          h("span", { class: "avatar tiny", style: `--h:${hue(e.user_id)}`, "aria-hidden": "true" }, initials(e.user_name)),
          h(
            "span",
            { class: "event-text" },
            readable(e.text),
            count > 1 ? h("span", { class: "muted small", testid: "activity-burst" }, ` (${count} edits)`) : null,
          ),
          h("time", { class: "muted small", datetime: new Date(e.at).toISOString() }, timeAgo(e.at)),
        ),
      ),
    );
    const more = entries.length > shown.length || !this.olderLoaded;
    const oldestSeq = this.cart.activity.reduce((m, e) => (e.seq > 0 ? Math.min(m, e.seq) : m), Infinity);
    mount(
      this.activityMore,
      more && (entries.length > shown.length || oldestSeq > 1)
        ? h("button", { class: "ghost small", testid: "activity-older", onclick: () => void this.showOlder() }, "Show older")
        : null,
    );
  }

  private async showOlder(): Promise<void> {
    this.activityShown += ACTIVITY_PAGE;
    if (!this.olderLoaded && groupBursts(this.cart.activity).length < this.activityShown) {
      try {
        mergeOlder(this.cart, await api.activity(this.cartId, 200));
        // The server keeps the last 200 for a page: that is as far back as it goes.
        this.olderLoaded = true;
      } catch (e) {
        this.app.notify(e instanceof ApiError ? e.message : "Older activity could not be loaded.");
      }
    }
    this.render();
  }

  private async loadCatalog(): Promise<boolean> {
    const q = this.search.value.trim();
    try {
      const { value: products, copy } = await api.catalog(q);
      if (q !== this.search.value.trim()) return true; // a newer search runs next
      this.products = products;
      this.catalogLoaded = true;
      for (const p of products) this.app.products.set(p.sku, p);
      this.catalogNote.hidden = !copy;
      this.catalogNote.textContent = copy ? "Showing the catalog as it was last loaded. Prices and stock may have changed." : "";
      this.render();
      return !copy;
    } catch (e) {
      if (e instanceof ApiError && !e.unreachable) {
        this.catalogNote.hidden = false;
        this.catalogNote.textContent = e.message;
        return true;
      }
      this.catalogNote.hidden = false;
      this.catalogNote.textContent =
        e instanceof ApiError ? `${e.message}` : "The catalog could not be loaded. Trying again…";
      this.render();
      return false;
    }
  }

  private renderCatalog(v: CartView): void {
    const canEdit = this.can("edit_lines");
    const canSuggest = this.can("suggest");
    if (this.products.length === 0) {
      mount(
        this.catalog,
        h("p", { class: "muted" }, this.catalogLoaded ? "No products match your search." : "Loading products…"),
      );
      return;
    }
    const inCart = new Map(v.lines.map((l) => [l.sku, l.quantity]));
    mount(
      this.catalog,
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
          canEdit
            ? h(
                "button",
                {
                  class: "primary small",
                  testid: "product-add",
                  "aria-label": `Add ${p.name}`,
                  "aria-disabled": full ? "true" : "false",
                  onclick: () => {
                    if (full) {
                      this.app.notify(p.stock <= 0 ? `${p.name} is out of stock.` : `There are only ${p.stock} of ${p.name} in stock.`, "info");
                      return;
                    }
                    this.submit({ kind: "add_line", sku: p.sku, quantity: 1 });
                    this.app.notify(`Added ${p.name} · ${have + 1} in the cart`, "info");
                    this.pulse();
                  },
                },
                "Add",
              )
            : canSuggest
              ? this.suggesting?.sku === p.sku
                ? this.suggestForm(p)
                : h(
                    "button",
                    {
                      class: "secondary small",
                      testid: "product-suggest",
                      "aria-label": `Suggest ${p.name}`,
                      onclick: () => {
                        const qty = h("input", { type: "number", min: 1, max: 999, value: 1, testid: "suggest-qty", "aria-label": `How many ${p.name}` });
                        const note = h("input", { type: "text", maxlength: 500, testid: "suggest-note", placeholder: "Why? (optional)", "aria-label": `A note on ${p.name}` });
                        this.suggesting = { sku: p.sku, qty, note };
                        this.render();
                        qty.focus();
                        qty.select();
                      },
                    },
                    "Suggest",
                  )
              : null,
        );
      }),
    );
  }

  /** How many, and why: a suggestion for the editors. */
  private suggestForm(p: Product): HTMLFormElement {
    const { qty, note } = this.suggesting!;
    const close = () => {
      this.suggesting = undefined;
      this.render();
      (this.catalog.querySelector(`[data-key="prod:${CSS.escape(p.sku)}"] [data-testid="product-suggest"]`) as HTMLElement | null)?.focus();
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
            this.app.notify("Quantities must stay between 1 and 999.");
            qty.focus();
            return;
          }
          const text = note.value.trim();
          this.submit({ kind: "suggest", sku: p.sku, quantity, ...(text ? { note: text } : {}) });
          this.app.notify(`You suggested ${p.name} × ${quantity}. An editor can add it to the cart.`, "info");
          close();
        },
        onkeydown: (ev: KeyboardEvent) => {
          if (ev.key === "Escape") close();
        },
      },
      qty,
      note,
      h("div", { class: "suggest-actions" },
        h("button", { type: "submit", class: "secondary small", testid: "suggest-send" }, "Suggest"),
        h("button", { type: "button", class: "ghost small", onclick: close }, "Cancel"),
      ),
    );
  }

  /** The phone's bottom bar: the catalog and the cart, one tap apart. */
  private renderBar(v: CartView): void {
    const fresh = this.suggestionsBadge.hidden ? "" : ` · ${this.suggestionsBadge.textContent} suggestion`;
    mount(
      this.bar,
      h(
        "button",
        { class: "bar-catalog", testid: "bar-catalog", onclick: () => this.jump("catalog") },
        "Catalog",
      ),
      h(
        "button",
        { class: "bar-cart primary", testid: "bar-cart", onclick: () => this.jump("lines") },
        h("span", { testid: "bar-count" }, `Cart · ${plural(v.item_count, "item")}`),
        h("strong", { testid: "bar-subtotal" }, money(v.subtotal, v.currency)),
        fresh ? h("span", { class: "new-badge" }, fresh.slice(3)) : null,
      ),
    );
    if (this.lastCount !== undefined && v.item_count > this.lastCount) this.pulse();
    this.lastCount = v.item_count;
  }

  private pulse(): void {
    const b = this.bar.querySelector(".bar-cart");
    if (!b) return;
    b.classList.remove("pulse");
    void (b as HTMLElement).offsetWidth;
    b.classList.add("pulse");
  }

  /** Scrolls to a section and gives its heading the focus (for keyboards and screen readers). */
  private jump(to: "catalog" | "lines"): void {
    const section = this.sections[to];
    section.scrollIntoView({ block: "start" });
    const target = to === "catalog" ? this.search : (section.querySelector("h2") as HTMLElement);
    target.focus({ preventScroll: true });
  }

  private async loadSwitcher(): Promise<boolean> {
    try {
      const { value: carts, copy } = await api.carts();
      this.switcherCarts = carts;
      this.drawSwitcher(this.view().name);
      return !copy;
    } catch (e) {
      return e instanceof ApiError && !e.unreachable;
    }
  }

  /** The switcher, with this cart under the name it has now. */
  private drawSwitcher(current: string): void {
    const carts = (this.switcherCarts ?? []).map((c) => ({ id: c.id, name: c.id === this.cartId && current ? current : c.name }));
    if (!carts.some((c) => c.id === this.cartId)) carts.unshift({ id: this.cartId, name: current || "This cart" });
    const same =
      this.switcher.options.length === carts.length &&
      carts.every((c, i) => this.switcher.options[i]?.value === c.id && this.switcher.options[i]?.text === c.name);
    if (same) return;
    mount(
      this.switcher,
      carts.map((c) => h("option", { value: c.id, selected: c.id === this.cartId }, c.name)),
    );
    this.switcher.value = this.cartId;
  }
}

/** An activity entry, standing for `count` events in a row. */
interface Entry {
  event: ActivityEvent;
  count: number;
}

const EDIT_KINDS = new Set(["add_line", "change_quantity", "set_quantity"]);

/** The product an edit sentence names: "Ana changed Blue Mug to 3." → "Blue Mug". */
function productOf(e: ActivityEvent): string | undefined {
  if (!EDIT_KINDS.has(e.kind)) return undefined;
  const prefix = `${e.user_name} `;
  if (!e.text.startsWith(prefix)) return undefined;
  const m = /^(?:added|changed|set) (.+?)(?:\*\d+| to \d+)\. /.exec(e.text.slice(prefix.length));
  return m?.[1];
}

/**
 * A burst of one person's edits of one product (added, then +, +, +) reads
 * as one entry: the last sentence, which says where it ended up.
 */
export function groupBursts(events: ActivityEvent[]): Entry[] {
  const out: Entry[] = [];
  for (const e of events) {
    const prev = out[out.length - 1];
    const product = productOf(e);
    if (
      prev &&
      product !== undefined &&
      prev.event.user_id === e.user_id &&
      productOf(prev.event) === product &&
      e.at - prev.event.at <= BURST_MS
    ) {
      out[out.length - 1] = { event: e, count: prev.count + 1 };
    } else {
      out.push({ event: e, count: 1 });
    }
  }
  return out;
}

/** "Blue Mug*2" as people write it: "Blue Mug ×2". */
function readable(text: string): string {
  return text.replace(/\*(\d+)/g, " ×$1");
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
  checkout: "check out",
  approve: "approve orders",
};

/** The role badge's tooltip: what the server says this user may do. */
function capabilityHelp(capabilities: Capabilities): string {
  const words = [...capabilities].map((c) => CAPABILITY_WORDS[c]);
  if (words.length === 0) return "";
  const last = words.pop()!;
  return `You can ${words.length ? `${words.join(", ")} and ${last}` : last}.`;
}
