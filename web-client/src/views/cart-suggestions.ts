// The cart page's suggestions card: each with its quantity, note and voters,
// a "new" badge until it has been on screen a moment, votes, and Accept /
// Turn down (editors) or Withdraw (its author).

import { h, mount } from "../dom";
import type { CartView, SuggestionView } from "../types";
import type { CartHost } from "./cart-host";

/** A suggestion stays marked new until its card has been on screen this long. */
const NEW_SUGGESTION_SEEN_MS = 4_000;

export class SuggestionsCard {
  readonly el: HTMLElement;
  /** "2 new", shown by the card's heading and by the phone's cart bar. */
  readonly badge = h("span", { class: "new-badge", testid: "suggestions-new", hidden: true });
  private readonly list = h("ul", { class: "suggestions", testid: "suggestions", "aria-label": "Suggestions" });
  /** Suggestions this person has seen; undefined until the first load. */
  private seen: Set<string> | undefined;
  private visible = false;
  private seenTimer: number | undefined;
  private readonly observer: IntersectionObserver | undefined;

  constructor(
    private readonly host: CartHost,
    /** Who is who (user id → name), from everything the page has heard. */
    private readonly names: () => Map<string, string>,
  ) {
    this.el = h(
      "section",
      { class: "card", "aria-labelledby": "h-suggestions", "data-area": "suggestions" },
      h("h2", { id: "h-suggestions" }, "Suggestions ", this.badge),
      this.list,
    );
    if ("IntersectionObserver" in window) {
      this.observer = new IntersectionObserver((entries) => {
        this.visible = entries.some((e) => e.isIntersecting);
        this.noticeSeen();
      });
      this.observer.observe(this.el);
    }
  }

  destroy(): void {
    window.clearTimeout(this.seenTimer);
    this.observer?.disconnect();
  }

  render(v: CartView): void {
    const { app, cart } = this.host;
    const me = app.me.id;
    const canAccept = this.host.can("accept_suggestion");
    const canVote = this.host.can("vote");
    const real = v.suggestions.filter((s) => !s.suggestion_id.startsWith("pending:"));
    if (cart.loaded && !cart.fromCopy && this.seen === undefined) {
      this.seen = new Set(real.map((s) => s.suggestion_id));
    }
    const fresh = real.filter((s) => this.seen && !this.seen.has(s.suggestion_id) && s.by !== me);
    this.badge.hidden = fresh.length === 0;
    this.badge.textContent = fresh.length ? `${fresh.length} new` : "";
    this.noticeSeen();
    if (v.suggestions.length === 0) {
      const invite = this.host.can("suggest") && !this.host.can("edit_lines");
      mount(
        this.list,
        h("li", { class: "empty" }, invite ? "No suggestions yet. Suggest something from the catalog." : "No suggestions right now."),
      );
      return;
    }
    const names = this.names();
    const act = (kind: "accept_suggestion" | "reject_suggestion" | "withdraw_suggestion", s: SuggestionView) => () =>
      this.host.submit({ kind, suggestion_id: s.suggestion_id });
    mount(
      this.list,
      v.suggestions.map((s: SuggestionView) => {
        const mine = s.votes[me] ?? 0;
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
            h("div", { class: "muted small" }, `suggested by ${s.by === me ? "you" : s.by_name}`, s.note ? ` · “${s.note}”` : ""),
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
                    onclick: act("accept_suggestion", s),
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
                    onclick: act("reject_suggestion", s),
                  },
                  "Turn down",
                )
              : null,
            s.by === me && !canAccept
              ? h(
                  "button",
                  {
                    class: "ghost small",
                    testid: "suggestion-withdraw",
                    "aria-label": `Withdraw your suggestion of ${s.name}`,
                    disabled: !isReal,
                    onclick: act("withdraw_suggestion", s),
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
    if (!this.visible || this.badge.hidden) {
      if (!this.visible) window.clearTimeout(this.seenTimer);
      this.seenTimer = this.visible ? this.seenTimer : undefined;
      return;
    }
    if (this.seenTimer !== undefined) return;
    this.seenTimer = window.setTimeout(() => {
      this.seenTimer = undefined;
      if (!this.visible || !this.seen) return;
      for (const s of this.host.view().suggestions) this.seen.add(s.suggestion_id);
      this.host.render();
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
        onclick: () => this.host.submit({ kind: "vote", suggestion_id: s.suggestion_id, value: on ? 0 : value }),
      },
      value === 1 ? "▲" : "▼",
    );
  }
}
