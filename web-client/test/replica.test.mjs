// The client's frame decoding, replica, device copy and what the page's
// socket does with the streams, run in Node on the app's own modules
// (test/load-src.mjs) with documents made by the official JS library the
// way the server shapes them: no server, no browser.

import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";
import * as A from "@automerge/automerge";
import { loadSrc } from "./load-src.mjs";

// What the modules touch of the browser. Timers never fire: the tests
// call what they would.
const storage = new Map();
globalThis.localStorage = {
  getItem: (k) => storage.get(k) ?? null,
  setItem: (k, v) => storage.set(k, v),
  removeItem: (k) => storage.delete(k),
};
globalThis.window = globalThis;
window.setTimeout = window.setInterval = () => 0;
window.clearTimeout = window.clearInterval = () => {};
window.addEventListener = window.removeEventListener = () => {};
window.dispatchEvent = () => true;
globalThis.document = { addEventListener() {}, removeEventListener() {}, visibilityState: "visible" };
globalThis.location = { protocol: "http:", host: "cartroom.test" };
Object.defineProperty(globalThis, "navigator", { value: { onLine: true }, configurable: true });

/** The page's WebSocket: what the page sent, and a way to hand it what the server says. */
class FakeSocket {
  static OPEN = 1;
  static CONNECTING = 0;
  static last;
  readyState = FakeSocket.OPEN;
  sent = [];
  constructor() {
    FakeSocket.last = this;
  }
  send(text) {
    this.sent.push(JSON.parse(text));
  }
  close() {}
  text(msg) {
    this.onmessage({ data: JSON.stringify(msg) });
  }
  binary(kind, payload) {
    const frame = new Uint8Array(17 + payload.length);
    frame[0] = kind;
    frame.set(CART_ID.replaceAll("-", "").match(/../g).map((h) => parseInt(h, 16)), 1);
    frame.set(payload, 17);
    this.onmessage({ data: frame.buffer });
  }
}
globalThis.WebSocket = FakeSocket;

const frames = await loadSrc("frames.ts", { outDir: "test-frames" });
const { CartLive } = await loadSrc("cart-live.ts", { outDir: "test-cart-live" });
const copies = await loadSrc("device-copy.ts", { outDir: "test-device-copy" });
const { Live } = await loadSrc("live.ts", { outDir: "test-live" });

const CART_ID = "0194f2a3-7b1c-7d2e-8f90-a1b2c3d4e5f6";
const ANA = "0194f2a3-0000-7000-8000-000000000001";
const BEN = "0194f2a3-0000-7000-8000-000000000002";
const S = (s) => new A.ImmutableString(s);
const me = { id: ANA, name: "Ana" };

beforeEach(() => storage.clear());

/** A kind-3 payload, as protocol/src/frame.rs encodes it. */
function recordsPayload(records) {
  const enc = new TextEncoder();
  const parts = records.flatMap((r) => [r.change, enc.encode(JSON.stringify(r.activity))]);
  const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const p of parts) {
    view.setUint32(at, p.length);
    out.set(p, at + 4);
    at += 4 + p.length;
  }
  return out;
}

const activity = (seq, user_id, text) => ({ seq, at: 1_700_000_000_000 + seq, user_id, user_name: "x", kind: "change_quantity", text, subtotal: 0, currency: "USD" });

/** A cart as the server makes it, and a way to commit changes to it as a user. */
function serverCart() {
  let doc = A.change(A.init({ actor: "aa01" }), { message: JSON.stringify({ op_id: null, kind: "create" }), time: 1 }, (d) => {
    d.name = S("Lunch");
    d.note = S("");
    d.currency = S("USD");
    d.lines = {};
    d.suggestions = {};
  });
  let seq = 0;
  return {
    get doc() {
      return doc;
    },
    commit(user, opId, fn) {
      doc = A.change(A.clone(doc, { actor: user === ANA ? "aa01" : "bb02" }), { message: JSON.stringify({ user_id: user, op_id: opId }), time: 2 }, fn);
      return { change: A.getLastLocalChange(doc), activity: activity(++seq, user, `change ${seq}`) };
    },
  };
}

