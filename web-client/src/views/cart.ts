// The cart page: lines, subtotal, notes, suggestions, catalog, presence,
// activity, members. Rendered from the Automerge replica plus this client's
// pending ops; each card is its own module (`cart-lines.ts`,
// `cart-catalog.ts`, `cart-suggestions.ts`, `cart-activity.ts`) and this page
// holds them, the title, presence, the switcher, undo and the phone's bar.
//
// Re-rendering keeps the keyboard focus where it was: every control carries
// a `data-testid` and sits in a row with a `data-key`, and the control with
// the same pair gets the focus back after a redraw (`keepFocus`).
//
// On a phone the page is one column (cart, catalog, suggestions, activity,
// members) with a bar fixed at the bottom: "Catalog" and "Cart · 3 items ·
// $36.00", each one tap from the other.

import { api, ApiError } from "../api";
import { capabilityHelp } from "../capabilities";
import type { App } from "../app";
import { h, keepFocus, mount } from "../dom";
import { hue, initials, money, plural } from "../format";
import type { CartLive } from "../cart-live";
import { CARTS_CHANGED_EVENT, Retrier } from "../retry";
import type { ActivityEvent, Capability, CartSummary, CartView, Op } from "../types";
import { UndoStack, undoableOf } from "../undo";
import { ActivityCard } from "./cart-activity";
import { CatalogCard } from "./cart-catalog";
import type { CartHost } from "./cart-host";
import { LinesCard } from "./cart-lines";
import { SuggestionsCard } from "./cart-suggestions";
import { MembersPanel } from "./members";
import { shareButton } from "./share"; // sharing
import { CheckoutPanel } from "./checkout"; // checkout
import { TakeoverBanner } from "../takeover-banner"; // support desk

const ENDED_WORDS: Record<string, string> = {
  removed: "You are no longer a member of this cart.",
  deleted: "This cart has been deleted.",
  not_found: "This cart doesn't exist, or you're not a member of it.",
};

export class CartPage implements CartHost {
  readonly el: HTMLElement;
  readonly cart: CartLive;
  private readonly title = h("div", { class: "title-row" });
  private readonly presence = h("div", { class: "presence", testid: "presence" });
  private readonly switcher = h("select", { class: "switcher", testid: "cart-switcher", "aria-label": "Switch cart" });
  private readonly body = h("div", { class: "cart-body" });
  private readonly bar = h("nav", { class: "cart-bar", testid: "cart-bar", "aria-label": "Cart and catalog" });
  private readonly lines: LinesCard;
  private readonly catalog: CatalogCard;
  private readonly suggestions: SuggestionsCard;
  private readonly activity: ActivityCard;
  private readonly members: MembersPanel;
  private readonly checkoutPanel: CheckoutPanel; // checkout
  private readonly takeover: TakeoverBanner; // support desk
  private readonly switcherLoader: Retrier;
  private switcherCarts: CartSummary[] | undefined;
  private renaming = false;
  private scheduled = false;
  private lastSeq: number | undefined;
  private lastCount: number | undefined;
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
    readonly app: App,
    readonly cartId: string,
  ) {
    this.cart = app.live.open(cartId);
    this.members = new MembersPanel(app, cartId);
    this.checkoutPanel = new CheckoutPanel(app, this.cart); // checkout
    this.takeover = new TakeoverBanner(app, cartId); // support desk
    this.lines = new LinesCard(this, this.undoButton);
    this.catalog = new CatalogCard(this, () => this.pulse());
    this.suggestions = new SuggestionsCard(this, () => this.names());
    this.activity = new ActivityCard(this);
    this.switcherLoader = new Retrier(() => this.loadSwitcher(), [CARTS_CHANGED_EVENT]);
    this.switcher.addEventListener("change", () => app.go(`#/cart/${this.switcher.value}`));
    this.undoButton.addEventListener("click", () => this.undoLast());
    document.addEventListener("keydown", this.onKey);
    this.el = h(
      "div",
      { class: "page cart-page", testid: "cart-page", "data-cart-id": cartId },
      h("div", { class: "cart-head" }, this.title, this.presence),
      this.takeover.el, // support desk
      this.body,
      this.bar,
    );
    this.layout();
    for (const type of ["focusin", "focusout", "input"]) this.el.addEventListener(type, () => queueMicrotask(() => this.noticeActivity()));
    this.switcherLoader.again();
    this.render();
  }

  destroy(): void {
    document.removeEventListener("keydown", this.onKey);
    window.clearTimeout(this.statusTimer);
    this.activity.destroy();
    this.suggestions.destroy();
    this.catalog.destroy();
    this.switcherLoader.stop();
    this.members.destroy();
    this.checkoutPanel.destroy(); // checkout
    this.takeover.destroy(); // support desk
    this.app.live.close(this.cartId);
  }

  /** The store changed a price or stock of this cart: the catalog card shows it too. */
  catalogChanged(): void {
    this.catalog.reload();
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
          this.lines.el,
          this.checkoutPanel.el, // checkout
          this.suggestions.el,
          this.activity.el,
        ),
        h("div", { class: "col" }, this.catalog.el, this.members.el),
      ),
    );
  }

  view(): CartView {
    return this.cart.replica.view({ id: this.app.me.id, name: this.app.me.name }, this.app.products);
  }

  can(capability: Capability): boolean {
    return this.cart.can(capability);
  }

  submit(op: Op, undoable = true): void {
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
    if (hadFocus && this.undoButton.hidden) this.lines.heading.focus();
  }

  /** Tells the others what this person is doing here, when it changes. */
  private noticeActivity(): void {
    const active = document.activeElement;
    const chat = this.activity.chatInput;
    let status = "";
    if (active && active === chat && chat.value.trim()) status = "typing in chat";
    else if (active && this.catalog.el.contains(active)) status = "looking at the catalog";
    if (status === this.status) return;
    this.status = status;
    window.clearTimeout(this.statusTimer);
    this.statusTimer = window.setTimeout(() => this.app.live.presence(this.cartId, this.status), 250);
  }

  render(): void {
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
      this.lines.render(v);
      this.suggestions.render(v);
      this.activity.render();
      this.catalog.render(v);
      this.renderBar(v);
      const next = this.undo.peek();
      this.undoButton.hidden = !next;
      this.undoButton.textContent = next ? `Undo ${next.label}` : "Undo";
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

  /** Who is who, from everything this page has heard. */
  private names(): Map<string, string> {
    const names = new Map<string, string>();
    for (const e of this.cart.activity) names.set(e.user_id, e.user_name);
    for (const m of this.members.known()) names.set(m.user_id, m.name);
    for (const p of this.cart.presence) names.set(p.user_id, p.name);
    names.set(this.app.me.id, "you");
    return names;
  }

  /** The phone's bottom bar: the catalog and the cart, one tap apart. */
  private renderBar(v: CartView): void {
    const badge = this.suggestions.badge;
    const fresh = badge.hidden ? "" : ` · ${badge.textContent} suggestion`;
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
    const section = to === "catalog" ? this.catalog.el : this.lines.el;
    section.scrollIntoView({ block: "start" });
    const target = to === "catalog" ? this.catalog.search : this.lines.heading;
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
