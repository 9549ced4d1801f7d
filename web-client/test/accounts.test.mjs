// Accounts and my carts in the browser: guest, carts, switching, renaming,
// turning the guest into an account, signing out and in, errors in words.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiClient, appReady, byTest, cartReady, openApp, uniqueEmail, waitFor, withServerAndBrowser } from "./helpers.mjs";

let server;
let browser;
withServerAndBrowser((s, b) => {
  server = s;
  browser = b;
});

test("a guest makes carts, switches and renames them, then keeps them as an account", { timeout: 90_000 }, async () => {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));

  await openApp(page, server.url + "/");
  await page.locator(byTest("tab-guest")).click();
  await page.locator(byTest("auth-name")).fill("Sam");
  await page.locator(byTest("guest-submit")).click();
  await page.locator(byTest("carts-page")).waitFor();
  assert.match(await page.locator(byTest("me-name")).innerText(), /Sam/);

  const cartName = page.locator(byTest("cart-name"));
  const create = async (name) => {
    await page.locator(byTest("home")).click();
    await page.locator(byTest("new-cart-name")).fill(name);
    await page.locator(byTest("create-cart")).click();
    await page.locator(byTest("cart-page")).waitFor();
    const id = await page.locator(byTest("cart-page")).getAttribute("data-cart-id");
    await cartReady(page, id);
    await waitFor(async () => (await cartName.innerText()) === name, { what: `the cart ${name}` });
    return id;
  };
  const groceries = await create("Groceries");
  const party = await create("Party");
  assert.notEqual(groceries, party);

  // The catalog search narrows the products, pictures included.
  await page.locator(byTest("catalog-search")).fill("mug");
  await waitFor(
    async () => {
      const names = await page.locator(byTest("product")).allInnerTexts();
      return names.length > 0 && names.every((n) => /mug/i.test(n));
    },
    { what: "only mugs in the catalog" },
  );
  const img = page.locator(`${byTest("product")} img`).first();
  await waitFor(() => img.evaluate((el) => el.complete && el.naturalWidth > 0), { what: "a product picture to load" });
  await page.locator(byTest("catalog-search")).fill("no such thing at all");
  await waitFor(async () => (await page.locator(byTest("catalog")).innerText()).includes("No products match"), { what: "an empty search" });

  // Switch carts from the cart page.
  await page.locator(byTest("cart-switcher")).selectOption(groceries);
  await waitFor(async () => (await page.locator(byTest("cart-page")).getAttribute("data-cart-id")) === groceries, { what: "switch" });
  await cartReady(page, groceries);
  await waitFor(async () => (await cartName.innerText()) === "Groceries", { what: "the switched cart's name" });

  // Rename from the cart page (an op over the socket) ...
  await page.locator(byTest("rename-cart")).click();
  await page.locator(byTest("rename-input")).fill("Weekly groceries");
  await page.locator(byTest("rename-save")).click();
  await waitFor(async () => (await cartName.innerText()) === "Weekly groceries", { what: "the new name" });
  // ... and from the list (HTTP).
  await page.locator(byTest("home")).click();
  const partyRow = page.locator(`[data-testid="cart-item"][data-cart-id="${party}"]`);
  await partyRow.locator(byTest("cart-rename")).click();
  await partyRow.locator(byTest("cart-rename-input")).fill("Birthday party");
  await partyRow.locator(byTest("cart-rename-save")).click();
  await waitFor(async () => (await partyRow.innerText()).includes("Birthday party"), { what: "the renamed row" });
  await page.reload();
  await appReady(page);
  await waitFor(async () => (await page.locator(byTest("cart-list")).innerText()).includes("Weekly groceries"), {
    what: "the op-renamed cart in the list after a reload",
  });
  assert.match(await page.locator(byTest("cart-list")).innerText(), /Birthday party/);

  // The guest becomes an account and keeps both carts.
  const email = uniqueEmail("sam");
  await page.locator(byTest("upgrade")).click();
  await page.locator(byTest("auth-name")).fill("Sam Smith");
  await page.locator(byTest("auth-email")).fill(email);
  await page.locator(byTest("auth-password")).fill("correct horse battery");
  await page.locator(byTest("signup-submit")).click();
  await page.locator(byTest("carts-page")).waitFor();
  await waitFor(async () => (await page.locator(byTest("cart-item")).count()) === 2, { what: "both carts after sign-up" });
  assert.equal(await page.locator(byTest("upgrade")).count(), 0, "no longer a guest");

  // Sign out; a wrong password is explained in words; the right one works.
  await page.locator(byTest("signout")).click();
  await page.locator(byTest("auth-screen")).waitFor();
  await page.locator(byTest("auth-email")).fill(email);
  await page.locator(byTest("auth-password")).fill("not the password");
  await page.locator(byTest("signin-submit")).click();
  await page.locator(byTest("auth-error")).waitFor({ state: "visible" });
  assert.equal(await page.locator(byTest("auth-error")).innerText(), "That e-mail and password don't match.");
  await page.locator(byTest("auth-password")).fill("correct horse battery");
  await page.locator(byTest("signin-submit")).click();
  await page.locator(byTest("carts-page")).waitFor();
  await waitFor(async () => (await page.locator(byTest("cart-item")).count()) === 2, { what: "both carts after signing in" });

  // An e-mail already taken, and adding a member nobody has, in words too.
  await page.locator(`[data-testid="cart-item"][data-cart-id="${party}"] ${byTest("cart-open")}`).click();
  await page.locator(byTest("member-email")).fill(uniqueEmail("nobody"));
  await page.locator(byTest("member-add")).click();
  await waitFor(async () => (await page.locator(byTest("error-toast")).allInnerTexts()).some((t) => t.includes("Nobody has an account")), {
    what: "the user_not_found notice",
  });

  assert.deepEqual(errors, []);
  await ctx.close();
});

