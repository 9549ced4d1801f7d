// One cart's Automerge replica plus this client's pending ops.
//
// The server is the only writer of the document; this client only loads the
// bytes it is sent. Own ops show at once through an overlay (`view()`), and
// leave the overlay when their change reaches the replica (each change's
// message names its `op_id`), when the server acks them, or when it refuses
// them.
//
// Every received change costs the page: applying it, finding op ids, and
// redrawing. So the changes of one frame go into the document in one call,
// only this user's own changes are decoded (a kind-3 record says who made
// it), and the view is derived once per document state, however many parts
// of the page read it.

import { A } from "./automerge";
import { applyTier, tierOf } from "./groupbuy"; // checkout
import type { ChangeRecord } from "./frames";
import type { CartView, LineView, Op, Product, SuggestionView } from "./types";

export interface PendingOp {
  op_id: string;
  op: Op;
  /** Unix ms when it was made; for display only. */
  at: number;
}

// The document as the JS library reads it: server strings are
// ImmutableString, quantities are Counters. Read with String() / Number().
type Doc = Record<string, unknown>;

const str = (v: unknown): string => (v === undefined || v === null ? "" : String(v));
const num = (v: unknown): number => (v === undefined || v === null ? 0 : Number(v));

export class Replica {
  doc: A.Doc<Doc> | undefined;
  pending: PendingOp[] = [];
  /** Changes received since `takeUnsaved()`, as received (for the device copy). */
  private unsaved: Uint8Array[] = [];
  /** The view without pending ops, for the document it was derived from. */
  private settled: { doc: A.Doc<Doc> | undefined; view: CartView } | undefined;

  constructor(readonly cartId: string) {}

  heads(): string[] {
    return this.doc ? A.getHeads(this.doc) : [];
  }

  /**
   * Takes a whole document (a kind-1 frame, or this device's copy) in place
   * of the one held: after an epoch change the new document shares no
   * history with the old, so merging the two would double every object.
   */
  load(bytes: Uint8Array): void {
    this.doc = A.load<Doc>(bytes);
    this.unsaved = [];
  }

  /** The changes received since the last call, oldest first. */
  takeUnsaved(): Uint8Array[] {
    const taken = this.unsaved;
    this.unsaved = [];
    return taken;
  }

  /**
   * Applies changes back to back (a kind-2 frame). Returns the op ids named
   * by changes that were new, looked for only while ops are pending.
   */
  applyChanges(bytes: Uint8Array): string[] {
    const before = this.doc;
    if (!before) {
      this.doc = bytes.length > 0 ? A.load<Doc>(bytes) : A.init<Doc>();
    } else if (bytes.length > 0) {
      this.doc = A.loadIncremental(before, bytes);
      this.unsaved.push(bytes);
    }
    if (this.pending.length === 0 || this.doc === before) return [];
    const fresh = before ? A.getChanges(before, this.doc!) : A.getAllChanges(this.doc!);
    return fresh.flatMap(opIdOf);
  }

  /**
   * Applies the records of a kind-3 frame in one call. Returns the op ids of
   * the changes `userId` made (from this page or another of theirs), looked
   * for only while ops are pending: no one else's change can settle one.
   */
  applyRecords(records: ChangeRecord[], userId: string): string[] {
    const changes = records.map((r) => r.change);
    [this.doc] = A.applyChanges(this.doc ?? A.init<Doc>(), changes);
    this.unsaved.push(...changes);
    if (this.pending.length === 0) return [];
    return records.filter((r) => r.activity.user_id === userId).flatMap((r) => opIdOf(r.change));
  }

  /** Drops pending ops with these ids; true when any was dropped. */
  settle(opIds: Iterable<string>): boolean {
    const ids = new Set(opIds);
    const before = this.pending.length;
    this.pending = this.pending.filter((p) => !ids.has(p.op_id));
    return this.pending.length !== before;
  }

  /** The cart as the replica has it, without pending ops (totals not yet derived). */
  private base(): CartView {
    const d = this.doc ?? {};
    const lines: LineView[] = [];
    const linesMap = (d["lines"] ?? {}) as Record<string, Doc>;
    for (const [line_id, l] of Object.entries(linesMap)) {
      lines.push({
        line_id,
        sku: str(l["sku"]) || line_id,
        name: str(l["name"]),
        unit_price: num(l["unit_price"]),
        quantity: num(l["quantity"]),
        note: str(l["note"]),
        added_by: str(l["added_by"]),
        added_by_name: str(l["added_by_name"]),
        added_at: num(l["added_at"]),
        group_buy: tierOf(l, num(l["unit_price"])), // checkout: group buy
        stock_left: l["stock_left"] === undefined ? undefined : num(l["stock_left"]),
        line_total: 0,
        pending: false,
      });
    }
    const suggestions: SuggestionView[] = [];
    const sugMap = (d["suggestions"] ?? {}) as Record<string, Doc>;
    for (const [suggestion_id, s] of Object.entries(sugMap)) {
      const votes: Record<string, number> = {};
      for (const [u, v] of Object.entries((s["votes"] ?? {}) as Record<string, unknown>)) votes[u] = num(v);
      suggestions.push({
        suggestion_id,
        sku: str(s["sku"]),
        name: str(s["name"]),
        unit_price: num(s["unit_price"]),
        quantity: num(s["quantity"]),
        note: str(s["note"]),
        by: str(s["by"]),
        by_name: str(s["by_name"]),
        at: num(s["at"]),
        votes,
        score: Object.values(votes).reduce((a, b) => a + b, 0),
        pending: false,
      });
    }
    return {
      name: str(d["name"]),
      note: str(d["note"]),
      currency: str(d["currency"]) || "USD",
      subtotal: 0,
      item_count: 0,
      lines,
      suggestions,
      heads: this.heads(),
    };
  }

