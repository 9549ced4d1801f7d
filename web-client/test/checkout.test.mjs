// Group checkout in Debian's Chromium against the real server: three members
// (Ana the admin, Ben and Cleo editors), a budget that refuses Ben past it,
// the lock seen live, an even split with each person's amount, the order
// placed from the page and its order page; and an editor named approver
// from the page who approves there (another editor gets no button).

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ApiClient, byTest, cartReady, openApp, READY_MS, repoRoot, signedInContext, uniqueEmail, waitFor, withServerAndBrowser } from "./helpers.mjs";

const screenshots = join(repoRoot, "target", "screenshots");

let server;
let browser;
withServerAndBrowser((s, b) => {
  server = s;
  browser = b;
});

const phaseOf = (page) => page.locator(byTest("checkout-phase")).getAttribute("data-phase");

test("three members, a budget, the lock, an even split and the order", { timeout: 180_000 }, async () => {
  const ana = await ApiClient.signup(server.url, uniqueEmail("ana"), "Ana");
  const ben = await ApiClient.signup(server.url, uniqueEmail("ben"), "Ben");
  const cleo = await ApiClient.signup(server.url, uniqueEmail("cleo"), "Cleo");
  const cart = await ana.json("POST", "/api/carts", { name: "Team lunch" }, 201);
  for (const who of [ben, cleo]) {
    await ana.json("POST", `/api/carts/${cart.id}/members`, { email: who.user.email, role: "editor" }, 201);
  }
  let n = 0;
  const op = (client, o) => client.raw("POST", `/api/carts/${cart.id}/ops`, { op_id: `t-${++n}`, op: o });

  const pages = {};
  const errors = [];
  for (const [name, client] of [["ana", ana], ["ben", ben]]) {
    const ctx = await signedInContext(browser, server, client);
    const page = await ctx.newPage();
    page.on("pageerror", (e) => errors.push(`${name}: ${e.message}`));
    await openApp(page, `${server.url}/#/cart/${cart.id}`);
    await cartReady(page, cart.id);
    pages[name] = page;
  }
  const { ana: a, ben: b } = pages;
  await a.locator(byTest("checkout-panel")).waitFor();
  assert.equal(await phaseOf(a), "open");
  // Ben may not run the checkout: no lock button for him.
  assert.equal(await b.locator(byTest("lock")).count(), 0);

  // Ana gives Ben a budget of $24.00 from the page; Ben sees it.
  await a.locator(byTest(`budget-input-${ben.user.id}`)).fill("24");
  await a.locator(byTest(`budget-set-${ben.user.id}`)).click();
  await b.locator(byTest(`budget-${ben.user.id}`)).waitFor({ timeout: READY_MS });
  // Two mugs are exactly his budget; a third is refused with what is left.
  assert.equal((await op(ben, { kind: "add_line", sku: "MUG-BLUE", quantity: 2 })).status, 200);
  const over = await op(ben, { kind: "add_line", sku: "MUG-BLUE", quantity: 1 });
  assert.equal(over.status, 400);
  const body = await over.json();
  assert.equal(body.error.code, "over_budget");
  assert.match(body.error.message, /\$0\.00 left of \$24\.00/);
  await waitFor(async () => (await b.locator(byTest(`budget-${ben.user.id}`)).innerText()).includes("$0.00 left"), { what: "Ben's budget spent", timeoutMs: READY_MS });
  assert.equal((await op(cleo, { kind: "add_line", sku: "TEA-GREEN", quantity: 1 })).status, 200);
  // Group-buy progress: 8 more mugs to the group price.
  await waitFor(async () => (await a.locator(byTest("groupbuy-MUG-BLUE")).innerText()).includes("8 more to unlock"), { what: "group-buy progress", timeoutMs: READY_MS });

  // Ana locks from the page: Ben's page switches at once, and his edits are refused.
  await a.locator(byTest("lock")).click();
  await waitFor(async () => (await phaseOf(b)) === "locked", { what: "Ben sees the lock", timeoutMs: READY_MS });
  const locked = await op(ben, { kind: "change_quantity", line_id: "MUG-BLUE", delta: -1 });
  assert.equal(locked.status, 409);
  assert.equal((await locked.json()).error.code, "cart_locked");

  // An even split among the three: each person's amount, adding up.
  await a.locator(byTest("split-plan")).selectOption("even");
  await a.locator(byTest("split-set")).click();
  const total = 2400 + 650;
  await waitFor(async () => (await a.locator(byTest("shares")).locator("li").count()) === 3, { what: "three shares", timeoutMs: READY_MS });
  const amounts = await a.$$eval(`${byTest("shares")} li span:last-child`, (els) => els.map((e) => e.textContent));
  assert.deepEqual(amounts.sort(), ["$10.16", "$10.17", "$10.17"].sort());
  assert.equal(Number(await a.locator(byTest("quote-total")).getAttribute("data-total")), total);
  await b.locator(byTest("shares")).waitFor({ timeout: READY_MS });
  mkdirSync(screenshots, { recursive: true });
  await a.locator(byTest("checkout-panel")).screenshot({ path: join(screenshots, "checkout-panel.png") });

  // Ana places the order; the page goes to the order, Ben's cart says ordered.
  await a.locator(byTest("place-order")).click();
  await a.locator(byTest("order-page")).waitFor({ timeout: READY_MS });
  assert.equal(await a.locator(byTest("order-status")).getAttribute("data-status"), "pending");
  assert.equal(await a.locator(byTest("order-total")).innerText(), "$30.50");
  assert.equal(await a.locator(byTest("order-shares")).locator("li").count(), 3);
  await waitFor(async () => (await phaseOf(b)) === "ordered", { what: "Ben sees the order", timeoutMs: READY_MS });
  await b.locator(byTest("order-link")).waitFor();
  const orders = await ana.json("GET", `/api/carts/${cart.id}/orders`);
  assert.equal(orders.orders.length, 1);
  assert.equal(orders.orders[0].shares.reduce((t, s) => t + s.amount, 0), total);
  assert.deepEqual(errors, []);
});