const addLine = (sku, qty, price = 250) => (d) => {
  d.lines[sku] = { sku: S(sku), name: S(`Product ${sku}`), unit_price: price, quantity: new A.Counter(qty), note: S(""), added_by: S(BEN), added_by_name: S("Ben"), added_at: 5 };
};

test("a frame's header gives its kind and cart id; short frames are not frames", () => {
  const bytes = new Uint8Array(20);
  bytes[0] = 3;
  bytes.set(CART_ID.replaceAll("-", "").match(/../g).map((h) => parseInt(h, 16)), 1);
  bytes.set([7, 8, 9], 17);
  const f = frames.readFrame(bytes);
  assert.equal(f.kind, frames.FRAME_CHANGE);
  assert.equal(f.cartId, CART_ID);
  assert.deepEqual([...f.payload], [7, 8, 9]);
  assert.equal(frames.readFrame(bytes.subarray(0, 16)), undefined);
});

test("kind-3 records decode in order, and truncated ones are refused", () => {
  const one = { change: new Uint8Array([1, 2, 3]), activity: activity(1, ANA, "one") };
  const two = { change: new Uint8Array([]), activity: activity(2, BEN, "two") };
  const payload = recordsPayload([one, two]);
  const records = frames.readRecords(payload);
  assert.deepEqual(
    records.map((r) => [[...r.change], r.activity]),
    [
      [[1, 2, 3], one.activity],
      [[], two.activity],
    ],
  );
  // Every proper prefix is cut in a length or in a part.
  const first = recordsPayload([one]).length;
  for (let cut = 0; cut < payload.length; cut++) {
    if (cut === first) continue; // exactly the first record: a whole frame
    assert.throws(() => frames.readRecords(payload.subarray(0, cut)), RangeError, `cut at ${cut}`);
  }
  // A length that runs past the end.
  const long = payload.slice();
  long[0] = 0xff;
  assert.throws(() => frames.readRecords(long), /truncated at byte 0/);
});

test("records apply in one call, feed the feed, and settle only this user's pending ops", () => {
  const server = serverCart();
  const cart = new CartLive(CART_ID);
  cart.replica.load(A.save(server.doc));
  cart.replica.pending = [{ op_id: "mine-1", op: { kind: "add_line", sku: "A", quantity: 2 }, at: 0 }];
  const records = [
    server.commit(BEN, "mine-1", addLine("B", 1)), // Ben's op id, the same string: not ours
    server.commit(ANA, "mine-1", addLine("A", 2)),
  ];
  const seen = cart.replica.applyRecords(frames.readRecords(recordsPayload(records)), ANA);
  assert.deepEqual(seen, ["mine-1"]);
  assert.deepEqual(cart.replica.heads(), A.getHeads(server.doc));
  cart.replica.settle(seen);
  const v = cart.replica.view(me, new Map());
  assert.deepEqual(
    v.lines.map((l) => [l.line_id, l.quantity, l.pending]),
    [
      ["A", 2, false],
      ["B", 1, false],
    ],
  );
  assert.equal(v.subtotal, 750);
  // Read twice without a change, the view is the same object.
  assert.equal(cart.replica.view(me, new Map()), v);
});

test("a Document frame replaces the replica: a new epoch's document is not merged into the old", () => {
  const server = serverCart();
  server.commit(BEN, "b-1", addLine("A", 3));
  const cart = new CartLive(CART_ID);
  cart.replica.load(A.save(server.doc));
  // Epoch n+1: the same state in a fresh document, no shared history.
  const fresh = A.change(A.init({ actor: "cc03" }), (d) => {
    d.name = S("Lunch");
    d.note = S("");
    d.currency = S("USD");
    d.lines = {};
    d.suggestions = {};
    addLine("A", 3)(d);
  });
  cart.replica.load(A.save(fresh));
  const v = cart.replica.view(me, new Map());
  assert.deepEqual(
    v.lines.map((l) => [l.line_id, l.quantity]),
    [["A", 3]],
  );
  assert.deepEqual(cart.replica.heads(), A.getHeads(fresh));
});

