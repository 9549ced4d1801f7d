// The support desk in Debian's Chromium against the real server, a shopper's
// page and the agents' console side by side (two browser contexts): the
// shopper writes in the chat; the console lists the conversation with its
// unread count; the shopper adds an item and the tip appears in the thread,
// word for word, with the cart panel current; the agent answers (the
// shopper's unread badge), asks to take over, the shopper allows it, the
// agent adds an item and the shopper sees it live, attributed to
// "Wade (support)"; the shopper ends it. A guest's help code is the other
// way in. axe-core finds nothing on the console at both sizes, and it holds
// at 375 px with 44 px targets.
//
// The demo agent is the README's: agent@corner.example (Wade, an agent of
// the demo store with the customer update right), the demo owner's password.

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  ApiClient,
  axeViolations,
  byTest,
  cartReady,
  DESKTOP,
  openApp,
  PHONE,
  repoRoot,
  signedInContext,
  smallTargets,
  uniqueEmail,
  waitFor,
  withServerAndBrowser,
} from "./helpers.mjs";

let server;
let browser;
withServerAndBrowser((s, b) => {
  server = s;
  browser = b;
});

const DEMO_PASSWORD = "corner shop owner";
const screenshots = join(repoRoot, "target", "screenshots");
mkdirSync(screenshots, { recursive: true });
const STORE_TIME_ZONE = "America/New_York";

async function signIn(email, password) {
  const answer = await new ApiClient(server.url).json("POST", "/api/auth/signin", { email, password }, 200);
  const client = new ApiClient(server.url, answer.token);
  client.user = answer.user;
  return client;
}

