// The support console, `#/console` and `#/console/{conversation}`: for the
// store's agents. Three parts, side by side on a desk and one after the
// other on a phone: the conversations (newest first, with unread counts and
// status), the open conversation's thread with the cart tips inline and a
// reply field (console-thread.ts), and the customer's carts, live, with the
// takeover controls and the history (console-panel.ts).
//
// Live over the page's one socket: `support_message` and
// `support_conversation` frames update the list and the thread; the panel's
// carts are watched (subscribed as a viewer), and each change of one loads
// the panel again. After a reconnection everything is loaded again.

import "../support.css";
import { ApiError } from "../api";
import type { App } from "../app";
import { h, keepFocus, mount } from "../dom";
import { timeAgo } from "../format";
import { onReconnect, onSupportFrame, supportApi, type Conversation, type ConversationStatus, type SupportFrame } from "../support-api";
import { CartPanel } from "./console-panel";
import { Thread } from "./console-thread";

type Filter = ConversationStatus | "all";

export class ConsolePage {
  readonly el: HTMLElement;
  private readonly list = h("ul", { class: "conversation-list", testid: "conversation-list", "aria-label": "Conversations, newest first" });
  private readonly listNote = h("p", { class: "muted small", testid: "conversations-note" });
  private readonly storeSelect = h("select", { id: "console-store", testid: "console-store" });
  private readonly filterSelect = h(
    "select",
    { id: "console-filter", testid: "console-filter" },
    h("option", { value: "open" }, "Open"),
    h("option", { value: "closed" }, "Closed"),
    h("option", { value: "all" }, "All"),
  );
  private readonly thread: Thread;
  private readonly panel: CartPanel;
  private conversations: Conversation[] = [];
  private storeId: string | undefined;
  private selected: string | undefined;
  private readonly stops: (() => void)[] = [];
  private reloadQueued = false;

  constructor(app: App, selected: string | undefined) {
    this.selected = selected;
    this.thread = new Thread(app, (c) => this.updated(c));
    this.panel = new CartPanel(app);
    this.storeSelect.addEventListener("change", () => {
      this.storeId = this.storeSelect.value;
      void this.loadList();
    });
    this.filterSelect.addEventListener("change", () => void this.loadList());
    this.el = h(
      "div",
      { class: "page console-page", testid: "console-page" },
      h(
        "div",
        { class: "console-head" },
        h("h1", null, "Support"),
        h(
          "div",
          { class: "console-filters" },
          h("label", { class: "field inline", for: "console-store" }, h("span", null, "Store"), this.storeSelect),
          h("label", { class: "field inline", for: "console-filter" }, h("span", null, "Show"), this.filterSelect),
        ),
      ),
      h(
        "div",
        { class: "console-grid" },
        h(
          "section",
          { class: "card console-list", "aria-labelledby": "h-conversations" },
          h("h2", { id: "h-conversations", tabindex: -1 }, "Conversations"),
          this.listNote,
          this.list,
        ),
        this.thread.el,
        this.panel.el,
      ),
    );
    this.stops.push(
      onSupportFrame(app.live, (f) => this.frame(f)),
      onReconnect(app.live, () => {
        void this.loadList();
        if (this.selected) void this.open(this.selected, false);
      }),
    );
    void this.start();
  }

  destroy(): void {
    for (const stop of this.stops) stop();
    this.thread.destroy();
    this.panel.destroy();
  }

  /** A watched cart changed (from the connection). */
  changed(cartId: string): void {
    this.panel.changed(cartId);
  }

  /** The route named another conversation (or none). */
  select(id: string | undefined): void {
    if (id === this.selected) return;
    this.selected = id;
    this.drawList();
    if (id) void this.open(id, true);
    else {
      this.thread.show(undefined);
      this.panel.show(undefined);
    }
  }

  private async start(): Promise<void> {
    let stores: Awaited<ReturnType<typeof supportApi.myStores>>;
    try {
      stores = await supportApi.myStores();
    } catch (e) {
      this.fail(e);
      return;
    }
    if (stores.length === 0) {
      mount(this.el, h("h1", null, "Support"), h("p", { testid: "console-not-staff" }, "This page is for the store's staff."));
      return;
    }
    mount(this.storeSelect, stores.map((s) => h("option", { value: s.id }, s.name)));
    this.panel.allow(new Set(stores.filter((s) => s.customer_update).map((s) => s.id)));
    this.storeSelect.closest("label")!.hidden = stores.length < 2;
    this.storeId = stores[0]!.id;
    await this.loadList();
    if (this.selected) await this.open(this.selected, false);
  }

