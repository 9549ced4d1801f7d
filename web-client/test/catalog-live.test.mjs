// A store's price and stock change reaching a shopper's open cart page in
// Debian's Chromium, against the real server: the back office changes the
// Blue Mug through the store API; the line shows the new price and "Out of
// stock", the subtotal and the catalog card follow, and the activity feed
// says what changed, without a reload.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiClient, byTest, cartReady, openApp, signedInContext, uniqueEmail, waitFor, withServerAndBrowser } from "./helpers.mjs";

let server;
let browser;
withServerAndBrowser((s, b) => {
  server = s;
  browser = b;
});

test("a price drop and a stock-out reach the open cart page live", async () => {
  const owner = await new ApiClient(server.url).json("POST", "/api/auth/signin", { email: "owner@corner.example", password: "corner shop owner" });
  const { secret } = await new ApiClient(server.url, owner.token).json("POST", "/api/store/keys?store=demo", { name: "ERP" }, 201);
  const ana = await ApiClient.signup(server.url, uniqueEmail("ana"), "Ana");
  const cart = await ana.json("POST", "/api/carts", { name: "Kitchen" }, 201);
  await ana.json("POST", `/api/carts/${cart.id}/ops`, { op_id: "live-1", op: { kind: "add_line", sku: "MUG-BLUE", quantity: 2 } });

  const ctx = await signedInContext(browser, server, ana);
  const page = await ctx.newPage();
  await openApp(page, `${server.url}/#/cart/${cart.id}`);
  await cartReady(page, cart.id);
  const line = page.locator(`${byTest("line")}[data-sku="MUG-BLUE"]`);
  await waitFor(async () => (await line.textContent()).includes("$12.00 each"), { what: "the line at its list price" });

  const res = await fetch(`${server.url}/api/v1/store/products/MUG-BLUE`, {
    method: "PATCH",
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: JSON.stringify({ price: 1000, stock: 0 }),
  });
  assert.equal(res.status, 200, await res.text());

  await waitFor(async () => (await line.textContent()).includes("$10.00 each"), { what: "the new price on the line" });
  assert.equal(await line.locator(byTest("line-stock")).textContent(), "Out of stock");
  assert.equal(await line.locator(byTest("line-total")).textContent(), "$20.00");
  const product = page.locator(`${byTest("product")}[data-sku="MUG-BLUE"]`);
  await waitFor(async () => (await product.textContent()).includes("$10.00"), { what: "the catalog card's new price" });
  await waitFor(async () => (await page.locator(byTest("activity")).textContent()).includes("Blue Mug now $10.00 (was $12.00)"), {
    what: "the activity sentence",
  });
  await ctx.close();
});