test("the device copy keeps changes received after its whole save, and a new document resets it", () => {
  const server = serverCart();
  const cart = new CartLive(CART_ID);
  cart.replica.load(A.save(server.doc));
  copies.saveCopy(ANA, cart);
  const keys = () => [...storage.keys()].filter((k) => k.startsWith("cartroom.copy.")).sort();
  assert.equal(keys().length, 1);
  for (let i = 0; i < 3; i++) {
    cart.replica.applyRecords([server.commit(BEN, `b-${i}`, addLine(`S${i}`, i + 1))], ANA);
    copies.saveCopy(ANA, cart);
  }
  assert.equal(keys().length, 4, "one chunk per save after the whole one");
  const again = new CartLive(CART_ID);
  copies.loadCopy(ANA, again);
  assert.equal(again.fromCopy, true);
  assert.deepEqual(again.replica.heads(), A.getHeads(server.doc));
  // A Document frame (a new epoch) makes the next save a whole one again.
  cart.replica.load(A.save(server.doc));
  copies.saveCopy(ANA, cart);
  assert.equal(keys().length, 1);
  copies.forgetCopy(ANA, CART_ID);
  assert.equal(keys().length, 0);
});

/** A page signed in as Ana with the cart open, on a server whose `hello` lists `features`. */
function pageOn(features) {
  const remote = [];
  const live = new Live({ change() {}, status() {}, notice() {}, signedOut() {}, remote: (_, e) => remote.push(e) }, ANA);
  live.start();
  const ws = FakeSocket.last;
  ws.text({ type: "hello", protocol: 1, server: "cartroom/test", features, conn_id: "c1", user_id: ANA, name: "Ana" });
  const cart = live.open(CART_ID);
  const subscribe = ws.sent.find((m) => m.type === "subscribe");
  ws.text({ type: "subscribed", cart_id: CART_ID, role: "admin", capabilities: [], payload: "document", heads: [], presence: [], activity: [] });
  return { live, ws, cart, subscribe, remote };
}

test("on the compact stream, kind-3 frames feed the replica and the feed; an epoch's document replaces the replica", () => {
  const server = serverCart();
  const { ws, cart, subscribe, remote } = pageOn(["pipelining", "streams"]);
  assert.equal(subscribe.stream, "compact");
  ws.binary(1, A.save(server.doc));
  assert.equal(cart.syncing, false);
  // Two changes the server coalesced into one frame: Ben's, then Ana's from another tab.
  const records = [server.commit(BEN, "b-1", addLine("A", 2)), server.commit(ANA, "a-1", addLine("B", 1))];
  ws.binary(3, recordsPayload(records));
  assert.deepEqual(cart.replica.heads(), A.getHeads(server.doc));
  assert.deepEqual(
    cart.activity.map((e) => e.seq),
    [1, 2],
  );
  assert.deepEqual(
    remote.map((e) => e.user_id),
    [BEN],
    "only someone else's edit is announced",
  );
  // Epoch n+1: the `epoch` message, then the new document, with no shared history.
  const fresh = A.change(A.init({ actor: "cc03" }), (d) => {
    d.name = S("Lunch");
    d.note = S("");
    d.currency = S("USD");
    d.lines = {};
    d.suggestions = {};
    addLine("A", 2)(d);
    addLine("B", 1)(d);
  });
  ws.text({ type: "epoch", cart_id: CART_ID, epoch: 2, heads: A.getHeads(fresh) });
  ws.binary(1, A.save(fresh));
  assert.deepEqual(cart.replica.heads(), A.getHeads(fresh));
  assert.deepEqual(
    cart.replica.view(me, new Map()).lines.map((l) => [l.line_id, l.quantity]),
    [
      ["A", 2],
      ["B", 1],
    ],
  );
});

test("a server without `streams` gets a plain subscribe, and its change frames and activity messages still work", () => {
  const server = serverCart();
  const { ws, cart, subscribe } = pageOn(["pipelining"]);
  assert.equal(subscribe.stream, undefined);
  ws.binary(1, A.save(server.doc));
  const { change, activity: event } = server.commit(BEN, "b-1", addLine("A", 2));
  ws.binary(2, change);
  ws.text({ type: "activity", cart_id: CART_ID, event });
  assert.deepEqual(cart.replica.heads(), A.getHeads(server.doc));
  assert.deepEqual(cart.activity, [event]);
});
