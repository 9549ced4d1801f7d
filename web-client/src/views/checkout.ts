// The checkout panel of the cart page (docs/protocol.md section 12): the
// phase with lock and unlock, the deadline with a countdown, group-buy
// progress, each member's total and budget, approval, the split with each
// person's amount, addresses and what is shipped where, and placing the
// order. Everything but the quote is read from the cart's replica, so it is
// live for everyone; the quote (prices now, shipping, shares) is asked of
// the server whenever the document changes.
//
// Controls are drawn from the capabilities the server gives (`checkout`,
// `approve`), never from the role; besides, the member the document names
// as approver (`checkout.approver`) gets the approve and reject buttons.

import "./checkout.css";
import { api, ApiError } from "../api";
import type { App } from "../app";
import { checkoutApi } from "../checkout-api";
import { h, mount } from "../dom";
import { money } from "../format";
import type {
  Address,
  AddressView,
  CartPhase,
  CheckoutQuote,
  CheckoutView,
  MemberTotal,
  SplitPlan,
} from "../generated";
import type { CartLive } from "../live";
import type { CartView, LineView, Member, Op } from "../types";

const PHASE_WORDS: Record<CartPhase, string> = {
  open: "Open",
  locked: "Locked for checkout",
  pending_approval: "Waiting for approval",
  approved: "Approved",
  ordered: "Ordered",
};

type Doc = Record<string, unknown>;
const str = (v: unknown): string => (v === undefined || v === null ? "" : String(v));
const num = (v: unknown): number => (v === undefined || v === null ? 0 : Number(v));
const opt = (v: unknown): number | null => (v === undefined || v === null ? null : Number(v));

/** The checkout part of the cart, read from the document as the server reads it. */
export function readCheckout(doc: Doc | undefined, lines: LineView[]): CheckoutView {
  const members = memberTotals(lines);
  const c = (doc?.["checkout"] ?? undefined) as Doc | undefined;
  const view: CheckoutView = {
    phase: "open",
    deadline: null,
    approval_over: null,
    approver: null,
    approver_name: null,
    approval: null,
    budgets: [],
    members,
    split: null,
    addresses: [],
    unassigned: 0,
    order: null,
  };
  if (!c) return view;
  view.phase = (str(c["phase"]) || "open") as CartPhase;
  view.deadline = opt(c["deadline"]);
  view.approval_over = opt(c["approval_over"]);
  if (str(c["approver"])) {
    view.approver = str(c["approver"]);
    view.approver_name = str(c["approver_name"]);
  }
  try {
    view.split = c["split"] ? (JSON.parse(str(c["split"])) as SplitPlan) : null;
  } catch {
    view.split = null;
  }
  const a = c["approval"] as Doc | undefined;
  if (a) view.approval = { status: str(a["status"]), by: str(a["by"]), by_name: str(a["by_name"]), comment: str(a["comment"]), at: num(a["at"]) };
  for (const [user_id, b] of Object.entries((c["budgets"] ?? {}) as Record<string, Doc>)) {
    const amount = num(b["amount"]);
    const spent = members.find((m) => m.user_id === user_id)?.total ?? 0;
    view.budgets.push({ user_id, name: str(b["name"]), amount, spent, left: amount - spent });
  }
  view.budgets.sort((x, y) => x.name.localeCompare(y.name));
  for (const [address_id, ad] of Object.entries((c["addresses"] ?? {}) as Record<string, Doc>)) {
    const shipped: Record<string, number> = {};
    for (const [line, n] of Object.entries((ad["lines"] ?? {}) as Record<string, unknown>)) shipped[line] = num(n);
    view.addresses.push({
      address_id,
      label: str(ad["label"]),
      name: str(ad["name"]),
      line1: str(ad["line1"]),
      line2: str(ad["line2"]),
      city: str(ad["city"]),
      postal_code: str(ad["postal_code"]),
      country: str(ad["country"]),
      lines: shipped,
    });
  }
  view.addresses.sort((x, y) => (x.address_id < y.address_id ? -1 : 1));
  if (view.addresses.length > 0) {
    view.unassigned = lines.reduce((t, l) => t + Math.max(0, l.quantity - shippedOf(view.addresses, l.line_id)), 0);
  }
  const o = c["order"] as Doc | undefined;
  if (o) view.order = { order_id: str(o["id"]), status: str(o["status"]) as never, total: num(o["total"]) };
  return view;
}

