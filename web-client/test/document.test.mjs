// The server's saved document and its change log, loaded with the official
// JS library, give the same cart as the server's JSON view.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as A from "@automerge/automerge";
import { ApiClient, startServer, uniqueEmail } from "./helpers.mjs";

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

/** The cart as the JSON view names it, read from an Automerge replica. */
function cartFromDoc(doc) {
  const s = (v) => (v === undefined || v === null ? v : v.toString());
  const n = (v) => (v === undefined || v === null ? v : Number(v));
  const lines = Object.entries(doc.lines ?? {}).map(([line_id, l]) => ({
    line_id,
    sku: s(l.sku),
    name: s(l.name),
    unit_price: n(l.unit_price),
    quantity: n(l.quantity),
    note: s(l.note),
    added_by: s(l.added_by),
    added_by_name: s(l.added_by_name),
    added_at: n(l.added_at),
  }));
  const suggestions = Object.entries(doc.suggestions ?? {}).map(([suggestion_id, x]) => ({
    suggestion_id,
    sku: s(x.sku),
    name: s(x.name),
    unit_price: n(x.unit_price),
    quantity: n(x.quantity),
    note: s(x.note),
    by: s(x.by),
    by_name: s(x.by_name),
    at: n(x.at),
    votes: Object.fromEntries(Object.entries(x.votes ?? {}).map(([k, v]) => [k, n(v)])),
  }));
  return {
    name: s(doc.name),
    note: s(doc.note),
    currency: s(doc.currency),
    // Not stored: the sum of the line totals, as docs/protocol.md says.
    subtotal: lines.reduce((t, l) => t + l.unit_price * l.quantity, 0),
    lines: lines.sort((a, b) => a.line_id.localeCompare(b.line_id)),
    suggestions: suggestions.sort((a, b) => a.suggestion_id.localeCompare(b.suggestion_id)),
  };
}

/** The same fields picked from the server's JSON view. */
function cartFromJson(cart) {
  const pick = (o, keys) => Object.fromEntries(keys.map((k) => [k, o[k]]));
  return {
    name: cart.name,
    note: cart.note,
    currency: cart.currency,
    subtotal: cart.subtotal,
    lines: cart.lines
      .map((l) => pick(l, ["line_id", "sku", "name", "unit_price", "quantity", "note", "added_by", "added_by_name", "added_at"]))
      .sort((a, b) => a.line_id.localeCompare(b.line_id)),
    suggestions: cart.suggestions
      .map((x) => pick(x, ["suggestion_id", "sku", "name", "unit_price", "quantity", "note", "by", "by_name", "at", "votes"]))
      .sort((a, b) => a.suggestion_id.localeCompare(b.suggestion_id)),
  };
}