  /**
   * The cart as the page shows it: the replica with this client's pending ops
   * applied on top, the way the server will apply them if it accepts them.
   */
  view(me: { id: string; name: string }, products: Map<string, Product>): CartView {
    if (this.pending.length === 0) {
      // Shared by every reader until the document changes: not to be mutated.
      let settled = this.settled;
      if (!settled || settled.doc !== this.doc) settled = this.settled = { doc: this.doc, view: finish(this.base()) };
      return settled.view;
    }
    const base = this.base();
    const lines = new Map(base.lines.map((l) => [l.line_id, { ...l }]));
    const sugs = new Map(base.suggestions.map((s) => [s.suggestion_id, { ...s, votes: { ...s.votes } }]));
    let name = base.name;
    let note = base.note;
    const addQty = (sku: string, quantity: number, at: number, fallbackName = sku, fallbackPrice = 0) => {
      const line = lines.get(sku);
      if (line) {
        line.quantity += quantity;
        line.pending = true;
        return;
      }
      const p = products.get(sku);
      lines.set(sku, {
        line_id: sku,
        sku,
        name: p?.name ?? fallbackName,
        unit_price: p?.price ?? fallbackPrice,
        quantity,
        note: "",
        added_by: me.id,
        added_by_name: me.name,
        added_at: at,
        line_total: 0,
        pending: true,
      });
    };
    const patchLine = (id: string, patch: (l: LineView) => Partial<LineView>) => {
      const l = lines.get(id);
      if (l) Object.assign(l, patch(l), { pending: true });
    };
    for (const { op, op_id, at } of this.pending) {
      switch (op.kind) {
        case "add_line":
          addQty(op.sku, op.quantity, at);
          break;
        case "change_quantity":
          patchLine(op.line_id, (l) => ({ quantity: l.quantity + op.delta }));
          break;
        case "set_quantity":
          patchLine(op.line_id, () => ({ quantity: op.quantity }));
          break;
        case "remove_line":
          lines.delete(op.line_id);
          break;
        case "set_line_note":
          patchLine(op.line_id, () => ({ note: op.note }));
          break;
        case "set_cart_note":
          note = op.note;
          break;
        case "rename":
          name = op.name;
          break;
        case "suggest": {
          // The server adds to this person's open suggestion of the same product.
          const mine = [...sugs.values()].find((x) => x.sku === op.sku && x.by === me.id);
          if (mine) {
            mine.quantity += op.quantity;
            if (op.note) mine.note = op.note;
            mine.pending = true;
            break;
          }
          const p = products.get(op.sku);
          sugs.set(`pending:${op_id}`, {
            suggestion_id: `pending:${op_id}`,
            sku: op.sku,
            name: p?.name ?? op.sku,
            unit_price: p?.price ?? 0,
            quantity: op.quantity,
            note: op.note ?? "",
            by: me.id,
            by_name: me.name,
            at,
            votes: {},
            score: 0,
            pending: true,
          });
          break;
        }
        case "vote": {
          const s = sugs.get(op.suggestion_id);
          if (!s) break;
          if (op.value === 0) delete s.votes[me.id];
          else s.votes[me.id] = op.value;
          s.score = Object.values(s.votes).reduce((a, b) => a + b, 0);
          s.pending = true;
          break;
        }
        case "reject_suggestion":
        case "withdraw_suggestion":
          sugs.delete(op.suggestion_id);
          break;
        case "accept_suggestion": {
          const s = sugs.get(op.suggestion_id);
          if (!s) break;
          sugs.delete(op.suggestion_id);
          addQty(s.sku, s.quantity, at, s.name, s.unit_price);
          break;
        }
      }
    }
    return finish({ ...base, name, note, lines: [...lines.values()], suggestions: [...sugs.values()] });
  }
}

/** The op id in a change's message, if it has one (`[]` for changes the server made). */
function opIdOf(change: Uint8Array): string[] {
  try {
    const meta = JSON.parse(A.decodeChange(change).message ?? "{}") as { op_id?: string };
    return meta.op_id ? [meta.op_id] : [];
  } catch {
    return []; // a change without a JSON message is not one of ours
  }
}

/** Totals derived from the lines, as the server derives them, and a stable order. */
function finish(v: CartView): CartView {
  for (const l of v.lines) {
    applyTier(l); // checkout: the group-buy price once the tier is reached
    l.line_total = l.unit_price * l.quantity;
  }
  v.subtotal = v.lines.reduce((t, l) => t + l.line_total, 0);
  v.item_count = v.lines.reduce((n, l) => n + l.quantity, 0);
  v.lines.sort((a, b) => a.added_at - b.added_at || a.line_id.localeCompare(b.line_id));
  v.suggestions.sort((a, b) => b.score - a.score || a.at - b.at);
  return v;
}
