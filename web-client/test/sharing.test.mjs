// Sharing in Debian's Chromium against the real server, with no SMTP
// server configured: Ana shares her cart by e-mail from the share dialog,
// the e-mail lands in the dev mailbox page, Grandma follows its link, signs
// up on the join page and edits the cart live with Ana. Then a share link,
// opened by a guest.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiClient, byTest, cartReady, openApp, signedInContext, uniqueEmail, waitFor, withServerAndBrowser } from "./helpers.mjs";

let server;
let browser;
withServerAndBrowser((s, b) => {
  server = s;
  browser = b;
});

const line = (page, sku) => page.locator(`[data-testid="line"][data-sku="${sku}"]`);
const product = (page, sku) => page.locator(`[data-testid="product"][data-sku="${sku}"]`);

/** The newest join link in the dev mailbox sent to `to`, read from the page as a person would. */
async function joinLinkFor(page, to) {
  return waitFor(
    async () => {
      await page.goto(server.url + "/dev/mailbox");
      const mail = page.locator(`article.mail[data-to="${to}"]`).first();
      if ((await mail.count()) === 0) return undefined;
      return mail.locator('a[href*="/join#"]').first().getAttribute("href");
    },
    { timeoutMs: 20_000, intervalMs: 200, what: `an e-mail to ${to} in the dev mailbox` },
  );
}

test("share by e-mail, read the mail, accept as a new account, edit live", { timeout: 120_000 }, async () => {
  const ana = await ApiClient.signup(server.url, uniqueEmail("ana"), "Ana");
  const cart = await ana.json("POST", "/api/carts", { name: "Grandma's birthday" }, 201);
  const anaCtx = await signedInContext(browser, server, ana);
  const anaPage = await anaCtx.newPage();
  const errors = [];
  anaPage.on("pageerror", (e) => errors.push(`ana: ${e.message}`));
  await openApp(anaPage, `${server.url}/#/cart/${cart.id}`);
  await cartReady(anaPage, cart.id);

  // The share dialog: invite by e-mail with a message, as an editor, for 7 days.
  await anaPage.locator(byTest("share-cart")).click();
  const dialog = anaPage.locator(byTest("share-dialog"));
  await dialog.waitFor();
  const grandma = uniqueEmail("grandma");
  await dialog.locator(byTest("invite-email")).fill(grandma);
  await dialog.locator(byTest("invite-message")).fill("Add what you'd like, Grandma!");
  await dialog.locator(byTest("invite-role")).selectOption("editor");
  await dialog.locator(byTest("invite-expiry")).selectOption("7");
  await dialog.locator(byTest("invite-send")).click();
  const row = dialog.locator(`${byTest("invitation")}[data-status="pending"]`);
  await row.waitFor();
  assert.equal(await row.locator(byTest("invitation-email")).innerText(), grandma);

  // The e-mail, in the dev mailbox; Grandma clicks its link.
  const gCtx = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const gPage = await gCtx.newPage();
  gPage.on("pageerror", (e) => errors.push(`grandma: ${e.message}`));
  const href = await joinLinkFor(gPage, grandma);
  assert.ok(href.startsWith(`${server.url}/join#`), href);
  await gPage.locator(`article.mail[data-to="${grandma}"] a[href*="/join#"]`).first().click();
  await gPage.locator(byTest("join-title")).waitFor();
  assert.match(await gPage.locator(byTest("join-who")).innerText(), /Ana invited you/);
  assert.match(await gPage.locator(byTest("join-message")).innerText(), /Add what you'd like, Grandma!/);
  assert.equal(await gPage.locator(byTest("join-signup-email")).inputValue(), grandma, "the address is filled in");
  await gPage.locator(byTest("join-signup-name")).fill("Grandma");
  await gPage.locator(byTest("join-signup-password")).fill("correct horse battery");
  await gPage.locator(byTest("join-signup-submit")).click();
  await cartReady(gPage, cart.id);
  assert.equal((await gPage.locator(byTest("role-badge")).textContent()).trim(), "editor");

  // Live: Grandma adds a product and Ana sees it; Ana's feed tells who joined.
  await product(gPage, "MUG-BLUE").locator(byTest("product-add")).click();
  await line(anaPage, "MUG-BLUE").waitFor();
  await waitFor(async () => /Grandma joined via Ana's invitation/.test(await anaPage.locator(byTest("activity")).innerText()), {
    what: "the join in Ana's feed",
  });
  // Ana's dialog lists the invitation as accepted by Grandma.
  await anaPage.locator(byTest("share-close")).click();
  await anaPage.locator(byTest("share-cart")).click();
  const accepted = anaPage.locator(`${byTest("invitation")}[data-status="accepted"]`);
  await accepted.waitFor();
  assert.match(await accepted.locator(byTest("invitation-status")).innerText(), /Accepted by Grandma/);

  // A single-use link, opened by a guest.
  await anaPage.locator(byTest("link-role")).selectOption("viewer");
  await anaPage.locator(byTest("link-uses")).selectOption("1");
  await anaPage.locator(byTest("link-create")).click();
  const url = await anaPage.locator(byTest("created-link-url")).inputValue();
  assert.ok(url.startsWith(`${server.url}/join#`), url);
  const kidCtx = await browser.newContext();
  const kidPage = await kidCtx.newPage();
  await openApp(kidPage, url);
  await kidPage.locator(byTest("join-guest-name")).fill("Kid");
  await kidPage.locator(byTest("join-guest-submit")).click();
  await cartReady(kidPage, cart.id);
  assert.equal((await kidPage.locator(byTest("role-badge")).textContent()).trim(), "viewer");
  await line(kidPage, "MUG-BLUE").waitFor();
  const used = anaPage.locator(`${byTest("share-link")}[data-status="used_up"]`);
  await anaPage.locator(byTest("share-close")).click();
  await anaPage.locator(byTest("share-cart")).click();
  await used.waitFor();

  // The same link again, elsewhere: a clear page with its code.
  const lateCtx = await browser.newContext();
  const latePage = await lateCtx.newPage();
  await openApp(latePage, url);
  await latePage.locator(byTest("join-error")).waitFor();
  assert.equal(await latePage.locator(byTest("join-page")).getAttribute("data-code"), "invite_used_up");
  assert.doesNotMatch(await latePage.locator(byTest("join-page")).innerText(), /birthday/, "nothing about the cart");

  for (const ctx of [anaCtx, gCtx, kidCtx, lateCtx]) await ctx.close();
  assert.deepEqual(errors, []);
});
