// The shopper's chat with the store, on every page: a "Chat" button in the
// top bar (with the number of the store's answers not read yet) opens a
// panel with the conversation and a field to write in. The conversation is
// opened on the server the first time the panel is (`POST
// /api/support/conversations`); its id is kept on this device so that the
// unread count shows on later visits without opening anything. Answers come
// live over the page's socket (`support_message`, `support_conversation`).
//
// The panel is not modal: Escape or the close button shuts it and gives the
// focus back to the button.

import "./support.css";
import { api, ApiError } from "./api";
import type { App } from "./app";
import { h, mount } from "./dom";
import { onReconnect, onSupportFrame, supportApi, type Conversation, type SupportMessage } from "./support-api";

const KEPT_KEY = "cartroom.support";

export class ChatWidget {
  /** The top bar's button. */
  readonly button: HTMLButtonElement;
  /** The panel, placed by the page after the top bar. */
  readonly panel: HTMLElement;
  private readonly badge = h("span", { class: "chat-badge", testid: "chat-unread", hidden: true, "aria-hidden": "true" });
  private readonly thread = h("ol", { class: "support-thread", testid: "support-chat-thread", "aria-label": "Messages" });
  private readonly input = h("input", {
    type: "text",
    id: "support-chat-input",
    maxlength: 2000,
    autocomplete: "off",
    testid: "support-chat-input",
    placeholder: "Ask the store anything",
  });
  private readonly error = h("p", { class: "form-error", testid: "support-chat-error", hidden: true });
  private readonly title = h("h2", { id: "support-chat-title", tabindex: -1 }, "Chat with the store");
  private storeId: string | undefined;
  private conversation: Conversation | undefined;
  private messages: SupportMessage[] = [];
  private unread = 0;
  /** The conversation being opened (the panel's first showing): a message waits for it. */
  private opening: Promise<void> = Promise.resolve();
  private readonly stops: (() => void)[] = [];

  constructor(private readonly app: App) {
    this.button = h(
      "button",
      {
        class: "ghost chat-toggle",
        testid: "chat-toggle",
        "aria-expanded": "false",
        "aria-controls": "support-chat",
        onclick: () => (this.panel.hidden ? this.show() : this.hide()),
      },
      bubble(),
      h("span", { class: "chat-label" }, "Chat"),
      this.badge,
    );
    this.panel = h(
      "section",
      {
        class: "support-chat",
        id: "support-chat",
        testid: "support-chat",
        hidden: true,
        "aria-labelledby": "support-chat-title",
        onkeydown: (ev: KeyboardEvent) => {
          if (ev.key === "Escape") this.hide();
        },
      },
      h(
        "div",
        { class: "support-chat-head" },
        this.title,
        h("button", { class: "ghost small", testid: "support-chat-close", "aria-label": "Close the chat", onclick: () => this.hide() }, "Close"),
      ),
      this.thread,
      this.error,
      h(
        "form",
        { class: "support-chat-form", onsubmit: (ev: Event) => void this.sendNow(ev) },
        h("label", { class: "sr-only", for: "support-chat-input" }, "Message to the store"),
        this.input,
        h("button", { type: "submit", class: "primary small", testid: "support-chat-send" }, "Send"),
      ),
    );
    this.stops.push(
      onSupportFrame(app.live, (f) => {
        if (f.type === "support_message" && f.conversation_id === this.conversation?.id) this.received(f.message);
        else if (f.type === "support_conversation" && f.conversation.id === this.conversation?.id) this.counted(f.conversation);
      }),
      onReconnect(app.live, () => void this.refresh()),
    );
    this.drawBadge();
    void this.resume();
  }

  destroy(): void {
    for (const stop of this.stops) stop();
  }

  /** Hidden on pages that are not a shopper's (the support console). */
  set shown(on: boolean) {
    this.button.hidden = !on;
    if (!on) this.hide(false);
  }

  /** The store this chat talks to: the default store until a cart page says otherwise. */
  private async store(): Promise<string> {
    this.storeId ??= (await api.store()).id;
    return this.storeId;
  }

  /** A cart page is open: the chat is with that cart's store (its conversation, its unread count). */
  async followCart(cartId: string): Promise<void> {
    let store: string;
    try {
      store = await api.cartStore(cartId);
    } catch {
      return; /* the cart's store is not known now: the chat stays with the one it has */
    }
    if (store === this.storeId) return;
    this.storeId = store;
    this.conversation = undefined;
    this.messages = [];
    this.counted(undefined);
    if (this.panel.hidden) await this.resume();
    else this.opening = this.openAndLoad();
  }

  /** Where this user's conversation with the store is kept on this device. */
  private keyed(): string {
    return `${this.app.me.id}:${this.storeId ?? ""}`;
  }

  private keptId(): string | undefined {
    try {
      const kept = JSON.parse(localStorage.getItem(KEPT_KEY) ?? "{}") as Record<string, string>;
      return kept[this.keyed()];
    } catch {
      return undefined;
    }
  }

  private keep(id: string): void {
    try {
      const kept = JSON.parse(localStorage.getItem(KEPT_KEY) ?? "{}") as Record<string, string>;
      kept[this.keyed()] = id;
      localStorage.setItem(KEPT_KEY, JSON.stringify(kept));
    } catch {
      /* not kept: the count shows once the chat is opened */
    }
  }