/** `at` as the tips write it in the store's time zone: "Nov 25, 21:10". */
function tipTime(at) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", { timeZone: STORE_TIME_ZONE, month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
      .formatToParts(new Date(at))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.month} ${parts.day}, ${parts.hour}:${parts.minute}`;
}

/** Every minute from `from` to `to` as the tips write it (the tip's minute is one of them). */
function minutesBetween(from, to) {
  const out = new Set();
  for (let t = from - 60_000; t <= to + 60_000; t += 30_000) out.add(tipTime(t));
  return out;
}

const dollars = (minor) => `$${(minor / 100).toFixed(2)}`;

async function priceOf(client, sku) {
  const { products } = await client.json("GET", `/api/catalog?q=${encodeURIComponent(sku)}`);
  const product = products.find((p) => p.sku === sku);
  assert.ok(product, `${sku} is in the catalog`);
  return product.price;
}

function pageErrors(page, who, errors) {
  page.on("pageerror", (e) => errors.push(`${who}: ${e.message}`));
}

const product = (page, sku) => page.locator(`[data-testid="product"][data-sku="${sku}"]`);
const line = (page, sku) => page.locator(`[data-testid="line"][data-sku="${sku}"]`);

/** The page is no wider than its viewport: nothing sticks out sideways. */
async function noSidewaysScroll(page, what) {
  const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(scroll <= width, `${what}: the page is ${scroll} px wide in a ${width} px viewport`);
}

test("the shopper's tip shows in the console; the agent takes over with consent and the shopper sees the edit live", { timeout: 180_000 }, async (t) => {
  const errors = [];
  const cleo = await ApiClient.signup(server.url, uniqueEmail("cleo"), "Cleo");
  const cart = await cleo.json("POST", "/api/carts", { name: "Birthday" }, 201);
  const wade = await signIn("agent@corner.example", DEMO_PASSWORD);
  const mugPrice = await priceOf(cleo, "MUG-BLUE");

  // The shopper's cart page, and a word in the chat.
  const cleoCtx = await signedInContext(browser, server, cleo, DESKTOP);
  const shop = await cleoCtx.newPage();
  pageErrors(shop, "cleo", errors);
  await openApp(shop, `${server.url}/#/cart/${cart.id}`);
  await cartReady(shop, cart.id);
  await shop.locator(byTest("chat-toggle")).click();
  await shop.locator(byTest("support-chat")).waitFor();
  await shop.locator(byTest("support-chat-input")).fill("Hi! Can you help me fill my cart?");
  await shop.locator(byTest("support-chat-send")).click();
  await shop.locator(`${byTest("support-chat-message")}[data-kind="customer"]`, { hasText: "Can you help me" }).waitFor();

  // The console lists it, unread, open.
  const wadeCtx = await signedInContext(browser, server, wade, DESKTOP);
  const desk = await wadeCtx.newPage();
  pageErrors(desk, "wade", errors);
  await openApp(desk, `${server.url}/#/`);
  await desk.locator(byTest("console-link")).click();
  await desk.locator(byTest("console-page")).waitFor();
  const item = desk.locator(byTest("conversation"), { hasText: "Cleo" });
  await item.waitFor();
  assert.equal(await item.getAttribute("data-unread"), "1", "one unread message");
  assert.equal(await item.getAttribute("data-status"), "open");
  assert.equal(await desk.locator(byTest("chat-toggle")).isVisible(), false, "no shopper chat on the console");
  await item.click();
  await desk.locator(`${byTest("thread-message")}[data-kind="customer"]`, { hasText: "Can you help me" }).waitFor();
  const panelCart = desk.locator(`${byTest("panel-cart")}[data-cart-id="${cart.id}"]`);
  await panelCart.waitFor();
  await waitFor(async () => (await item.getAttribute("data-unread")) === "0", { what: "the conversation read" });

  // The shopper adds a mug: the tip, word for word, and the panel, live.
  const before = Date.now();
  await product(shop, "MUG-BLUE").locator(byTest("product-add")).click();
  await line(shop, "MUG-BLUE").waitFor();
  const tip = desk.locator(`${byTest("thread-message")}[data-kind="tip"]`).first();
  await tip.waitFor({ timeout: 15_000 });
  const after = Date.now();
  const tipText = await tip.locator(byTest("message-text")).innerText();
  const m = /^This customer added Blue Mug\*1 in their cart on (.+)\. The cart subtotal is (.+)$/.exec(tipText);
  assert.ok(m, `the tip reads as the issue says: ${tipText}`);
  assert.ok(minutesBetween(before, after).has(m[1]), `the tip's time ${m[1]} is the store's time of the edit`);
  assert.equal(m[2], dollars(mugPrice));
  await panelCart.locator(`${byTest("panel-line")}[data-sku="MUG-BLUE"]`).waitFor();
  const panelLine = panelCart.locator(`${byTest("panel-line")}[data-sku="MUG-BLUE"]`);
  assert.equal(await panelLine.locator(byTest("panel-line-qty")).innerText(), "1");
  assert.equal(await panelLine.locator(byTest("panel-line-name")).innerText(), "Blue Mug");
  assert.match(await panelLine.locator(byTest("panel-line-stock")).innerText(), /stock/i);
  assert.equal(await panelCart.locator(byTest("panel-subtotal")).getAttribute("data-minor"), String(mugPrice));
  const shown = await wade.json("GET", "/api/support/conversations/" + (await item.getAttribute("data-id")));
  assert.equal(shown.status, "open", "a tip leaves the status alone");
  assert.equal(shown.unread_for_agents, 0, "a tip is not unread");

  // The agent answers with the chat closed: the shopper's badge counts it.
  await shop.locator(byTest("support-chat-close")).click();
  await desk.locator(byTest("reply-input")).fill("Sure, I'll fill it for you.");
  await desk.locator(byTest("reply-send")).click();
  await desk.locator(`${byTest("thread-message")}[data-kind="agent"]`, { hasText: "fill it for you" }).waitFor();
  await shop.locator(byTest("chat-unread"), { hasText: "1" }).waitFor();
  await shop.locator(byTest("chat-toggle")).click();
  await shop.locator(`${byTest("support-chat-message")}[data-kind="agent"]`, { hasText: "fill it for you" }).waitFor();
  await shop.locator(byTest("chat-unread")).waitFor({ state: "hidden" });
  assert.equal(await shop.locator(`${byTest("support-chat-message")}[data-kind="tip"]`).count(), 0, "the shopper sees no tips");
  await shop.locator(byTest("support-chat-close")).click();

  // axe-core on the console, a conversation open with its carts.
  assert.deepEqual(await axeViolations(desk), [], "axe-core on the console, desktop");

  // Takeover, with the shopper's consent.
  await panelCart.locator(byTest("takeover-request")).click();
  await panelCart.locator(`${byTest("takeover-state")}[data-status="requested"]`).waitFor();
  await shop.locator(byTest("takeover-consent")).waitFor();
  // The notices of the adds are outside the landmarks (as on every page): gone before axe-core looks.
  t.diagnostic(`shopper's notices: ${await shop.locator(byTest("toasts")).innerText()}`);
  await shop.evaluate(() => document.querySelector('[data-testid="toasts"]')?.replaceChildren());
  assert.deepEqual(await axeViolations(shop), [], "axe-core on the cart page asking for consent");
  await shop.locator(byTest("takeover-accept")).click();
  await shop.locator(byTest("takeover-banner")).waitFor();
  assert.match(await shop.locator(byTest("takeover-text")).innerText(), /Wade \(support\) is editing this cart for you/);
  await panelCart.locator(`${byTest("takeover-state")}[data-status="active"]`).waitFor();
  t.diagnostic(`the agent's notices: ${await desk.locator(byTest("toasts")).innerText()}`);
  await desk.evaluate(() => document.querySelector('[data-testid="toasts"]')?.replaceChildren());
  assert.deepEqual(await axeViolations(desk), [], "axe-core on the console during a takeover");

  // The agent edits the cart; the shopper sees it live, attributed.
  await panelCart.locator(byTest("takeover-edit")).click();
  await cartReady(desk, cart.id);
  await desk.locator(byTest("takeover-banner")).waitFor();
  assert.equal((await desk.locator(byTest("role-badge")).textContent()).trim(), "editor");
  await product(desk, "KETTLE").locator(byTest("product-add")).click();
  await line(shop, "KETTLE").waitFor();
  await shop.locator(byTest("activity-event"), { hasText: "Wade (support) added Electric Kettle" }).waitFor();
  await shop.locator(`${byTest("presence-member")}[data-user-id="${wade.user.id}"]`).waitFor();

  // The shopper ends it; the agent's page says so.
  await shop.locator(byTest("takeover-end")).click();
  await shop.locator(`${byTest("takeover")}[data-state="ended"]`).waitFor();
  await desk.locator(`${byTest("takeover")}[data-state="ended"]`).waitFor();

  // Back in the console: the agent's edit made no tip; the shopper's next one does.
  await desk.goBack();
  await desk.locator(byTest("console-page")).waitFor();
  await desk.locator(`${byTest("thread-message")}[data-kind="tip"]`).first().waitFor();
  await product(shop, "NAPKINS").locator(byTest("product-add")).click();
  const tips = desk.locator(`${byTest("thread-message")}[data-kind="tip"] ${byTest("message-text")}`);
  await tips.filter({ hasText: "added Linen Napkins, 6 pack*1" }).waitFor({ timeout: 15_000 });
  const texts = await tips.allInnerTexts();
  assert.equal(texts.length, 2, `a tip for each of the shopper's edits and none for the agent's: ${texts.join(" | ")}`);
  assert.ok(texts.every((x) => !/Kettle/.test(x)), "no tip for the agent's edit");
  // The panel is current with all three lines: two shown, "Show more" for the third.
  await panelCart.locator(byTest("panel-line-count"), { hasText: "3 lines" }).waitFor();
  await panelCart.locator(byTest("panel-more")).click();
  await panelCart.locator(byTest("panel-line")).nth(2).waitFor();
  assert.deepEqual(
    (await panelCart.locator(byTest("panel-line")).evaluateAll((els) => els.map((e) => e.getAttribute("data-sku")))).sort(),
    ["KETTLE", "MUG-BLUE", "NAPKINS"],
  );

  // History: the cart when the conversation started (empty), and who changed what since.
  await panelCart.locator(byTest("history-toggle")).click();
  await panelCart.locator(byTest("history-start")).click();
  const history = panelCart.locator(byTest("history-view"));
  await history.waitFor();
  assert.equal(await history.locator(byTest("history-line")).count(), 0, "the cart was empty when the conversation started");
  await history.locator(byTest("history-event"), { hasText: "Wade (support) added an item" }).waitFor();
  assert.equal(await history.locator(byTest("history-event"), { hasText: "Cleo added an item" }).count(), 2, "Cleo's two items since");

  // The agent closes the conversation: it leaves the open list; the shopper's next word opens it again.
  await desk.locator(byTest("conversation-close")).click();
  await desk.locator(byTest("thread-status"), { hasText: "closed" }).waitFor();
  await item.waitFor({ state: "detached" });
  await shop.locator(byTest("chat-toggle")).click();
  await shop.locator(byTest("support-chat-input")).fill("One more thing: candles?");
  await shop.locator(byTest("support-chat-send")).click();
  await desk.locator(`${byTest("thread-message")}[data-kind="customer"]`, { hasText: "candles" }).waitFor();
  await desk.locator(byTest("thread-status"), { hasText: "open" }).waitFor();
  await item.waitFor();

  // The same conversation on a phone: axe-core, thumbs' targets, nothing sideways at 375 px.
  const conversationId = await item.getAttribute("data-id");
  const phoneCtx = await signedInContext(browser, server, wade, PHONE);
  const phone = await phoneCtx.newPage();
  pageErrors(phone, "wade on a phone", errors);
  await openApp(phone, `${server.url}/#/console/${conversationId}`);
  await phone.locator(`${byTest("thread-message")}[data-kind="tip"]`).first().waitFor();
  await phone.locator(`${byTest("panel-cart")}[data-cart-id="${cart.id}"] ${byTest("panel-line")}`).first().waitFor();
  assert.deepEqual(await axeViolations(phone), [], "axe-core on the console with a conversation, phone");
  await phone.setViewportSize({ width: 375, height: 812 });
  await noSidewaysScroll(phone, "the console with a conversation at 375 px");
  assert.deepEqual(await smallTargets(phone), [], "controls under 44 x 44 px on the console with a conversation");
  await phone.screenshot({ path: join(screenshots, "console-phone.png"), fullPage: true });
  await desk.screenshot({ path: join(screenshots, "console.png") });
  await phoneCtx.close();

  t.diagnostic(`tip: ${tipText}`);
  assert.deepEqual(errors, []);
  await cleoCtx.close();
  await wadeCtx.close();
});

