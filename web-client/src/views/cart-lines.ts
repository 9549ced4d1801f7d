// The cart page's lines card: each line with its picture, price, who added
// it, stock when it matters, its note, a quantity stepper and Remove; the
// subtotal, what is waiting to be sent, and the note for everyone.
//
// Steppers at a limit are `aria-disabled` rather than `disabled`, so they
// keep the focus, and pressing one says why.

import { h, mount } from "../dom";
import { money, plural } from "../format";
import type { CartView, LineView } from "../types";
import { LOW_STOCK } from "./cart-catalog";
import type { CartHost } from "./cart-host";

export class LinesCard {
  readonly el: HTMLElement;
  private readonly list = h("ul", { class: "lines", testid: "lines", "aria-label": "Items in the cart" });
  private readonly totals = h("div", { class: "totals" });
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
  /** The line whose note is being written, and its input (kept across redraws). */
  private noteFor: string | undefined;
  private noteInput: HTMLInputElement | undefined;

  /** `undoButton` sits in the card's head. */
  constructor(
    private readonly host: CartHost,
    undoButton: HTMLElement,
  ) {
    this.cartNote = this.cartNoteForm();
    this.el = h(
      "section",
      { class: "card", id: "cart-lines", "aria-labelledby": "h-lines", "data-area": "lines" },
      h("div", { class: "card-head" }, h("h2", { id: "h-lines", tabindex: -1 }, "In the cart"), undoButton),
      this.list,
      this.totals,
      this.cartNote,
    );
  }

  /** The card's heading, where the focus goes when its control disappears. */
  get heading(): HTMLElement {
    return this.el.querySelector("h2") as HTMLElement;
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
          if (note !== this.host.view().note) this.host.submit({ kind: "set_cart_note", note });
          this.host.app.notify(note ? "The cart note is saved." : "The cart note is cleared.", "info");
        },
      },
      h("label", { class: "field-label", for: "cart-note-field" }, "Note for everyone"),
      this.cartNoteInput,
      h("button", { type: "submit", class: "secondary small", testid: "cart-note-save" }, "Save note"),
    );
  }

  render(v: CartView): void {
    const { app, cart } = this.host;
    const canEdit = this.host.can("edit_lines");
    this.cartNote.hidden = !canEdit;
    if (!this.cartNoteDirty && document.activeElement !== this.cartNoteInput) this.cartNoteInput.value = v.note;
    if (!cart.loaded && v.lines.length === 0) {
      mount(this.list, h("li", { class: "empty" }, "Loading the cart…"));
    } else if (v.lines.length === 0) {
      mount(this.list, h("li", { class: "empty" }, canEdit ? "The cart is empty. Add something from the catalog." : "The cart is empty."));
    } else {
      mount(this.list, v.lines.map((l) => this.line(l, canEdit, v.currency)));
    }
    const pending = cart.replica.pending.length;
    const offline = app.live.state !== "online";
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
    const { app } = this.host;
    // The document's note is the store's word now; the catalog copy may be older.
    const stock = l.stock_left ?? app.products.get(l.sku)?.stock;
    const out = stock === 0;
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
              app.notify(why, "info");
              return;
            }
            this.host.submit({ kind: "change_quantity", line_id: l.line_id, delta });
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
          h("span", { testid: "line-added-by" }, `added by ${l.added_by === app.me.id ? "you" : l.added_by_name}`),
        ),
        out
          ? h("div", { class: "stock-note", testid: "line-stock" }, "Out of stock")
          : atLimit
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
                      this.host.render();
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
                onclick: () => this.host.submit({ kind: "remove_line", line_id: l.line_id }),
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
      this.host.render();
      (this.list.querySelector(`[data-key="line:${CSS.escape(l.line_id)}"] [data-testid="line-note-edit"]`) as HTMLElement | null)?.focus();
    };
    return h(
      "form",
      {
        class: "inline-form line-note-form",
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          const note = input.value.trim();
          if (note !== l.note) this.host.submit({ kind: "set_line_note", line_id: l.line_id, note });
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
}