  /** A conversation opened on an earlier visit: its unread count, without opening anything new. */
  private async resume(): Promise<void> {
    try {
      await this.store();
    } catch {
      return; /* the store is not known now: the next open finds it */
    }
    const id = this.keptId();
    if (!id) return;
    try {
      this.counted(await supportApi.get(id));
    } catch {
      /* gone, or not reachable now: the next open finds it */
    }
  }

  private async refresh(): Promise<void> {
    if (!this.conversation) return;
    try {
      this.counted(await supportApi.get(this.conversation.id));
      if (!this.panel.hidden) await this.load();
    } catch {
      /* tried again on the next reconnection */
    }
  }

  private show(): void {
    this.panel.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    this.input.focus();
    this.error.hidden = true;
    this.opening = this.openAndLoad();
  }

  private async openAndLoad(): Promise<void> {
    try {
      if (!this.conversation || this.conversation.id !== this.keptId()) {
        const c = await supportApi.open(await this.store());
        this.keep(c.id);
        this.counted(c);
      }
      await this.load();
    } catch (e) {
      this.fail(e);
    }
  }

  private hide(giveFocus = true): void {
    if (this.panel.hidden) return;
    const inside = this.panel.contains(document.activeElement);
    this.panel.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
    if (giveFocus && inside) this.button.focus();
  }

  private async load(): Promise<void> {
    const c = this.conversation;
    if (!c) return;
    this.messages = await supportApi.messages(c.id);
    this.draw();
    this.markRead();
  }

  private async sendNow(ev: Event): Promise<void> {
    ev.preventDefault();
    await this.opening;
    const text = this.input.value.trim();
    if (!text || !this.conversation) return;
    this.error.hidden = true;
    try {
      const m = await supportApi.send(this.conversation.id, text);
      this.input.value = "";
      this.received(m);
    } catch (e) {
      this.fail(e);
    }
  }

  private received(m: SupportMessage): void {
    if (this.messages.some((x) => x.seq === m.seq)) return;
    this.messages = [...this.messages, m].sort((a, b) => a.seq - b.seq);
    if (this.panel.hidden) {
      // `support_conversation` brings the server's count; this shows it at once.
      if (m.kind === "agent") {
        this.unread += 1;
        this.drawBadge();
      }
      return;
    }
    this.draw();
    if (m.kind === "agent") {
      this.app.announce(`${m.author_name}: ${m.text}`);
      this.markRead();
    }
  }

  private counted(c: Conversation | undefined): void {
    this.conversation = c;
    this.unread = c && this.panel.hidden ? c.unread_for_customer : 0;
    this.drawBadge();
  }


  private markRead(): void {
    const c = this.conversation;
    const last = this.messages[this.messages.length - 1];
    if (!c || !last) return;
    this.unread = 0;
    this.drawBadge();
    supportApi.read(c.id, last.seq).catch(() => undefined);
  }

  private drawBadge(): void {
    this.badge.hidden = this.unread === 0;
    this.badge.textContent = String(this.unread);
    this.button.setAttribute(
      "aria-label",
      this.unread > 0 ? `Chat with the store, ${this.unread} unread` : "Chat with the store",
    );
  }

  private draw(): void {
    const atBottom = this.thread.scrollTop + this.thread.clientHeight >= this.thread.scrollHeight - 8;
    mount(
      this.thread,
      this.messages.length === 0
        ? h("li", { class: "muted small" }, "Ask us anything: we answer here, usually within minutes.")
        : this.messages.map((m) =>
            h(
              "li",
              { class: `support-msg from-${m.kind === "customer" ? "me" : "store"}`, testid: "support-chat-message", "data-kind": m.kind, "data-seq": m.seq },
              m.kind === "customer" ? null : h("span", { class: "support-msg-who" }, m.author_name),
              h("span", { class: "support-msg-text" }, m.text),
              h("time", { class: "muted small", datetime: new Date(m.at).toISOString() }, clock(m.at)),
            ),
          ),
    );
    if (atBottom) this.thread.scrollTop = this.thread.scrollHeight;
  }

  private fail(e: unknown): void {
    this.error.textContent = e instanceof ApiError ? e.message : "The chat could not be loaded. Please try again.";
    this.error.hidden = false;
  }
}

/** A speech bubble (the chat button's icon; its words are in its label). */
function bubble(): SVGSVGElement {
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  for (const [k, v] of Object.entries({ viewBox: "0 0 24 24", "aria-hidden": "true", fill: "none", stroke: "currentColor", "stroke-width": "2", "stroke-linejoin": "round", class: "chat-icon" })) {
    svg.setAttribute(k, v);
  }
  const path = document.createElementNS(NS, "path");
  path.setAttribute("d", "M4 5h16v11H9l-5 4z");
  svg.appendChild(path);
  return svg;
}

/** "21:10", or "Nov 24, 21:10" for an earlier day. */
export function clock(at: number): string {
  const d = new Date(at);
  const time = d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  if (d.toDateString() === new Date().toDateString()) return time;
  return `${d.toLocaleDateString(undefined, { month: "short", day: "numeric" })}, ${time}`;
}
