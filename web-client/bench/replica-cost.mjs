// The JS cost per received change for a replica client (issue 16, target 5):
// the app's own code (src/live.ts and what it imports, loaded into Node by
// test/load-src.mjs) is fed the frames the server sends for other members'
// edits of a realistic cart, and each message is followed by the page's
// render as far as it is JS (the cart page and its checkout panel each read
// `replica.view()`; the DOM work is not counted). Messages arrive every
// --interval ms of a simulated clock (100: ten changes a second, what a
// member of the 50 × 10 workload receives), which runs the page's
// timers: the device copy (src/device-copy.ts) written 250 ms after a
// change is counted too, and shown apart ("no copy": timers never run).
//
// - before: the code at --before (git; default: the commit before the
//   compact stream), fed the default stream: a kind-2 change frame and a
//   JSON `activity` message per change, each message rendered.
// - after: the working tree, fed the compact stream: kind-3 frames of
//   --batch records (1 = every change in its own frame, as when edits come
//   more than a tick apart; more = what the server's writer coalesced).
//
// Run: `node bench/replica-cost.mjs [--changes 1000] [--history 500]
// [--lines 15] [--batch 1] [--interval 100] [--rounds 3] [--before REV]`.
// Prints CPU µs per change (median of rounds), with and without one own op
// pending (which makes the old code look for op ids in every change).

import { execFileSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import * as A from "@automerge/automerge";
import { loadSrc } from "../test/load-src.mjs";

const { values: opts } = parseArgs({
  options: {
    changes: { type: "string", default: "1000" },
    history: { type: "string", default: "500" },
    lines: { type: "string", default: "15" },
    batch: { type: "string", default: "1" },
    interval: { type: "string", default: "100" },
    rounds: { type: "string", default: "3" },
    before: { type: "string", default: "152099630a00d2f84f0a48f23d92cb152c37a900" },
  },
});
const CHANGES = Number(opts.changes);
const HISTORY = Number(opts.history);
const LINES = Number(opts.lines);
const BATCH = Number(opts.batch);
const INTERVAL = Number(opts.interval);
const ROUNDS = Number(opts.rounds);
const WARMUP = 200;

// What src/live.ts touches of the browser, on a simulated clock.
const clock = { now: 0, timers: [], run: true };
globalThis.window = globalThis;
const storage = new Map();
globalThis.localStorage = {
  getItem: (k) => storage.get(k) ?? null,
  setItem: (k, v) => storage.set(k, v),
  removeItem: (k) => storage.delete(k),
};
globalThis.document ??= { addEventListener() {}, removeEventListener() {}, visibilityState: "visible" };
globalThis.window.setTimeout = (fn, ms = 0) => clock.timers.push({ at: clock.now + ms, fn });
globalThis.window.clearTimeout = () => {};
/** Moves the clock to `t`, running the timers due by then (unless timers are off). */
function advance(t) {
  clock.now = t;
  if (!clock.run) return void (clock.timers = []);
  const due = clock.timers.filter((x) => x.at <= t);
  clock.timers = clock.timers.filter((x) => x.at > t);
  for (const x of due) x.fn();
}

const gitSource = (rev) => (file) =>
  execFileSync("git", ["show", `${rev}:web-client/src/${file}`], { encoding: "utf8", cwd: new URL(".", import.meta.url) });
const before = await loadSrc("live.ts", { outDir: "before", source: gitSource(opts.before) });
const after = await loadSrc("live.ts", { outDir: "after" });

// ---- A cart shaped as server/src/cart/{schema,ops}.rs shape it ----------

const CART_ID = "0194f2a3-7b1c-7d2e-8f90-a1b2c3d4e5f6";
const members = Array.from({ length: 10 }, (_, i) => ({
  id: `0194f2a3-0000-7000-8000-${String(i).padStart(12, "0")}`,
  name: ["Ana", "Ben", "Chloé", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun"][i],
}));
const ME = members[0];
// One Automerge actor per user (16 bytes of user id, then the node).
const actorOf = (m) => m.id.replaceAll("-", "") + "0001";
const S = (s) => new A.ImmutableString(s);
const products = Array.from({ length: 60 }, (_, i) => ({ sku: `SKU-${1000 + i}`, name: `Product number ${i}`, price: 199 + 37 * i }));

let doc = A.init({ actor: actorOf(members[0]) });
let seq = 0;
let at = Date.UTC(2026, 10, 26, 9, 0, 0);
let opCounter = 0;

/** One server commit by `m`: the change bytes and its activity event. */
function commit(m, kind, summary, fn) {
  at += 700;
  doc = A.clone(doc, { actor: actorOf(m) });
  const message = JSON.stringify({ user_id: m.id, user_name: m.name, op_id: `c${m.id.slice(-4)}-${++opCounter}`, kind });
  doc = A.change(doc, { message, time: Math.floor(at / 1000) }, fn);
  const lines = Object.values(doc.lines ?? {});
  const subtotal = lines.reduce((t, l) => t + Number(l.unit_price) * Number(l.quantity), 0);
  const activity = {
    seq: ++seq,
    at,
    user_id: m.id,
    user_name: m.name,
    kind,
    text: `${m.name} ${summary}. Subtotal $${(subtotal / 100).toFixed(2)}`,
    subtotal,
    currency: "USD",
  };
  return { change: A.getLastLocalChange(doc), activity };
}

let rnd = 42;
const random = (n) => {
  rnd = (rnd * 1103515245 + 12345) % 2 ** 31;
  return rnd % n;
};

/** A member's edit as the mix of a busy cart: mostly quantities. */
function edit(m) {
  const lineIds = Object.keys(doc.lines);
  const roll = random(100);
  if (lineIds.length < LINES || roll < 5) {
    if (lineIds.length >= LINES) {
      const id = lineIds[random(lineIds.length)];
      return commit(m, "remove_line", `removed ${doc.lines[id].name}`, (d) => delete d.lines[id]);
    }
    const p = products.find((x) => !doc.lines[x.sku]);
    return commit(m, "add_line", `added ${p.name}*1`, (d) => {
      d.lines[p.sku] = {
        sku: S(p.sku),
        name: S(p.name),
        unit_price: p.price,
        quantity: new A.Counter(1),
        note: S(""),
        added_by: S(m.id),
        added_by_name: S(m.name),
        added_at: at,
        ...(p.price % 3 === 0 ? { group_buy_min: 10, group_buy_price: p.price - 50 } : {}),
        ...(p.price % 5 === 0 ? { stock_left: 7 } : {}),
      };
    });
  }
  const id = lineIds[random(lineIds.length)];
  if (roll < 80) {
    const delta = random(3) === 0 ? -1 : 1;
    if (Number(doc.lines[id].quantity) + delta < 1) return edit(m);
    return commit(m, "change_quantity", `changed ${doc.lines[id].name} to ${Number(doc.lines[id].quantity) + delta}`, (d) =>
      d.lines[id].quantity.increment(delta),
    );
  }
  if (roll < 90) {
    const sids = Object.keys(doc.suggestions);
    const sid = sids[random(sids.length)];
    return commit(m, "vote", `voted on ${doc.suggestions[sid].name}`, (d) => {
      // A vote that changes nothing makes no change: flip it.
      d.suggestions[sid].votes[m.id] = doc.suggestions[sid].votes[m.id] === 1 ? -1 : 1;
    });
  }
  return commit(m, "set_line_note", `noted ${doc.lines[id].name}`, (d) => {
    d.lines[id].note = S(`note ${opCounter}`);
  });
}

commit(ME, "create", "created the cart", (d) => {
  d.name = S("Team lunch order");
  d.note = S("");
  d.currency = S("USD");
  d.lines = {};
  d.suggestions = {};
});
for (let i = 0; i < 4; i++) {
  const m = members[i + 1];
  const p = products[50 + i];
  commit(m, "suggest", `suggested ${p.name}*1`, (d) => {
    d.suggestions[`s${i}`] = {
      sku: S(p.sku),
      name: S(p.name),
      unit_price: p.price,
      quantity: 1,
      note: S(""),
      by: S(m.id),
      by_name: S(m.name),
      at,
      votes: {},
    };
  });
}
const feed = [];
for (let i = 0; i < HISTORY; i++) feed.push(edit(members[1 + random(9)]).activity);
const savedDoc = A.save(doc);
const recentActivity = feed.slice(-50);
const stream = Array.from({ length: WARMUP + CHANGES }, () => edit(members[1 + random(9)]));
const finalHeads = A.getHeads(doc).sort().join();
const finalLines = Object.keys(doc.lines).length;
doc = undefined;

// Making the stream forked the document once per change: collect those
// copies (and their wasm memory) now, not during the measurement.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc");
for (let i = 0; i < 5; i++) {
  gc();
  await sleep(20);
}

// ---- Frames as the server writes them (protocol/src/frame.rs) ----------

const header = (kind, length) => {
  const frame = new Uint8Array(17 + length);
  frame[0] = kind;
  frame.set(CART_ID.replaceAll("-", "").match(/../g).map((h) => parseInt(h, 16)), 1);
  return frame;
};
const documentFrame = (() => {
  const f = header(1, savedDoc.length);
  f.set(savedDoc, 17);
  return f;
})();
const changesFrame = (change) => {
  const f = header(2, change.length);
  f.set(change, 17);
  return f;
};
const encoder = new TextEncoder();
const compactFrame = (records) => {
  const parts = records.map((r) => [r.change, encoder.encode(JSON.stringify(r.activity))]);
  const f = header(3, parts.reduce((n, [c, a]) => n + 8 + c.length + a.length, 0));
  const view = new DataView(f.buffer);
  let o = 17;
  for (const [c, a] of parts) {
    view.setUint32(o, c.length);
    f.set(c, o + 4);
    o += 4 + c.length;
    view.setUint32(o, a.length);
    f.set(a, o + 4);
    o += 4 + a.length;
  }
  return f;
};

/**
 * The messages as the socket hands them over (a binary frame or JSON text),
 * with when (ms): change `i` is made at `i * INTERVAL`, and a burst that the
 * server coalesces into one kind-3 frame arrives at once, both ways.
 */
const arrival = (i) => (Math.floor(i / BATCH) * BATCH + BATCH - 1) * INTERVAL;
const oldMessages = (records, from) =>
  records.flatMap((r, i) => [
    { at: arrival(from + i), binary: changesFrame(r.change) },
    { at: arrival(from + i), text: JSON.stringify({ type: "activity", cart_id: CART_ID, event: r.activity }) },
  ]);
const newMessages = (records, from) => {
  const out = [];
  for (let i = 0; i < records.length; i += BATCH) {
    const batch = records.slice(i, i + BATCH);
    out.push({ at: arrival(from + i), binary: compactFrame(batch) });
  }
  return out;
};

// ---- Driving the app's code ---------------------------------------------

/** A page with this cart open; `render()` is the JS of one redraw. */
function page(mod, { pending }) {
  let dirty = false;
  const live = new mod.Live(
    {
      change: () => {
        dirty = true;
      },
      status() {},
      notice(text) {
        throw new Error(`notice: ${text}`);
      },
      signedOut() {},
      remote() {},
    },
    ME.id,
  );
  live.userId = ME.id;
  live.userName = ME.name;
  const cart = live.open(CART_ID);
  cart.activity = recentActivity.slice();
  live.onBinary(documentFrame);
  if (pending) cart.replica.pending = [{ op_id: "mine-1", op: { kind: "change_quantity", line_id: "SKU-1000", delta: 1 }, at }];
  const productMap = new Map(products.map((p) => [p.sku, p]));
  const me = { id: ME.id, name: ME.name };
  const render = () => {
    if (!dirty) return;
    dirty = false;
    // src/views/cart.ts render(), then its checkout panel's render().
    cart.replica.view(me, productMap);
    cart.replica.view(me, productMap);
  };
  const deliver = (msg) => {
    advance(msg.at);
    if (msg.binary) live.onBinary(msg.binary);
    else live.onMessage(JSON.parse(msg.text));
    render();
  };
  return { cart, deliver };
}

function run(mod, messagesOf, { pending, copy }) {
  storage.clear();
  clock.now = 0;
  clock.timers = [];
  clock.run = copy;
  const p = page(mod, { pending });
  const warm = messagesOf(stream.slice(0, WARMUP), 0);
  const timed = messagesOf(stream.slice(WARMUP), WARMUP);
  for (const m of warm) p.deliver(m);
  // CPU time, not wall time: the box may be busy with other work.
  const t0 = process.cpuUsage();
  for (const m of timed) p.deliver(m);
  advance(clock.now + 1000);
  const used = process.cpuUsage(t0);
  const us = (used.user + used.system) / CHANGES;
  // Both ways must end with the server's document and feed.
  const heads = A.getHeads(p.cart.replica.doc).sort().join();
  if (heads !== finalHeads) throw new Error("the replica did not converge");
  if (p.cart.activity.at(-1)?.seq !== seq) throw new Error("the feed missed the last change");
  if (copy && !storage.size) throw new Error("no device copy was written");
  return us;
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** Rounds of before and after, taken in turns so that noise falls on both. */
function compare(options) {
  const b = [];
  const a = [];
  for (let i = 0; i < ROUNDS; i++) {
    gc();
    b.push(run(before, oldMessages, options));
    gc();
    a.push(run(after, newMessages, options));
  }
  return [median(b), median(a)];
}

console.log(
  `cart: ${finalLines} lines, 4 suggestions, ` +
    `${HISTORY + 5} changes of history before, ${CHANGES} timed changes (after ${WARMUP} warm-up) ` +
    `${INTERVAL} ms apart, ${BATCH} per kind-3 frame; median of ${ROUNDS} rounds`,
);
for (const copy of [true, false]) {
  for (const pending of [false, true]) {
    const when = `${pending ? "one own op pending" : "nothing pending"}${copy ? "" : ", no copy"}`;
    const [b, a] = compare({ pending, copy });
    console.log(
      `${when.padEnd(32)} before ${b.toFixed(1).padStart(7)} µs/change   after ${a.toFixed(1).padStart(6)} µs/change   ${(b / a).toFixed(2)}x`,
    );
  }
}