  private async loadList(): Promise<void> {
    if (!this.storeId) return;
    const filter = this.filterSelect.value as Filter;
    try {
      this.conversations = await supportApi.list(this.storeId, filter === "all" ? undefined : filter);
      this.listNote.textContent = "";
    } catch (e) {
      this.listNote.textContent = e instanceof ApiError ? e.message : "The conversations could not be loaded.";
    }
    this.drawList();
  }

  /** Loads the list again soon: a message came for a conversation it does not show. */
  private reloadSoon(): void {
    if (this.reloadQueued) return;
    this.reloadQueued = true;
    queueMicrotask(() => {
      this.reloadQueued = false;
      void this.loadList();
    });
  }

  private async open(id: string, focus: boolean): Promise<void> {
    let c = this.conversations.find((x) => x.id === id);
    try {
      c = await supportApi.get(id);
    } catch (e) {
      if (!c) {
        this.thread.showError(e instanceof ApiError ? e.message : "This conversation could not be loaded.");
        return;
      }
    }
    if (this.selected !== id) return;
    this.updated(c);
    await this.thread.show(c);
    this.panel.show(c);
    if (focus) this.thread.focus();
  }

  private frame(f: SupportFrame): void {
    if (f.type === "support_message") {
      const c = this.conversations.find((x) => x.id === f.conversation_id);
      if (!c) {
        if (this.matchesFilter("open")) this.reloadSoon();
      } else if (f.message.kind !== "tip") {
        this.updated({ ...c, updated_at: f.message.at, last_message: f.message, last_seq: Math.max(c.last_seq, f.message.seq) });
      }
      if (f.conversation_id === this.selected) this.thread.received(f.message);
      return;
    }
    if (f.type === "support_conversation") {
      if (f.conversation.store_id !== this.storeId) return;
      this.updated(f.conversation);
      if (f.conversation.id === this.selected) this.thread.statusChanged(f.conversation);
      return;
    }
    this.panel.takeoverFrame(f.takeover);
  }

  private matchesFilter(status: ConversationStatus): boolean {
    const filter = this.filterSelect.value as Filter;
    return filter === "all" || filter === status;
  }

  /** A conversation as it is now: into the list (if it fits the filter), newest first. */
  private updated(c: Conversation): void {
    const rest = this.conversations.filter((x) => x.id !== c.id);
    const shown = c.id === this.selected ? { ...c, unread_for_agents: this.thread.readAll(c) } : c;
    this.conversations = this.matchesFilter(c.status) ? [shown, ...rest] : rest;
    this.conversations.sort((a, b) => b.updated_at - a.updated_at);
    this.drawList();
  }

  private drawList(): void {
    keepFocus(this.el, () => {
      if (this.conversations.length === 0) {
        mount(this.list, h("li", { class: "empty muted" }, "No conversations here yet."));
        return;
      }
      mount(
        this.list,
        this.conversations.map((c) => {
          const current = c.id === this.selected;
          const unread = current ? 0 : c.unread_for_agents;
          return h(
            "li",
            { "data-key": `conversation:${c.id}` },
            h(
              "a",
              {
                class: `conversation ${current ? "current" : ""}`,
                href: `#/console/${c.id}`,
                testid: "conversation",
                "data-id": c.id,
                "data-status": c.status,
                "data-unread": unread,
                "aria-current": current ? "true" : undefined,
              },
              h(
                "span",
                { class: "conversation-top" },
                h("strong", { class: "conversation-name", testid: "conversation-name" }, c.customer.name),
                unread > 0 ? h("span", { class: "unread", testid: "conversation-unread" }, h("span", { class: "sr-only" }, "unread: "), String(unread)) : null,
              ),
              h("span", { class: "conversation-text muted small" }, c.last_message?.text ?? ""),
              h(
                "span",
                { class: "conversation-meta small" },
                h("span", { class: `status status-${c.status}`, testid: "conversation-status" }, c.status),
                h("time", { class: "muted", datetime: new Date(c.updated_at).toISOString() }, timeAgo(c.updated_at)),
              ),
            ),
          );
        }),
      );
    });
  }

  private fail(e: unknown): void {
    mount(this.list, h("li", { class: "form-error" }, e instanceof ApiError ? e.message : "The support console could not be loaded."));
  }
}
