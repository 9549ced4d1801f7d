// The support console's thread: one conversation's messages in order, the
// customer's, the agents' and the cart tips (staff only, shown inline in
// their own style, word for word as the server wrote them); a reply field;
// Close / Reopen. What is shown is marked read.

import { ApiError } from "../api";
import type { App } from "../app";
import { clock } from "../chat-widget";
import { h, keepFocus, mount } from "../dom";
import { supportApi, type Conversation, type SupportMessage } from "../support-api";

export class Thread {
  readonly el: HTMLElement;
  private readonly heading = h("h2", { id: "h-thread", tabindex: -1 }, "Conversation");
  private readonly head = h("div", { class: "thread-head" });
  private readonly list = h("ol", { class: "thread", testid: "thread", "aria-label": "Messages, oldest first" });
  private readonly error = h("p", { class: "form-error", testid: "thread-error", hidden: true });
  private readonly input = h("input", { type: "text", id: "reply-input", maxlength: 2000, autocomplete: "off", testid: "reply-input" });
  private readonly form: HTMLFormElement;
  private conversation: Conversation | undefined;
  private messages: SupportMessage[] = [];
  /** The last seq told to the server as read. */
  private readSeq = 0;

  constructor(
    private readonly app: App,
    /** The conversation changed here (status, read): the list shows it. */
    private readonly updated: (c: Conversation) => void,
  ) {
    this.form = h(
      "form",
      { class: "reply", testid: "reply-form", onsubmit: (ev: Event) => void this.send(ev) },
      h("label", { for: "reply-input", class: "field-label" }, "Reply"),
      h("div", { class: "reply-row" }, this.input, h("button", { type: "submit", class: "primary", testid: "reply-send" }, "Send")),
    );
    this.el = h(
      "section",
      { class: "card console-thread", "aria-labelledby": "h-thread", testid: "console-thread" },
      this.heading,
      this.head,
      this.list,
      this.error,
      this.form,
    );
    this.show(undefined);
  }

  destroy(): void {}

  focus(): void {
    this.heading.focus({ preventScroll: false });
  }

  showError(text: string): void {
    this.conversation = undefined;
    mount(this.head);
    mount(this.list);
    this.form.hidden = true;
    this.error.textContent = text;
    this.error.hidden = false;
  }

  async show(c: Conversation | undefined): Promise<void> {
    const same = c && this.conversation?.id === c.id;
    this.conversation = c;
    this.error.hidden = true;
    if (!c) {
      this.messages = [];
      this.heading.textContent = "Conversation";
      mount(this.head, h("p", { class: "muted" }, "Choose a conversation to read it and see the customer's carts."));
      mount(this.list);
      this.form.hidden = true;
      return;
    }
    if (!same) {
      this.messages = [];
      this.readSeq = 0;
    }
    this.form.hidden = false;
    this.drawHead();
    try {
      const after = same ? (this.messages[this.messages.length - 1]?.seq ?? 0) : 0;
      const more = await supportApi.messages(c.id, after);
      if (this.conversation?.id !== c.id) return;
      this.merge(more);
    } catch (e) {
      this.error.textContent = e instanceof ApiError ? e.message : "The messages could not be loaded.";
      this.error.hidden = false;
    }
    this.draw();
  }

  received(m: SupportMessage): void {
    this.merge([m]);
    this.draw();
    if (m.kind === "customer") this.app.announce(`${m.author_name}: ${m.text}`);
  }

  statusChanged(c: Conversation): void {
    this.conversation = c;
    this.drawHead();
  }

  /** The unread count of `c` once this thread has shown it: none. */
  readAll(c: Conversation): number {
    return this.conversation?.id === c.id ? 0 : c.unread_for_agents;
  }

  private merge(more: SupportMessage[]): void {
    const bySeq = new Map(this.messages.map((m) => [m.seq, m]));
    for (const m of more) bySeq.set(m.seq, m);
    this.messages = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  }

  private drawHead(): void {
    const c = this.conversation;
    if (!c) return;
    this.heading.textContent = `Conversation with ${c.customer.name}`;
    keepFocus(this.head, () =>
      mount(
        this.head,
        c.customer.email ? h("span", { class: "muted small", testid: "thread-email" }, c.customer.email) : null,
        h("span", { class: `status status-${c.status}`, testid: "thread-status" }, c.status),
        h(
          "button",
          {
            class: "secondary small",
            testid: c.status === "open" ? "conversation-close" : "conversation-reopen",
            onclick: () => void this.setStatus(c.status === "open" ? "closed" : "open"),
          },
          c.status === "open" ? "Close conversation" : "Reopen",
        ),
      ),
    );
  }

  private draw(): void {
    const c = this.conversation;
    if (!c) return;
    mount(
      this.list,
      this.messages.length === 0
        ? h("li", { class: "muted" }, "No messages yet.")
        : this.messages.map((m) =>
            h(
              "li",
              { class: `msg msg-${m.kind}`, testid: "thread-message", "data-kind": m.kind, "data-seq": m.seq },
              m.kind === "tip"
                ? h("span", { class: "msg-who tip-label" }, "Cart activity")
                : h("span", { class: "msg-who" }, m.kind === "agent" ? `${m.author_name} (store)` : m.author_name),
              h("span", { class: "msg-text", testid: "message-text" }, m.text),
              h("time", { class: "muted small", datetime: new Date(m.at).toISOString() }, clock(m.at)),
            ),
          ),
    );
    this.markRead();
  }

  private markRead(): void {
    const c = this.conversation;
    const last = this.messages[this.messages.length - 1];
    if (!c || !last || last.seq <= this.readSeq) return;
    this.readSeq = last.seq;
    supportApi.read(c.id, last.seq).catch(() => undefined);
    this.updated({ ...c, unread_for_agents: 0 });
  }

  private async send(ev: Event): Promise<void> {
    ev.preventDefault();
    const c = this.conversation;
    const text = this.input.value.trim();
    if (!c || !text) return;
    this.error.hidden = true;
    try {
      const m = await supportApi.send(c.id, text);
      this.input.value = "";
      this.merge([m]);
      this.draw();
      this.updated({ ...c, updated_at: m.at, last_message: m, last_seq: Math.max(c.last_seq, m.seq), unread_for_agents: 0 });
    } catch (e) {
      this.error.textContent = e instanceof ApiError ? e.message : "The message could not be sent.";
      this.error.hidden = false;
    }
  }

  private async setStatus(status: "open" | "closed"): Promise<void> {
    const c = this.conversation;
    if (!c) return;
    try {
      const next = await supportApi.setStatus(c.id, status);
      this.conversation = next;
      this.drawHead();
      this.updated(next);
      this.app.announce(status === "closed" ? "The conversation is closed." : "The conversation is open again.");
    } catch (e) {
      this.app.notify(e instanceof ApiError ? e.message : "The status could not be changed.");
    }
  }
}
