// The back office in Debian's Chromium against the real server: the demo
// owner opens it from the store page and sees today's figures of a small
// history made through the API (a cart shared by link and ordered, a
// single-person cart), the charts, the products with their stock and the
// orders; creates an API key (its secret shown once) and revokes it; adds
// a webhook, disables it, reads its delivery log and deletes it.
// axe-core finds nothing at desktop width and at 375 px, where nothing
// scrolls sideways. Anyone else reads that the page is for owners.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiClient, axeViolations, byTest, openApp, signedInContext, uniqueEmail, waitFor, withServerAndBrowser } from "./helpers.mjs";

let server;
let browser;
withServerAndBrowser((s, b) => {
  server = s;
  browser = b;
});

async function signIn(email, password) {
  const answer = await new ApiClient(server.url).json("POST", "/api/auth/signin", { email, password }, 200);
  const client = new ApiClient(server.url, answer.token);
  client.user = answer.user;
  return client;
}

let opId = 0;
async function op(client, cartId, op) {
  await client.json("POST", `/api/carts/${cartId}/ops`, { op_id: `bo-${++opId}`, op });
}

/**
 * Ana's "Picnic", shared by a link that Ben opens and joins; both add a
 * line; Ana orders it ($24.00 + $6.50). Cleo's "Solo" is never ordered.
 */
async function seedHistory() {
  const ana = await ApiClient.signup(server.url, uniqueEmail("ana"), "Ana");
  const ben = await ApiClient.signup(server.url, uniqueEmail("ben"), "Ben");
  const cleo = await ApiClient.signup(server.url, uniqueEmail("cleo"), "Cleo");
  const picnic = await ana.json("POST", "/api/carts", { name: "Picnic" }, 201);
  await op(ana, picnic.id, { kind: "add_line", sku: "MUG-BLUE", quantity: 2 });
  const link = await ana.json("POST", `/api/carts/${picnic.id}/links`, { role: "editor" }, 201);
  await ben.json("POST", "/api/invites/lookup", { token: link.token });
  await ben.json("POST", "/api/invites/accept", { token: link.token });
  await op(ben, picnic.id, { kind: "add_line", sku: "TEA-GREEN", quantity: 1 });
  await op(ana, picnic.id, { kind: "lock" });
  const quote = await ana.json("GET", `/api/carts/${picnic.id}/checkout`);
  await ana.json("POST", `/api/carts/${picnic.id}/order`, { expected_total: quote.total }, 201);
  const solo = await cleo.json("POST", "/api/carts", { name: "Solo" }, 201);
  await op(cleo, solo.id, { kind: "add_line", sku: "MUG-RED", quantity: 1 });
  return { cleo };
}

/** Waits until the page is no wider than the viewport (the charts follow a new width on the next frame). */
async function noSidewaysScroll(page, what) {
  const wide = () => page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  try {
    await waitFor(async () => {
      const [scroll, width] = await wide();
      return scroll <= width;
    }, { what });
  } catch {
    const [scroll, width] = await wide();
    assert.fail(`${what}: the page is ${scroll} px wide in a ${width} px viewport`);
  }
}

