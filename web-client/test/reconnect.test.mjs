// The server goes away and comes back on the same address: the page shows
// that it is offline, keeps the edits made meanwhile, reconnects with
// back-off, resubscribes with its heads and replays the edits once.

import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, test } from "node:test";
import { ApiClient, appReady, byTest, cartReady, COLD_START_MS, openApp, startBrowser, startServer, uniqueEmail, waitFor } from "./helpers.mjs";

let server;
let browser;
before(
  async () => {
    server = await startServer({ keepData: true });
    browser = await startBrowser(server);
  },
  { timeout: COLD_START_MS + 30_000 },
);
after(async () => {
  await browser?.close();
  await server?.stop();
  if (server) rmSync(server.dataDir, { recursive: true, force: true });
});

test("edits made while the server is down are replayed once it is back", { timeout: 90_000 }, async (t) => {
  const address = new URL(server.url).host;

  const owner = await ApiClient.signup(server.url, uniqueEmail("mo"), "Mo");
  const { products } = await owner.json("GET", "/api/catalog?q=");
  const sku = products[0].sku;
  const cart = await owner.json("POST", "/api/carts", { name: "Restart-proof" }, 201);
  await owner.json("POST", `/api/carts/${cart.id}/ops`, { op_id: "seed", op: { kind: "add_line", sku, quantity: 2 } });

  const ctx = await browser.newContext();
  await ctx.addCookies([
    { name: "cartroom_session", value: owner.token, domain: "127.0.0.1", path: "/", httpOnly: true, sameSite: "Lax" },
  ]);
  const page = await ctx.newPage();
  const subscribes = [];
  let refusedConnects = 0;
  page.on("websocket", (ws) => {
    ws.on("framesent", (f) => {
      if (typeof f.payload !== "string") return;
      const m = JSON.parse(f.payload);
      if (m.type === "subscribe") subscribes.push(m);
    });
    ws.on("socketerror", () => refusedConnects++);
  });
  await openApp(page, `${server.url}/#/cart/${cart.id}`);
  await cartReady(page, cart.id);
  const qty = page.locator(`[data-testid="line"][data-sku="${sku}"] ${byTest("line-qty")}`);
  await waitFor(async () => (await qty.innerText()) === "2", { what: "the seeded line" });

  // The server stops. The page says so and keeps working.
  await server.stop();
  await page.locator(byTest("offline-banner")).waitFor({ state: "visible", timeout: 5_000 });
  const inc = page.locator(`[data-testid="line"][data-sku="${sku}"] ${byTest("line-inc")}`);
  await inc.click();
  await inc.click();
  assert.equal(await qty.innerText(), "4", "the edits show at once");
  await page.locator(byTest("pending-count")).waitFor();

  // The page keeps trying to reconnect, with back-off, while nobody answers.
  await waitFor(() => refusedConnects >= 2, { timeoutMs: 10_000, what: "two refused reconnection attempts" });

  // It comes back on the same address with the same data.
  const downFor = Date.now();
  server = await startServer({ listen: address, dataDir: server.dataDir, keepData: true });
  await page.locator(byTest("offline-banner")).waitFor({ state: "hidden", timeout: 20_000 });
  await page.locator(byTest("pending-count")).waitFor({ state: "detached", timeout: 10_000 });
  await cartReady(page, cart.id);
  t.diagnostic(`reconnected and replayed ${Date.now() - downFor} ms after the server came back`);
  assert.equal(await qty.innerText(), "4");

  const last = subscribes[subscribes.length - 1];
  assert.ok(last.heads?.length > 0, "the page resubscribed with its heads");
  const view = await owner.json("GET", `/api/carts/${cart.id}`);
  assert.equal(view.lines.find((l) => l.sku === sku).quantity, 4, "each offline edit applied exactly once");

  // A reload starts from scratch and shows the same.
  await page.reload();
  await appReady(page);
  await cartReady(page, cart.id);
  await waitFor(async () => (await qty.innerText()) === "4", { what: "the quantity after a reload" });
  await ctx.close();
});