test("saved document and change log load in @automerge/automerge as the server's cart", async () => {
  const ana = await ApiClient.signup(server.url, uniqueEmail("ana"), "Ana");
  const kid = await ApiClient.signup(server.url, uniqueEmail("kid"), "Kid");
  const { products } = await ana.json("GET", "/api/catalog?q=");
  assert.ok(products.length >= 4, "the demo catalog has at least 4 products");
  const [p0, p1, p2, p3] = products.filter((p) => p.stock >= 10);

  const cart = await ana.json("POST", "/api/carts", { name: "Weekend BBQ" }, 201);
  await ana.json("POST", `/api/carts/${cart.id}/members`, { email: kid.user.email, role: "viewer" }, 201);

  let n = 0;
  const op = (client, body) => client.json("POST", `/api/carts/${cart.id}/ops`, { op_id: `doc-test-${++n}`, op: body });
  await op(ana, { kind: "add_line", sku: p0.sku, quantity: 2 });
  await op(ana, { kind: "add_line", sku: p1.sku, quantity: 1 });
  await op(ana, { kind: "add_line", sku: p0.sku, quantity: 3 });
  await op(ana, { kind: "change_quantity", line_id: p1.sku, delta: 2 });
  await op(ana, { kind: "set_line_note", line_id: p0.sku, note: "the big ones — ünïcödé ✓" });
  await op(ana, { kind: "set_cart_note", note: "for Saturday" });
  await op(ana, { kind: "add_line", sku: p3.sku, quantity: 1 });
  await op(ana, { kind: "remove_line", line_id: p3.sku });
  await op(kid, { kind: "suggest", sku: p2.sku, quantity: 2, note: "please" });
  await op(kid, { kind: "suggest", sku: p3.sku, quantity: 1 });
  let view = await ana.json("GET", `/api/carts/${cart.id}`);
  const sug = view.suggestions.find((x) => x.sku === p2.sku);
  await op(kid, { kind: "vote", suggestion_id: sug.suggestion_id, value: 1 });
  await op(ana, { kind: "vote", suggestion_id: sug.suggestion_id, value: -1 });
  await op(ana, { kind: "accept_suggestion", suggestion_id: view.suggestions.find((x) => x.sku === p3.sku).suggestion_id });
  await op(ana, { kind: "rename", name: "Weekend BBQ 🍔" });

  view = await ana.json("GET", `/api/carts/${cart.id}`);
  const saved = await ana.bytes(`/api/carts/${cart.id}/document`);
  const changes = await ana.bytes(`/api/carts/${cart.id}/changes`);

  const fromSave = A.load(saved);
  const fromChanges = A.loadIncremental(A.init(), changes);
  const expected = cartFromJson(view);

  assert.deepEqual(cartFromDoc(fromSave), expected, "Automerge.load(document) matches GET /api/carts/{id}");
  assert.deepEqual(cartFromDoc(fromChanges), expected, "Automerge.loadIncremental(changes) matches GET /api/carts/{id}");
  assert.deepEqual([...A.getHeads(fromSave)].sort(), [...view.heads].sort(), "heads of the saved document");
  assert.deepEqual([...A.getHeads(fromChanges)].sort(), [...view.heads].sort(), "heads of the change log");

  // A few facts the JSON view states on its own.
  assert.equal(view.name, "Weekend BBQ 🍔");
  assert.equal(view.lines.find((l) => l.sku === p0.sku).quantity, 5, "two adds of one sku count together");
  assert.equal(view.lines.find((l) => l.sku === p1.sku).quantity, 3);
  assert.equal(view.lines.find((l) => l.sku === p3.sku).quantity, 1, "the accepted suggestion became a line");
  assert.deepEqual(view.suggestions.find((x) => x.sku === p2.sku).votes, { [kid.user.id]: 1, [ana.user.id]: -1 });
  assert.equal(
    view.subtotal,
    view.lines.reduce((t, l) => t + l.line_total, 0),
    "the subtotal is the sum of the line totals",
  );

  // Every change says who made it and which op it was.
  const all = A.getAllChanges(fromChanges).map((c) => A.decodeChange(c));
  const ops = all.map((c) => JSON.parse(c.message ?? "null")).filter((m) => m && m.op_id?.startsWith("doc-test-"));
  assert.equal(ops.length, n, "one change per op, each naming its op_id");
  for (const c of all) {
    const meta = JSON.parse(c.message ?? "null");
    if (!meta?.op_id?.startsWith("doc-test-")) continue;
    assert.equal(c.actor.slice(0, 32), meta.user_id.replaceAll("-", ""), "the actor id starts with the user's uuid");
  }
});

test("the change log replayed in one piece or change by change gives the same heads", async () => {
  const bo = await ApiClient.signup(server.url, uniqueEmail("bo"), "Bo");
  const { products } = await bo.json("GET", "/api/catalog?q=");
  const cart = await bo.json("POST", "/api/carts", { name: "Groceries" }, 201);
  for (let i = 0; i < 20; i++) {
    const p = products[i % Math.min(products.length, 5)];
    await bo.json("POST", `/api/carts/${cart.id}/ops`, { op_id: `seq-${i}`, op: { kind: "add_line", sku: p.sku, quantity: 1 } });
  }
  // A retried op_id is not applied twice.
  const dup = await bo.json("POST", `/api/carts/${cart.id}/ops`, { op_id: "seq-0", op: { kind: "add_line", sku: products[0].sku, quantity: 1 } });
  assert.equal(dup.duplicate, true);

  const view = await bo.json("GET", `/api/carts/${cart.id}`);
  const whole = A.loadIncremental(A.init(), await bo.bytes(`/api/carts/${cart.id}/changes`));
  let stepwise = A.init();
  for (const change of A.getAllChanges(whole)) stepwise = A.loadIncremental(stepwise, change);
  assert.deepEqual(cartFromDoc(stepwise), cartFromJson(view));
  assert.deepEqual(A.getHeads(stepwise).sort(), [...view.heads].sort());
  assert.equal(
    view.lines.reduce((t, l) => t + l.quantity, 0),
    20,
  );
});