test("a guest reads out a help code; the agent takes over the cart with it and hands it back", { timeout: 180_000 }, async () => {
  const errors = [];
  const answer = await new ApiClient(server.url).json("POST", "/api/auth/guest", { name: "Gus" }, 201);
  const gus = new ApiClient(server.url, answer.token);
  gus.user = answer.user;
  const cart = await gus.json("POST", "/api/carts", { name: "Gift ideas" }, 201);
  const wade = await signIn("agent@corner.example", DEMO_PASSWORD);

  const gusCtx = await signedInContext(browser, server, gus, PHONE);
  const shop = await gusCtx.newPage();
  pageErrors(shop, "gus", errors);
  await openApp(shop, `${server.url}/#/cart/${cart.id}`);
  await cartReady(shop, cart.id);
  await shop.locator(byTest("help-code-get")).click();
  const code = await shop.locator(byTest("help-code")).getAttribute("data-code");
  assert.match(code, /^\d{6}$/);

  const wadeCtx = await signedInContext(browser, server, wade, PHONE);
  const desk = await wadeCtx.newPage();
  pageErrors(desk, "wade", errors);
  await openApp(desk, `${server.url}/#/console`);
  await desk.locator(byTest("console-page")).waitFor();
  await desk.locator(byTest("conversation-list")).waitFor();

  // A wrong code is refused in words; the right one gives the cart.
  const wrong = code === "000000" ? "111111" : "000000";
  await desk.locator(byTest("help-code-input")).fill(wrong);
  await desk.locator(byTest("help-code-submit")).click();
  await desk.locator(byTest("help-code-error"), { hasText: "isn't valid" }).waitFor();
  assert.deepEqual(await axeViolations(desk), [], "axe-core on the console, phone, with a refused code");
  await desk.locator(byTest("help-code-input")).fill(code);
  await desk.locator(byTest("help-code-submit")).click();
  await desk.locator(byTest("help-code-cart")).waitFor();
  await shop.locator(byTest("takeover-banner")).waitFor();

  // The console at a phone's width: nothing sideways, thumbs' targets.
  await desk.setViewportSize({ width: 375, height: 812 });
  await noSidewaysScroll(desk, "the console at 375 px");
  assert.deepEqual(await smallTargets(desk), [], "controls under 44 x 44 px on the console");
  assert.deepEqual(await axeViolations(desk), [], "axe-core on the console, 375 px");
  await shop.setViewportSize({ width: 375, height: 812 });
  await noSidewaysScroll(shop, "the cart page with the takeover banner at 375 px");
  await shop.evaluate(() => document.querySelector('[data-testid="toasts"]')?.replaceChildren());
  assert.deepEqual(await smallTargets(shop), [], "controls under 44 x 44 px on the cart page with the banner");

  await desk.locator(byTest("help-code-cart")).click();
  await cartReady(desk, cart.id);
  await product(desk, "MUG-BLUE").locator(byTest("product-add")).tap();
  await line(shop, "MUG-BLUE").waitFor();
  await shop.locator(byTest("activity-event"), { hasText: "Wade (support) added Blue Mug" }).waitFor();

  // The agent hands back from the cart page; the guest's page says so.
  await desk.locator(byTest("takeover-end")).tap();
  await shop.locator(`${byTest("takeover")}[data-state="ended"]`).waitFor();
  await desk.locator(`${byTest("takeover")}[data-state="ended"]`).waitFor();
  assert.deepEqual(errors, []);
  await gusCtx.close();
  await wadeCtx.close();
});
