// Undo of one's own edits, on this page: each edit this person makes is
// remembered with how to reverse it, and undoing sends the reverse as new
// ops (so it is a new change everyone sees, checked by the server like any
// other, and never touches what someone else did). The reverse is worked
// out when it is used, against the cart as it is then: undoing "+1" is
// "−1" even if others changed the line meanwhile, and a removed line comes
// back with its quantity and note. A note or name someone else has changed
// since is theirs now: undoing one's own earlier text would overwrite it,
// so that undo is refused with a reason.

import type { CartView, Op } from "./types";

/** How many edits can be undone, newest first. */
const DEPTH = 20;

export interface Undoable {
  /** "add Blue Mug", for the button's label. */
  label: string;
  /** The ops that reverse the edit in `now`, or a reason it cannot be. */
  reverse(now: CartView): Op[] | string;
}

/** What reverses `op`, made against `before` (the cart as shown before it); undefined when it cannot be undone. */
export function undoableOf(op: Op, before: CartView, me: string, nameOf: (sku: string) => string | undefined): Undoable | undefined {
  const line = (id: string) => before.lines.find((l) => l.line_id === id);
  const nowLine = (now: CartView, id: string) => now.lines.find((l) => l.line_id === id);
  const gone = "That item is no longer in the cart.";
  const overwritten = "someone else has changed it since.";
  switch (op.kind) {
    case "add_line": {
      const name = line(op.sku)?.name ?? nameOf(op.sku) ?? op.sku;
      return {
        label: `add ${name}`,
        reverse: (now) => {
          const l = nowLine(now, op.sku);
          if (!l) return gone;
          return l.quantity > op.quantity
            ? [{ kind: "change_quantity", line_id: op.sku, delta: -op.quantity }]
            : [{ kind: "remove_line", line_id: op.sku }];
        },
      };
    }
    case "change_quantity":
    case "set_quantity": {
      const l = line(op.line_id);
      if (!l) return undefined;
      const delta = op.kind === "change_quantity" ? op.delta : op.quantity - l.quantity;
      if (delta === 0) return undefined;
      return {
        label: `change ${l.name}`,
        reverse: (now) => {
          const n = nowLine(now, op.line_id);
          if (!n) return gone;
          if (n.quantity - delta < 1) return [{ kind: "remove_line", line_id: op.line_id }];
          return [{ kind: "change_quantity", line_id: op.line_id, delta: -delta }];
        },
      };
    }
    case "remove_line": {
      const l = line(op.line_id);
      if (!l) return undefined;
      return {
        label: `remove ${l.name}`,
        reverse: () => [
          { kind: "add_line", sku: l.sku, quantity: l.quantity },
          ...(l.note ? [{ kind: "set_line_note", line_id: l.sku, note: l.note } as Op] : []),
        ],
      };
    }
    case "set_line_note": {
      const l = line(op.line_id);
      if (!l) return undefined;
      return {
        label: `note on ${l.name}`,
        reverse: (now) => {
          const n = nowLine(now, op.line_id);
          if (!n) return gone;
          return n.note === op.note ? [{ kind: "set_line_note", line_id: op.line_id, note: l.note }] : overwritten;
        },
      };
    }
    case "set_cart_note":
      return {
        label: "cart note",
        reverse: (now) => (now.note === op.note ? [{ kind: "set_cart_note", note: before.note }] : overwritten),
      };
    case "rename":
      return before.name
        ? { label: "rename", reverse: (now) => (now.name === op.name ? [{ kind: "rename", name: before.name }] : overwritten) }
        : undefined;
    case "vote": {
      const s = before.suggestions.find((x) => x.suggestion_id === op.suggestion_id);
      if (!s) return undefined;
      const was = s.votes[me] ?? 0;
      return {
        label: `vote on ${s.name}`,
        reverse: (now) =>
          now.suggestions.some((x) => x.suggestion_id === op.suggestion_id)
            ? [{ kind: "vote", suggestion_id: op.suggestion_id, value: was }]
            : "That suggestion is no longer open.",
      };
    }
    case "suggest":
      return {
        label: "suggestion",
        reverse: (now) => {
          const s = now.suggestions.find((x) => x.sku === op.sku && x.by === me);
          if (!s || s.suggestion_id.startsWith("pending:")) return "That suggestion is no longer open.";
          return s.quantity > op.quantity
            ? "Your suggestion has grown since; withdraw it from the list instead."
            : [{ kind: "withdraw_suggestion", suggestion_id: s.suggestion_id }];
        },
      };
    default:
      return undefined;
  }
}

/** One person's undo stack for one cart. */
export class UndoStack {
  private readonly items: Undoable[] = [];

  push(item: Undoable): void {
    this.items.push(item);
    if (this.items.length > DEPTH) this.items.shift();
  }

  pop(): Undoable | undefined {
    return this.items.pop();
  }

  peek(): Undoable | undefined {
    return this.items[this.items.length - 1];
  }
}