test("an admin names an editor the approver from the page; the approver approves", { timeout: 180_000 }, async () => {
  const ana = await ApiClient.signup(server.url, uniqueEmail("ana"), "Ana");
  const ben = await ApiClient.signup(server.url, uniqueEmail("ben"), "Ben");
  const cleo = await ApiClient.signup(server.url, uniqueEmail("cleo"), "Cleo");
  const cart = await ana.json("POST", "/api/carts", { name: "Office supplies" }, 201);
  for (const who of [ben, cleo]) {
    await ana.json("POST", `/api/carts/${cart.id}/members`, { email: who.user.email, role: "editor" }, 201);
  }
  let n = 0;
  const op = (client, o) => client.raw("POST", `/api/carts/${cart.id}/ops`, { op_id: `t-${++n}`, op: o });

  const pages = {};
  const errors = [];
  for (const [name, client] of [["ana", ana], ["ben", ben], ["cleo", cleo]]) {
    const ctx = await signedInContext(browser, server, client);
    const page = await ctx.newPage();
    page.on("pageerror", (e) => errors.push(`${name}: ${e.message}`));
    await openApp(page, `${server.url}/#/cart/${cart.id}`);
    await cartReady(page, cart.id);
    pages[name] = page;
  }
  const { ana: a, ben: b, cleo: c } = pages;
  await a.locator(byTest("checkout-panel")).waitFor();
  assert.equal(await b.locator(byTest("approver-select")).count(), 0, "only an admin picks the approver");
  // Ana picks Ben from the members; everyone sees it live.
  await waitFor(async () => (await a.locator(`${byTest("approver-select")} option`).count()) === 4, { what: "the members in the select", timeoutMs: READY_MS });
  await a.locator(byTest("approver-select")).selectOption(ben.user.id);
  await waitFor(async () => (await b.locator(byTest("approver")).getAttribute("data-approver")) === ben.user.id, { what: "Ben sees he approves", timeoutMs: READY_MS });
  assert.match(await b.locator(byTest("approver")).innerText(), /Ben \(you\) or an admin approves/);

  assert.equal((await op(ben, { kind: "add_line", sku: "MUG-BLUE", quantity: 2 })).status, 200);
  assert.equal((await op(ana, { kind: "set_approval_threshold", amount: 1000 })).status, 200);
  assert.equal((await op(ana, { kind: "lock" })).status, 200);
  assert.equal((await op(ana, { kind: "request_approval" })).status, 200);
  await waitFor(async () => (await phaseOf(b)) === "pending_approval", { what: "Ben sees the request", timeoutMs: READY_MS });
  await waitFor(async () => (await phaseOf(c)) === "pending_approval", { what: "Cleo sees the request", timeoutMs: READY_MS });
  assert.equal(await c.locator(byTest("approve")).count(), 0, "another editor has no approve button");
  await b.locator(byTest("approval-comment")).fill("fine by me");
  await b.locator(byTest("approve")).click();
  await waitFor(async () => (await phaseOf(a)) === "approved", { what: "Ana sees the approval", timeoutMs: READY_MS });
  assert.match(await a.locator(byTest("approval-status")).innerText(), /Ben approved the order: “fine by me”/);
  assert.deepEqual(errors, []);
});