test("the owner sees figures, charts, stock and orders, and creates and revokes an API key", { timeout: 120_000 }, async () => {
  const errors = [];
  const { cleo } = await seedHistory();
  const owner = await signIn("owner@corner.example", "corner shop owner");
  const ctx = await signedInContext(browser, server, owner);
  const page = await ctx.newPage();
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("dialog", (d) => void d.accept());
  await openApp(page, `${server.url}/#/`);
  // From the store page, where owners find it.
  await page.locator(byTest("store-link")).click();
  await page.locator(byTest("store-backoffice-link")).click();
  await page.locator(`${byTest("backoffice")}[data-ready]`).waitFor();
  // The owner of `demo` and `tea` picks the store.
  await page.locator(byTest("bo-store")).selectOption("demo");
  await page.locator(byTest("bo-figures")).waitFor();

  // Today's figures: 2 carts, 1 shared and collaborative, 1 ordered.
  const figure = (id) => page.locator(byTest(id)).innerText();
  assert.equal(await figure("bo-fig-carts"), "2");
  assert.equal(await figure("bo-fig-shared"), "50%");
  assert.equal(await figure("bo-fig-collab"), "50%");
  assert.equal(await figure("bo-fig-conversion"), "50%");
  assert.equal(await figure("bo-fig-aov"), "$30.50");
  assert.equal(await figure("bo-fig-links"), "1 / 1");
  // Both charts are drawn on their canvases.
  for (const chart of ["bo-chart-carts", "bo-chart-value"]) {
    const box = await page.locator(byTest(chart)).boundingBox();
    assert.ok(box && box.width > 100 && box.height > 100, `${chart} is drawn: ${JSON.stringify(box)}`);
  }
  const links = page.locator(`${byTest("bo-links")} tbody tr`);
  assert.equal(await links.count(), 1);
  assert.match(await links.first().innerText(), /Picnic\s+\S+\s+1\s+1\s+1/);

  // Products with their stock (the order took 2 of the 500 blue mugs), and the order.
  const mug = page.locator(`${byTest("bo-products")} tr`, { hasText: "Blue Mug" });
  await mug.first().waitFor();
  assert.match(await mug.first().innerText(), /MUG-BLUE\s+\$12\.00\s+498/);
  await page.locator(`${byTest("bo-orders")} tr`, { hasText: "Picnic" }).waitFor();
  assert.deepEqual(await axeViolations(page), [], "axe-core on the back office");

  // A new API key: its secret once, then only its prefix; revoked.
  await page.locator(byTest("bo-key-name")).fill("Inventory sync");
  await page.locator(byTest("bo-key-create")).click();
  const secret = await page.locator(byTest("bo-key-secret")).innerText();
  assert.match(secret, /^crk_/);
  await page.locator(byTest("bo-key-secret-copy")).waitFor();
  const row = page.locator(`${byTest("bo-keys")} tr`, { hasText: "Inventory sync" });
  await row.waitFor();
  assert.ok((await row.innerText()).includes(secret.slice(0, 12)), "the list shows the key's prefix");
  assert.ok(!(await row.innerText()).includes(secret), "the list never shows the secret");
  const ping = await fetch(`${server.url}/api/v1/store/ping`, { headers: { authorization: `Bearer ${secret}` } });
  assert.equal(ping.status, 200, "the new key works");
  await row.locator(byTest("bo-key-revoke")).click();
  await row.locator(byTest("bo-key-revoked")).waitFor();
  const again = await fetch(`${server.url}/api/v1/store/ping`, { headers: { authorization: `Bearer ${secret}` } });
  assert.equal(again.status, 401, "a revoked key does not work");

  // A webhook: its signing secret once; disabled, its (empty) delivery log, deleted.
  await page.locator(byTest("bo-hook-url")).fill("https://example.com/cartroom-hooks");
  await page.locator(byTest("bo-hook-add")).click();
  assert.match(await page.locator(byTest("bo-hook-secret")).innerText(), /^whsec_/);
  const hook = () => page.locator(byTest("bo-hook")).first();
  await hook().getByRole("button", { name: "Disable" }).click();
  await hook().getByRole("button", { name: "Enable" }).waitFor();
  await hook().getByRole("button", { name: "Delivery log" }).click();
  await hook().getByText("Nothing delivered yet.").waitFor();
  assert.deepEqual(await axeViolations(page), [], "axe-core with secrets shown, a key revoked and a delivery log open");
  await hook().getByRole("button", { name: /^Delete/ }).click();
  await page.locator(byTest("bo-hook")).waitFor({ state: "detached" });

  // A phone's width: nothing sideways, nothing axe-core finds.
  await page.setViewportSize({ width: 375, height: 812 });
  await noSidewaysScroll(page, "the back office at 375 px");
  assert.deepEqual(await axeViolations(page), [], "axe-core on the back office at 375 px");
  await ctx.close();

  // A shopper has no link to it and reads that it is for owners.
  const shopperCtx = await signedInContext(browser, server, cleo);
  const shopper = await shopperCtx.newPage();
  await openApp(shopper, `${server.url}/#/backoffice`);
  await shopper.locator(byTest("bo-not-owner")).waitFor();
  await shopperCtx.close();
  assert.deepEqual(errors, []);
});
