// The store in Debian's Chromium against the real server, with no SMTP
// server configured (e-mails land in the dev mailbox): the demo owner (the
// README's credentials) puts Sam on the staff; Sam sends a cart from the
// store page; the customer follows the e-mail's link and takes a copy,
// their own cart untouched; Sam sees the status. Then a guest shares a
// cart with the shop from the share dialog, and Sam opens it live from the
// "shared with us" list.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiClient, axeViolations, byTest, cartReady, openApp, signedInContext, uniqueEmail, waitFor, withServerAndBrowser } from "./helpers.mjs";

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

/** Sam, on the store's staff (added by the demo owner). */
async function staff() {
  const owner = await signIn("owner@corner.example", "corner shop owner");
  const sam = await ApiClient.signup(server.url, uniqueEmail("sam"), "Sam");
  await owner.json("POST", "/api/store/staff", { email: sam.user.email }, 201);
  return sam;
}

async function addLine(client, cartId, sku, quantity) {
  await client.json("POST", `/api/carts/${cartId}/ops`, { op_id: `${sku}-${quantity}-${Date.now()}`, op: { kind: "add_line", sku, quantity } });
}

/** The newest offer link in the dev mailbox sent to `to`. */
async function offerLinkFor(page, to) {
  return waitFor(
    async () => {
      await page.goto(server.url + "/dev/mailbox");
      const mail = page.locator(`article.mail[data-to="${to}"]`).first();
      if ((await mail.count()) === 0) return undefined;
      return mail.locator('a[href*="/offer#"]').first().getAttribute("href");
    },
    { timeoutMs: 20_000, intervalMs: 200, what: `an e-mail to ${to} in the dev mailbox` },
  );
}

test("staff send a cart from the store page; the customer takes a copy", { timeout: 120_000 }, async () => {
  const errors = [];
  const sam = await staff();
  const pack = await sam.json("POST", "/api/carts", { name: "Party pack" }, 201);
  await addLine(sam, pack.id, "MUG-BLUE", 2);
  const cleo = await ApiClient.signup(server.url, uniqueEmail("cleo"), "Cleo");
  const own = await cleo.json("POST", "/api/carts", { name: "My groceries" }, 201);
  await addLine(cleo, own.id, "COFFEE-BEANS", 1);

  // Sam's store page: the link in the top bar, then "send to customer".
  const samCtx = await signedInContext(browser, server, sam);
  const samPage = await samCtx.newPage();
  samPage.on("pageerror", (e) => errors.push(`sam: ${e.message}`));
  await openApp(samPage, `${server.url}/#/`);
  await samPage.locator(byTest("store-link")).click();
  await samPage.locator(byTest("offer-form")).waitFor();
  await waitFor(async () => (await samPage.locator(`${byTest("offer-cart")} option`).count()) > 0, { what: "Sam's carts" });
  assert.deepEqual(await axeViolations(samPage), [], "axe-core on the store page");
  await samPage.locator(byTest("offer-cart")).selectOption(pack.id);
  await samPage.locator(byTest("offer-email")).fill(cleo.user.email);
  await samPage.locator(byTest("offer-message")).fill("Everything for Saturday.");
  await samPage.locator(byTest("offer-send")).click();
  await samPage.locator(byTest("offer-status")).filter({ hasText: "pending" }).waitFor();
  // Again after the click: the pointer still rests on the primary button and
  // the focus is on it, so its hover, focus and pressed colours are checked too.
  assert.deepEqual(await axeViolations(samPage), [], "axe-core on the store page after sending");

  // Cleo follows the e-mail's link, chooses a copy.
  const cleoCtx = await signedInContext(browser, server, cleo);
  const cleoPage = await cleoCtx.newPage();
  cleoPage.on("pageerror", (e) => errors.push(`cleo: ${e.message}`));
  const href = await offerLinkFor(cleoPage, cleo.user.email);
  assert.ok(href.startsWith(`${server.url}/offer#`), href);
  await cleoPage.goto(href);
  await cleoPage.locator(byTest("offer-title")).waitFor();
  assert.match(await cleoPage.locator(byTest("offer-who")).innerText(), /Sam of Cartroom Corner Shop/);
  assert.match(await cleoPage.locator(byTest("offer-message")).innerText(), /Everything for Saturday/);
  assert.deepEqual(await axeViolations(cleoPage), [], "axe-core on the offer page");
  await cleoPage.locator(byTest("offer-mode-copy")).check();
  await cleoPage.locator(byTest("offer-as-me")).click();
  const copyId = await waitFor(
    async () => /#\/cart\/([0-9a-f-]{36})$/.exec(new URL(cleoPage.url()).hash)?.[1],
    { timeoutMs: 20_000, what: "the copy's page" },
  );
  assert.notEqual(copyId, pack.id);
  assert.notEqual(copyId, own.id);
  await cartReady(cleoPage, copyId);
  await cleoPage.locator('[data-testid="line"][data-sku="MUG-BLUE"]').waitFor();
  const mine = await cleo.json("GET", `/api/carts/${own.id}`);
  assert.deepEqual(mine.lines.map((l) => [l.sku, l.quantity]), [["COFFEE-BEANS", 1]], "Cleo's own cart is untouched");

  // Sam sees it taken as a copy.
  await samPage.reload();
  await samPage.locator(byTest("offer-form")).waitFor();
  await samPage.locator(byTest("offer-cart")).selectOption(pack.id);
  await samPage.locator(byTest("offer-status")).filter({ hasText: "taken as a copy by Cleo" }).waitFor();
  assert.deepEqual(errors, []);
  await samCtx.close();
  await cleoCtx.close();
});

test("a guest shares a cart with the shop; the staff open it live", { timeout: 120_000 }, async () => {
  const errors = [];
  const sam = await staff();
  const answer = await new ApiClient(server.url).json("POST", "/api/auth/guest", { name: "Gus" }, 201);
  const gus = new ApiClient(server.url, answer.token);
  const cart = await gus.json("POST", "/api/carts", { name: "Gift ideas" }, 201);
  await addLine(gus, cart.id, "MUG-BLUE", 1);

  const gusCtx = await signedInContext(browser, server, gus);
  const gusPage = await gusCtx.newPage();
  gusPage.on("pageerror", (e) => errors.push(`gus: ${e.message}`));
  await openApp(gusPage, `${server.url}/#/cart/${cart.id}`);
  await cartReady(gusPage, cart.id);
  await gusPage.locator(byTest("share-cart")).click();
  const dialog = gusPage.locator(byTest("share-dialog"));
  await dialog.locator(byTest("shop-share-form")).waitFor();
  await dialog.locator(byTest("shop-share-email")).fill("gus@example.com");
  await dialog.locator(byTest("shop-share-message")).fill("Which mug is sturdier?");
  await dialog.locator(byTest("shop-share-send")).click();
  await dialog.locator(byTest("shop-share-done")).waitFor();

  const samCtx = await signedInContext(browser, server, sam);
  const samPage = await samCtx.newPage();
  samPage.on("pageerror", (e) => errors.push(`sam: ${e.message}`));
  await openApp(samPage, `${server.url}/#/store/shared`);
  const item = samPage.locator(byTest("store-shared-item")).filter({ hasText: "Gift ideas" });
  await item.waitFor();
  assert.match(await item.innerText(), /Which mug is sturdier\?/);
  await item.locator(byTest("store-shared-open")).click();
  await cartReady(samPage, cart.id);
  assert.equal((await samPage.locator(byTest("role-badge")).textContent()).trim(), "editor");
  assert.deepEqual(errors, []);
  await samCtx.close();
  await gusCtx.close();
});
