// The cart page's activity card: chat, and the feed newest first, where one
// person's burst of edits of one product reads as one entry, 20 at a time
// with "Show older".

import { api, ApiError } from "../api";
import { h, mount } from "../dom";
import { hue, initials, timeAgo } from "../format";
import { mergeOlder } from "../cart-live";
import type { ActivityEvent } from "../types";
import type { CartHost } from "./cart-host";

/** Activity entries shown at first, and added by each "Show older". */
const ACTIVITY_PAGE = 20;
/** One person's edits of one product this close together read as one entry. */
const BURST_MS = 2 * 60_000;

export class ActivityCard {
  readonly el: HTMLElement;
  /** The chat field, so presence can tell when this person is typing. */
  readonly chatInput = h("input", {
    type: "text",
    placeholder: "Say something to everyone here",
    maxlength: 1000,
    testid: "chat-input",
    "aria-label": "Chat message",
  });
  private readonly chat: HTMLFormElement;
  private readonly list = h("ol", { class: "activity", testid: "activity", "aria-label": "Activity, newest first" });
  private readonly more = h("div", { class: "activity-more" });
  private shown = ACTIVITY_PAGE;
  private olderLoaded = false;
  private readonly clock: number;

  constructor(private readonly host: CartHost) {
    this.chat = this.chatForm();
    this.el = h(
      "section",
      { class: "card", "aria-labelledby": "h-activity", "data-area": "activity" },
      h("h2", { id: "h-activity" }, "Activity"),
      this.chat,
      this.list,
      this.more,
    );
    // Relative times ("2 min ago") stay true without a change.
    this.clock = window.setInterval(() => this.render(), 30_000);
  }

  destroy(): void {
    window.clearInterval(this.clock);
  }

  /** A line of chat; it comes back to everyone as an activity event. */
  private chatForm(): HTMLFormElement {
    const { app, cartId } = this.host;
    return h(
      "form",
      {
        class: "chat",
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          const text = this.chatInput.value.trim();
          if (!text) return;
          if (!app.live.chat(cartId, text)) {
            app.notify("You're offline: chat messages can't be sent until you reconnect.");
            return;
          }
          this.chatInput.value = "";
        },
      },
      this.chatInput,
      h("button", { type: "submit", class: "secondary small", testid: "chat-send" }, "Send"),
    );
  }

  render(): void {
    this.chat.hidden = !this.host.can("chat");
    const activity = this.host.cart.activity;
    const entries = groupBursts(activity).reverse();
    if (entries.length === 0) {
      mount(this.list, h("li", { class: "empty" }, "Nothing has happened yet."));
      mount(this.more);
      return;
    }
    const shown = entries.slice(0, this.shown);
    mount(
      this.list,
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
    const oldestSeq = activity.reduce((m, e) => (e.seq > 0 ? Math.min(m, e.seq) : m), Infinity);
    mount(
      this.more,
      more && (entries.length > shown.length || oldestSeq > 1)
        ? h("button", { class: "ghost small", testid: "activity-older", onclick: () => void this.showOlder() }, "Show older")
        : null,
    );
  }

  private async showOlder(): Promise<void> {
    const { app, cart, cartId } = this.host;
    this.shown += ACTIVITY_PAGE;
    if (!this.olderLoaded && groupBursts(cart.activity).length < this.shown) {
      try {
        mergeOlder(cart, await api.activity(cartId, 200));
        // The server keeps the last 200 for a page: that is as far back as it goes.
        this.olderLoaded = true;
      } catch (e) {
        app.notify(e instanceof ApiError ? e.message : "Older activity could not be loaded.");
      }
    }
    this.host.render();
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
function groupBursts(events: ActivityEvent[]): Entry[] {
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
export function readable(text: string): string {
  return text.replace(/\*(\d+)/g, " ×$1");
}