function shippedOf(addresses: AddressView[], lineId: string): number {
  return addresses.reduce((t, a) => t + (a.lines[lineId] ?? 0), 0);
}

function memberTotals(lines: LineView[]): MemberTotal[] {
  const by = new Map<string, MemberTotal>();
  for (const l of lines) {
    const user = l.assigned_to ?? l.added_by;
    const name = l.assigned_to_name ?? l.added_by_name;
    const m = by.get(user) ?? { user_id: user, name, total: 0 };
    m.total += l.line_total;
    by.set(user, m);
  }
  return [...by.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** "2 h 05 min", "45 s". */
function countdown(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours} h ${String(m % 60).padStart(2, "0")} min`;
  return `${Math.floor(hours / 24)} days`;
}

/** A `datetime-local` value for a time, in this browser's zone. */
function localInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

export class CheckoutPanel {
  readonly el: HTMLElement;
  private readonly body = h("div", { class: "checkout-body" });
  private readonly countdownEl = h("span", { class: "countdown", testid: "deadline-countdown" });
  private quote: CheckoutQuote | undefined;
  private quoteError = "";
  private quotedHeads = "";
  private quoteTimer: number | undefined;
  private members: Member[] = [];
  private membersFor = -1;
  private deadline: number | null = null;
  private readonly tick: number;
  /** Fields being typed in, kept across redraws, by test id. */
  private readonly fields = new Map<string, HTMLInputElement | HTMLSelectElement>();
  private placing = false;

  constructor(
    private readonly app: App,
    private readonly cart: CartLive,
  ) {
    this.el = h(
      "section",
      { class: "card checkout", testid: "checkout-panel", "aria-labelledby": "h-checkout", "data-area": "checkout" },
      h("h2", { id: "h-checkout" }, "Checkout"),
      this.body,
    );
    this.tick = window.setInterval(() => this.renderCountdown(), 1000);
  }

  destroy(): void {
    window.clearInterval(this.tick);
    window.clearTimeout(this.quoteTimer);
  }

  private can(capability: "checkout" | "approve"): boolean {
    return this.cart.can(capability);
  }

  private send(op: Op): void {
    this.app.live.submit(this.cart.cartId, op);
  }

  /** A field that keeps what is typed in it across redraws. */
  private field<K extends "input" | "select">(tag: K, testid: string, attrs: Record<string, unknown> = {}): HTMLElementTagNameMap[K] {
    let el = this.fields.get(testid) as HTMLElementTagNameMap[K] | undefined;
    if (!el) {
      el = h(tag, { testid, ...attrs }) as HTMLElementTagNameMap[K];
      this.fields.set(testid, el);
    }
    return el;
  }

  private view(): CartView {
    return this.cart.replica.view({ id: this.app.me.id, name: this.app.me.name }, this.app.products);
  }

  /** Redraws from the replica; asks for a new quote when the document changed. */
  render(): void {
    if (!this.cart.loaded) return;
    const v = this.view();
    const c = readCheckout(this.cart.replica.doc as Doc | undefined, v.lines);
    this.deadline = c.deadline;
    this.refreshMembers();
    this.scheduleQuote(v.heads.join(","));
    const focused = document.activeElement;
    mount(
      this.body,
      this.phaseRow(c),
      this.groupBuy(v),
      this.people(v, c),
      this.approval(c, v),
      this.split(c),
      this.addresses(v, c),
      this.summary(c),
    );
    if (focused instanceof HTMLElement && !focused.isConnected) {
      const again = focused.dataset.testid ? (this.el.querySelector(`[data-testid="${CSS.escape(focused.dataset.testid)}"]`) as HTMLElement | null) : null;
      again?.focus({ preventScroll: true });
    } else if (focused instanceof HTMLElement && focused !== document.activeElement) {
      // A field kept across redraws (a comment being typed) was taken out and
      // put back, which blurs it: without this, what is typed next is lost.
      focused.focus({ preventScroll: true });
    }
    this.renderCountdown();
  }

  private renderCountdown(): void {
    if (this.deadline === null) {
      this.countdownEl.textContent = "";
      return;
    }
    const left = this.deadline - Date.now();
    this.countdownEl.textContent = left > 0 ? `Locks in ${countdown(left)}` : "Locking now…";
  }

  private refreshMembers(): void {
    const seq = this.cart.activity.filter((e) => /member|role/.test(e.kind)).length;
    if (seq === this.membersFor) return;
    this.membersFor = seq;
    api
      .members(this.cart.cartId)
      .then((m) => {
        this.members = m;
        this.render();
      })
      .catch(() => {
        this.membersFor = -1;
      });
  }

  private scheduleQuote(heads: string): void {
    if (heads === this.quotedHeads) return;
    this.quotedHeads = heads;
    window.clearTimeout(this.quoteTimer);
    this.quoteTimer = window.setTimeout(() => {
      checkoutApi
        .quote(this.cart.cartId)
        .then((q) => {
          this.quote = q;
          this.quoteError = "";
          this.render();
        })
        .catch((e: unknown) => {
          this.quoteError = e instanceof ApiError ? e.message : "The checkout could not be loaded.";
          this.quotedHeads = "";
          this.render();
        });
    }, 150);
  }

  private phaseRow(c: CheckoutView): HTMLElement {
    const admin = this.can("checkout");
    const deadlineInput = this.field("input", "deadline-input", { type: "datetime-local", "aria-label": "Checkout deadline" }) as HTMLInputElement;
    return h(
      "div",
      { class: "checkout-phase" },
      h("span", { class: `badge phase-${c.phase}`, testid: "checkout-phase", "data-phase": c.phase }, PHASE_WORDS[c.phase]),
      c.deadline !== null ? h("span", { class: "muted small" }, ` Deadline ${new Date(c.deadline).toLocaleString()} · `, this.countdownEl) : null,
      admin && c.phase === "open" ? h("button", { class: "primary small", testid: "lock", onclick: () => this.send({ kind: "lock" }) }, "Lock for checkout") : null,
      admin && (c.phase === "locked" || c.phase === "pending_approval" || c.phase === "approved")
        ? h("button", { class: "secondary small", testid: "unlock", onclick: () => this.send({ kind: "unlock" }) }, "Unlock")
        : null,
      admin && c.phase === "open"
        ? h(
            "form",
            {
              class: "inline",
              onsubmit: (ev: Event) => {
                ev.preventDefault();
                const at = deadlineInput.value ? new Date(deadlineInput.value).getTime() : NaN;
                if (Number.isNaN(at)) return this.app.notify("Pick a date and time for the deadline.");
                this.send({ kind: "set_deadline", at });
              },
            },
            deadlineInput,
            h("button", { type: "submit", class: "ghost small", testid: "deadline-set" }, "Set deadline"),
            c.deadline !== null
              ? h("button", { type: "button", class: "ghost small", testid: "deadline-clear", onclick: () => this.send({ kind: "set_deadline", at: null }) }, "Clear")
              : null,
          )
        : null,
      c.deadline !== null && !deadlineInput.value ? ((deadlineInput.value = localInput(c.deadline)), null) : null,
    );
  }

  /** "3 more to unlock $9.50 each". */
  private groupBuy(v: CartView): HTMLElement | null {
    const tiers = v.lines.filter((l) => l.group_buy);
    if (tiers.length === 0) return null;
    return h(
      "ul",
      { class: "groupbuy", testid: "groupbuy" },
      tiers.map((l) => {
        const t = l.group_buy!;
        const price = money(t.price, v.currency);
        const text = t.active
          ? `${l.name}: group price reached, ${price} each`
          : `${l.name}: ${t.min_quantity - l.quantity} more to unlock ${price} each`;
        const pct = Math.min(100, Math.round((100 * l.quantity) / t.min_quantity));
        return h(
          "li",
          { "data-key": l.line_id, testid: `groupbuy-${l.sku}` },
          h("span", null, text),
          h("span", { class: "bar", "aria-hidden": "true" }, h("span", { class: "fill", style: `width:${pct}%` })),
        );
      }),
    );
  }

  /** Each member's total, and their budget. */
  private people(v: CartView, c: CheckoutView): HTMLElement {
    const admin = this.can("checkout") && (c.phase === "open" || c.phase === "locked");
    const ids = new Set([...this.members.map((m) => m.user_id), ...c.members.map((m) => m.user_id)]);
    const rows = [...ids].map((id) => {
      const name = this.members.find((m) => m.user_id === id)?.name ?? c.members.find((m) => m.user_id === id)?.name ?? "";
      const total = c.members.find((m) => m.user_id === id)?.total ?? 0;
      const budget = c.budgets.find((b) => b.user_id === id);
      const input = this.field("input", `budget-input-${id}`, { type: "number", min: 0, step: "0.01", class: "money", "aria-label": `Budget of ${name}` }) as HTMLInputElement;
      return h(
        "li",
        { "data-key": id, testid: `member-${id}` },
        h("span", { class: "who" }, name, id === this.app.me.id ? " (you)" : ""),
        h("span", { testid: `member-total-${id}` }, money(total, v.currency)),
        budget
          ? h(
              "span",
              { class: budget.left < 0 ? "over" : "muted small", testid: `budget-${id}` },
              ` of ${money(budget.amount, v.currency)} · ${money(budget.left, v.currency)} left`,
            )
          : null,
        admin
          ? h(
              "form",
              {
                class: "inline",
                onsubmit: (ev: Event) => {
                  ev.preventDefault();
                  const amount = input.value === "" ? null : Math.round(Number(input.value) * 100);
                  if (amount !== null && !(amount >= 0)) return this.app.notify("A budget is an amount of money.");
                  this.send({ kind: "set_budget", user_id: id, amount });
                  input.value = "";
                },
              },
              input,
              h("button", { type: "submit", class: "ghost small", testid: `budget-set-${id}` }, budget ? "Change budget" : "Set budget"),
            )
          : null,
      );
    });
    // Who pays for each line (by item, and whose budget it counts against).
    const people = this.members.length > 0 ? this.members : c.members.map((m) => ({ user_id: m.user_id, name: m.name }));
    const owners = admin
      ? h(
          "ul",
          { class: "owners", testid: "line-owners" },
          v.lines.map((l) => {
            const owner = l.assigned_to ?? l.added_by;
            const pick = h(
              "select",
              {
                testid: `owner-${l.sku}`,
                "aria-label": `Who pays for ${l.name}`,
                onchange: (ev: Event) => {
                  const user_id = (ev.target as HTMLSelectElement).value;
                  this.send({ kind: "assign_line", line_id: l.line_id, user_id: user_id === l.added_by ? null : user_id });
                },
              },
              people.map((m) => h("option", { value: m.user_id, selected: m.user_id === owner }, m.name)),
            );
            return h("li", { "data-key": l.line_id }, h("span", null, `${l.name} is paid by `), pick);
          }),
        )
      : null;
    return h("div", { class: "checkout-block" }, h("h3", null, "Who has what"), h("ul", { class: "people", testid: "checkout-people" }, rows), owners);
  }

  private approval(c: CheckoutView, v: CartView): HTMLElement {
    const admin = this.can("checkout");
    const threshold = this.field("input", "approval-threshold-input", { type: "number", min: 0, step: "0.01", class: "money", "aria-label": "Approval needed over" }) as HTMLInputElement;
    const comment = this.field("input", "approval-comment", { type: "text", maxlength: 500, placeholder: "Comment", "aria-label": "Approval comment" }) as HTMLInputElement;
    const over = c.approval_over ?? this.quote?.approval_over ?? null;
    const a = c.approval;
    // The named approver counts while a member; otherwise admins approve.
    const approverGone = c.approver !== null && this.members.length > 0 && !this.members.some((m) => m.user_id === c.approver);
    const iApprove = c.approver === this.app.me.id && !approverGone;
    const people = this.members.length > 0 ? this.members : c.members.map((m) => ({ user_id: m.user_id, name: m.name }));
    const pickApprover = h(
      "select",
      {
        testid: "approver-select",
        "aria-label": "Approver",
        onchange: (ev: Event) => {
          const user_id = (ev.target as HTMLSelectElement).value;
          this.send({ kind: "set_approver", user_id: user_id === "" ? null : user_id });
        },
      },
      h("option", { value: "", selected: c.approver === null }, "Admins only"),
      people.map((m) => h("option", { value: m.user_id, selected: m.user_id === c.approver }, m.name)),
    );
    return h(
      "div",
      { class: "checkout-block" },
      h("h3", null, "Approval"),
      h(
        "p",
        { class: "muted small", testid: "approval-rule" },
        over === null ? "No approval needed." : `Orders over ${money(over, v.currency)} need approval.`,
        this.quote?.needs_approval ? " This one does." : "",
      ),
      h(
        "p",
        { class: "small", testid: "approver", "data-approver": c.approver ?? "" },
        c.approver === null
          ? "Admins approve."
          : approverGone
            ? `${c.approver_name} is no longer a member: admins approve.`
            : `${c.approver_name}${c.approver === this.app.me.id ? " (you)" : ""} or an admin approves.`,
      ),
      admin && (c.phase === "open" || c.phase === "locked") ? h("label", { class: "small" }, "Approver ", pickApprover) : null,
      a
        ? h(
            "p",
            { testid: "approval-status", "data-status": a.status },
            a.status === "requested" ? `${a.by_name} asked for approval.` : `${a.by_name} ${a.status} the order`,
            a.comment ? `: “${a.comment}”` : a.status === "requested" ? "" : ".",
          )
        : null,
      admin && (c.phase === "open" || c.phase === "locked")
        ? h(
            "form",
            {
              class: "inline",
              onsubmit: (ev: Event) => {
                ev.preventDefault();
                const amount = threshold.value === "" ? null : Math.round(Number(threshold.value) * 100);
                this.send({ kind: "set_approval_threshold", amount });
                threshold.value = "";
              },
            },
            threshold,
            h("button", { type: "submit", class: "ghost small", testid: "approval-threshold-set" }, "Set threshold"),
          )
        : null,
      admin && c.phase === "locked"
        ? h("button", { class: "secondary small", testid: "request-approval", onclick: () => this.send({ kind: "request_approval" }) }, "Ask for approval")
        : null,
      (this.can("approve") || iApprove) && c.phase === "pending_approval"
        ? h(
            "div",
            { class: "inline" },
            comment,
            h("button", { class: "primary small", testid: "approve", onclick: () => (this.send({ kind: "approve", comment: comment.value.trim() || undefined }), (comment.value = "")) }, "Approve"),
            h(
              "button",
              {
                class: "secondary small",
                testid: "reject",
                onclick: () => {
                  const why = comment.value.trim();
                  if (!why) return this.app.notify("Say why in the comment.");
                  this.send({ kind: "reject", comment: why });
                  comment.value = "";
                },
              },
              "Reject",
            ),
          )
        : null,
    );
  }

  private split(c: CheckoutView): HTMLElement {
    const admin = this.can("checkout") && (c.phase === "open" || c.phase === "locked");
    const q = this.quote;
    const kinds: Record<SplitPlan["kind"], string> = { one_payer: "One payer", even: "Split evenly", by_item: "Each pays their items", custom: "Custom amounts" };
    const plan = this.field("select", "split-plan", { "aria-label": "How to split" }) as HTMLSelectElement;
    if (plan.options.length === 0) for (const [k, label] of Object.entries(kinds)) plan.appendChild(h("option", { value: k }, label));
    const people = this.members.length > 0 ? this.members : c.members.map((m) => ({ user_id: m.user_id, name: m.name }));
    const payer = this.field("select", "split-payer", { "aria-label": "Who pays" }) as HTMLSelectElement;
    const keep = payer.value;
    mount(payer, people.map((m) => h("option", { value: m.user_id }, m.name)));
    if (keep) payer.value = keep;
    const custom = people.map((m) => [m.user_id, this.field("input", `split-amount-${m.user_id}`, { type: "number", min: 0, step: "0.01", class: "money", "aria-label": `${m.name} pays` }) as HTMLInputElement] as const);
    const choose = (ev: Event) => {
      ev.preventDefault();
      let p: SplitPlan;
      switch (plan.value) {
        case "one_payer":
          p = { kind: "one_payer", payer: payer.value };
          break;
        case "even":
          p = { kind: "even", payers: people.map((m) => m.user_id) };
          break;
        case "by_item":
          p = { kind: "by_item" };
          break;
        default: {
          const amounts: Record<string, number> = {};
          for (const [id, input] of custom) if (id !== payer.value && input.value !== "") amounts[id] = Math.round(Number(input.value) * 100);
          p = { kind: "custom", amounts, rest: payer.value };
        }
      }
      this.send({ kind: "set_split", plan: p });
    };
    return h(
      "div",
      { class: "checkout-block" },
      h("h3", null, "Who pays"),
      h("p", { class: "muted small", testid: "split-current" }, c.split ? kinds[c.split.kind] : "Nobody chose yet: who places the order pays it all."),
      q && q.shares.length > 0
        ? h(
            "ul",
            { class: "shares", testid: "shares" },
            q.shares.map((s) => h("li", { "data-key": s.user_id, testid: `share-${s.user_id}` }, h("span", null, s.name), h("span", null, money(s.amount, q.currency)))),
          )
        : null,
      admin
        ? h(
            "form",
            { class: "split-form", onsubmit: choose },
            plan,
            plan.value === "one_payer" || plan.value === "custom" ? h("label", { class: "small" }, plan.value === "custom" ? "pays the rest: " : "", payer) : null,
            plan.value === "custom" ? h("div", { class: "custom" }, custom.map(([id, input]) => h("label", { class: "small" }, people.find((m) => m.user_id === id)?.name ?? "", " ", input))) : null,
            h("button", { type: "submit", class: "ghost small", testid: "split-set" }, "Use this split"),
          )
        : null,
    );
  }

  private addresses(v: CartView, c: CheckoutView): HTMLElement {
    const admin = this.can("checkout") && (c.phase === "open" || c.phase === "locked");
    const input = (key: keyof Address, label: string, attrs: Record<string, unknown> = {}) =>
      this.field("input", `address-${key}`, { type: "text", placeholder: label, "aria-label": label, ...attrs }) as HTMLInputElement;
    const form = {
      label: input("label", "Label (Home)", { maxlength: 40 }),
      name: input("name", "Recipient", { maxlength: 100 }),
      line1: input("line1", "Street", { maxlength: 200 }),
      city: input("city", "City", { maxlength: 100 }),
      postal_code: input("postal_code", "Postal code", { maxlength: 20 }),
      country: input("country", "Country (US)", { maxlength: 2 }),
    };
    const rows = c.addresses.map((a) =>
      h(
        "li",
        { "data-key": a.address_id, testid: `address-${a.address_id}` },
        h("div", null, h("strong", null, a.label), h("span", { class: "muted small" }, ` ${a.name}, ${a.line1}, ${a.postal_code} ${a.city}, ${a.country}`)),
        h(
          "ul",
          { class: "alloc" },
          v.lines.map((l) => {
            const here = a.lines[l.line_id] ?? 0;
            const qty = this.field("input", `alloc-${a.address_id}-${l.sku}`, { type: "number", min: 0, max: 999, class: "qty", "aria-label": `${l.name} to ${a.label}` }) as HTMLInputElement;
            if (document.activeElement !== qty) qty.value = String(here);
            return h(
              "li",
              { "data-key": `${a.address_id}/${l.line_id}` },
              h("span", null, l.name),
              admin
                ? h(
                    "form",
                    {
                      class: "inline",
                      onsubmit: (ev: Event) => {
                        ev.preventDefault();
                        this.send({ kind: "set_allocation", address_id: a.address_id, line_id: l.line_id, quantity: Math.max(0, Math.round(Number(qty.value) || 0)) });
                      },
                    },
                    qty,
                    h("button", { type: "submit", class: "ghost small", testid: `alloc-set-${a.address_id}-${l.sku}` }, "Ship"),
                  )
                : h("span", null, `× ${here}`),
            );
          }),
        ),
        admin
          ? h(
              "div",
              { class: "inline" },
              h(
                "button",
                {
                  class: "ghost small",
                  testid: `ship-all-${a.address_id}`,
                  onclick: () => {
                    for (const l of v.lines) {
                      const elsewhere = shippedOf(c.addresses, l.line_id) - (a.lines[l.line_id] ?? 0);
                      this.send({ kind: "set_allocation", address_id: a.address_id, line_id: l.line_id, quantity: Math.max(0, l.quantity - elsewhere) });
                    }
                  },
                },
                "Ship the rest here",
              ),
              h("button", { class: "ghost small", testid: `address-remove-${a.address_id}`, onclick: () => this.send({ kind: "remove_address", address_id: a.address_id }) }, "Remove"),
            )
          : null,
      ),
    );
    return h(
      "div",
      { class: "checkout-block" },
      h("h3", null, "Shipping"),
      c.addresses.length === 0 ? h("p", { class: "muted small" }, "No address: the order is picked up at the store.") : null,
      c.unassigned > 0 ? h("p", { class: "over", testid: "unassigned" }, `${c.unassigned} item(s) not shipped to any address yet.`) : null,
      h("ul", { class: "addresses", testid: "addresses" }, rows),
      admin && c.addresses.length < 10
        ? h(
            "form",
            {
              class: "address-form",
              testid: "address-form",
              onsubmit: (ev: Event) => {
                ev.preventDefault();
                const address: Address = {
                  label: form.label.value.trim(),
                  name: form.name.value.trim(),
                  line1: form.line1.value.trim(),
                  line2: "",
                  city: form.city.value.trim(),
                  postal_code: form.postal_code.value.trim(),
                  country: form.country.value.trim().toUpperCase(),
                };
                this.send({ kind: "add_address", address });
                for (const f of Object.values(form)) f.value = "";
              },
            },
            Object.values(form),
            h("button", { type: "submit", class: "ghost small", testid: "address-add" }, "Add address"),
          )
        : null,
    );
  }

  private summary(c: CheckoutView): HTMLElement {
    const q = this.quote;
    const admin = this.can("checkout");
    const order = c.order;
    return h(
      "div",
      { class: "checkout-block checkout-summary" },
      this.quoteError ? h("p", { class: "over" }, this.quoteError) : null,
      q
        ? h(
            "dl",
            { class: "quote" },
            h("dt", null, "Items"),
            h("dd", { testid: "quote-subtotal" }, money(q.subtotal, q.currency)),
            q.shipping.filter((s) => s.units > 0).map((s) => [h("dt", null, `Shipping to ${s.label}`), h("dd", null, s.amount === 0 ? "free" : money(s.amount, q.currency))]),
            h("dt", null, "Total"),
            h("dd", { testid: "quote-total", "data-total": q.total }, money(q.total, q.currency)),
          )
        : null,
      q && q.price_changes.length > 0 ? h("p", { class: "over", testid: "price-changes" }, `Prices changed: ${q.price_changes.join("; ")}`) : null,
      q && q.blockers.length > 0 && c.phase !== "ordered"
        ? h("ul", { class: "blockers", testid: "quote-blockers" }, q.blockers.map((b) => h("li", { "data-code": b.code }, b.message)))
        : null,
      order
        ? h("p", null, h("a", { href: `#/order/${order.order_id}`, testid: "order-link" }, `Order ${order.order_id.slice(0, 8).toUpperCase()} · ${order.status} · ${money(order.total, q?.currency ?? "USD")}`))
        : null,
      admin && q && !order && (c.phase === "locked" || c.phase === "approved")
        ? h(
            "button",
            {
              class: "primary",
              testid: "place-order",
              disabled: this.placing || q.blockers.some((b) => b.code !== "out_of_stock"),
              onclick: () => void this.place(q),
            },
            `Place order · ${money(q.total, q.currency)}`,
          )
        : null,
    );
  }

  private async place(q: CheckoutQuote): Promise<void> {
    this.placing = true;
    this.render();
    try {
      const order = await checkoutApi.placeOrder(this.cart.cartId, q.total);
      this.app.notify(`Order placed: ${money(order.total, order.currency)}.`, "info");
      this.app.go(`#/order/${order.id}`);
    } catch (e) {
      const message = e instanceof ApiError ? e.message : "The order could not be placed.";
      this.app.notify(message);
      this.quotedHeads = "";
    } finally {
      this.placing = false;
      this.render();
    }
  }
}