test("an edit the server refuses is rolled back and explained; a deleted cart says so", { timeout: 60_000 }, async () => {
  const owner = await ApiClient.signup(server.url, uniqueEmail("lee"), "Lee");
  const { products } = await owner.json("GET", "/api/catalog?q=");
  const scarce = [...products].sort((a, b) => a.stock - b.stock)[0];
  const cart = await owner.json("POST", "/api/carts", { name: "Scarce" }, 201);
  const almost = Math.min(999, scarce.stock) - 1;
  await owner.json("POST", `/api/carts/${cart.id}/ops`, { op_id: "fill", op: { kind: "add_line", sku: scarce.sku, quantity: almost } });

  const ctx = await browser.newContext();
  // The browser shares Lee's session through the cookie the server set for this token.
  const url = new URL(server.url);
  await ctx.addCookies([{ name: "cartroom_session", value: owner.token, domain: url.hostname, path: "/", httpOnly: true, sameSite: "Lax" }]);
  const page = await ctx.newPage();
  await openApp(page, `${server.url}/#/cart/${cart.id}`);
  await cartReady(page, cart.id);
  const line = page.locator(`[data-testid="line"][data-sku="${scarce.sku}"]`);
  await line.waitFor();
  await page.locator(byTest("product")).first().waitFor();
  const before = await line.locator(byTest("line-qty")).innerText();
  assert.equal(before, String(almost));

  // Offline, the page allows one more (the last one in stock); meanwhile
  // someone else takes it. Back online, the server refuses the replayed edit.
  await ctx.setOffline(true);
  await page.locator(byTest("offline-banner")).waitFor({ state: "visible" });
  await line.locator(byTest("line-inc")).click();
  assert.equal(await line.locator(byTest("line-qty")).innerText(), String(almost + 1));
  await owner.json("POST", `/api/carts/${cart.id}/ops`, { op_id: "last-one", op: { kind: "change_quantity", line_id: scarce.sku, delta: 1 } });
  await ctx.setOffline(false);
  await waitFor(async () => (await page.locator(byTest("error-toast")).count()) > 0, { timeoutMs: 15_000, what: "a notice" });
  const notice = await page.locator(byTest("error-toast")).first().innerText();
  assert.ok(/stock|between 1 and 999/.test(notice), `a shopper's words, not a code: ${notice}`);
  await cartReady(page, cart.id);
  await waitFor(async () => (await line.locator(byTest("line-qty")).innerText()) === String(almost + 1), { what: "the server's quantity" });
  await page.locator(byTest("pending-count")).waitFor({ state: "detached" });

  // The cart is deleted elsewhere: the open page says so.
  await owner.json("DELETE", `/api/carts/${cart.id}`, undefined, 204);
  await page.locator(byTest("cart-ended")).waitFor({ timeout: 2_000 });
  assert.match(await page.locator(byTest("cart-ended")).innerText(), /deleted/);
  await ctx.close();
});
