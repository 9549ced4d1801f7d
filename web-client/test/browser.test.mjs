// End to end in Debian's Chromium against the real server: an editor and a
// viewer co-edit one cart live, including an offline spell for the editor.

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { byTest, cartReady, openApp, repoRoot, uniqueEmail, waitFor, withServerAndBrowser } from "./helpers.mjs";

const LIVE_WITHIN_MS = 1_000;
const screenshots = join(repoRoot, "target", "screenshots");

let server;
let browser;
withServerAndBrowser((s, b) => {
  server = s;
  browser = b;
});

async function signUp(page, name, email) {
  await openApp(page, server.url + "/");
  await page.locator(byTest("auth-screen")).waitFor();
  await page.locator(byTest("tab-signup")).click();
  await page.locator(byTest("auth-name")).fill(name);
  await page.locator(byTest("auth-email")).fill(email);
  await page.locator(byTest("auth-password")).fill("correct horse battery");
  await page.locator(byTest("signup-submit")).click();
  await page.locator(byTest("carts-page")).waitFor();
}

/** The lines a page shows, as sorted [sku, quantity] pairs. */
function linesOf(page) {
  return page.$$eval('[data-testid="line"]', (els) =>
    els
      .map((e) => [e.getAttribute("data-sku"), Number(e.querySelector('[data-testid="line-qty"]').textContent)])
      .sort((a, b) => a[0].localeCompare(b[0])),
  );
}

const subtotalOf = (page) => page.locator(byTest("subtotal")).getAttribute("data-minor").then(Number);
const line = (page, sku) => page.locator(`[data-testid="line"][data-sku="${sku}"]`);
const product = (page, sku) => page.locator(`[data-testid="product"][data-sku="${sku}"]`);
const suggestion = (page, sku) => page.locator(`[data-testid="suggestion"][data-sku="${sku}"]`);

test("an editor and a viewer co-edit one cart live, offline included", { timeout: 120_000 }, async (t) => {
  const started = Date.now();
  const editorCtx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const viewerCtx = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, hasTouch: true });
  const editor = await editorCtx.newPage();
  const viewer = await viewerCtx.newPage();
  const pageErrors = [];
  for (const [who, page] of [["editor", editor], ["viewer", viewer]]) {
    page.on("pageerror", (e) => pageErrors.push(`${who}: ${e.message}`));
    page.on("console", (m) => m.type() === "error" && !/Failed to load resource|net::ERR_/.test(m.text()) && pageErrors.push(`${who} console: ${m.text()}`));
  }

  // What the editor's page says on its sockets, to check the resync.
  const editorFrames = [];
  const editorBinaryKinds = new Set();
  editor.on("websocket", (ws) => {
    ws.on("framesent", (f) => typeof f.payload === "string" && editorFrames.push(["sent", JSON.parse(f.payload)]));
    ws.on("framereceived", (f) =>
      typeof f.payload === "string" ? editorFrames.push(["received", JSON.parse(f.payload)]) : editorBinaryKinds.add(f.payload[0]),
    );
  });

  const editorEmail = uniqueEmail("ana");
  const viewerEmail = uniqueEmail("kid");
  await signUp(editor, "Ana Editor", editorEmail);
  await signUp(viewer, "Kid Viewer", viewerEmail);

  // The editor creates the cart (becoming its admin) and adds the viewer by e-mail.
  await editor.locator(byTest("new-cart-name")).fill("Weekend BBQ");
  await editor.locator(byTest("create-cart")).click();
  await editor.locator(byTest("cart-page")).waitFor();
  const cartId = await editor.locator(byTest("cart-page")).getAttribute("data-cart-id");
  assert.match(cartId, /^[0-9a-f-]{36}$/);
  await cartReady(editor, cartId);
  await assertText(editor.locator(byTest("role-badge")), "admin");
  await editor.locator(byTest("member-email")).fill(viewerEmail);
  await editor.locator(byTest("member-role")).selectOption("viewer");
  await editor.locator(byTest("member-add")).click();
  await editor.locator(`[data-testid="member"][data-email="${viewerEmail}"]`).waitFor();

  // The viewer finds the cart among theirs and opens it.
  await openApp(viewer, server.url + "/#/");
  await viewer.locator(`[data-testid="cart-item"][data-cart-id="${cartId}"] ${byTest("cart-open")}`).click();
  await cartReady(viewer, cartId);
  await assertText(viewer.locator(byTest("role-badge")), "viewer");
  await viewer.locator(byTest("product-suggest")).first().waitFor();

  await editor.locator(byTest("product-add")).first().waitFor();
  const skus = await editor.locator(byTest("product")).evaluateAll((els) => els.map((e) => e.getAttribute("data-sku")));
  assert.ok(skus.length >= 2, "the catalog shows products");
  const [first, second] = skus;

  // The editor adds a product; the viewer sees it within a second.
  await product(editor, first).locator(byTest("product-add")).click();
  const addedAt = Date.now();
  await line(viewer, first).waitFor({ timeout: LIVE_WITHIN_MS });
  const seenAfter = Date.now() - addedAt;
  t.diagnostic(`viewer saw the editor's line after ${seenAfter} ms`);
  assert.ok(seenAfter < LIVE_WITHIN_MS, `the viewer saw the new line after ${seenAfter} ms`);
  assert.match(await line(viewer, first).locator(byTest("line-added-by")).innerText(), /Ana Editor/);

  // The viewer has no edit controls, and the server refuses an edit anyway.
  for (const id of ["product-add", "line-inc", "line-dec", "line-remove", "suggestion-accept", "member-email", "rename-cart", "member-role-select"]) {
    assert.equal(await viewer.locator(byTest(id)).count(), 0, `the viewer sees no ${id}`);
  }
  const refused = await viewerCtx.request.post(`${server.url}/api/carts/${cartId}/ops`, {
    data: { op_id: "viewer-sneaks-1", op: { kind: "add_line", sku: first, quantity: 1 } },
    failOnStatusCode: false,
  });
  assert.equal(refused.status(), 403);
  assert.equal((await refused.json()).error.code, "forbidden");

  // The viewer suggests a product and votes for it; the editor accepts it.
  await product(viewer, second).locator(byTest("product-suggest")).click();
  await product(viewer, second).locator(byTest("suggest-send")).click();
  await suggestion(editor, second).waitFor({ timeout: 2_000 });
  await suggestion(viewer, second).locator(byTest("vote-up")).click();
  await waitFor(async () => (await suggestion(editor, second).locator(byTest("suggestion-score")).innerText()) === "1", {
    what: "the viewer's vote on the editor's page",
  });
  await suggestion(editor, second).locator(byTest("suggestion-accept")).click();
  for (const page of [editor, viewer]) {
    await line(page, second).waitFor({ timeout: 2_000 });
    await suggestion(page, second).waitFor({ state: "detached", timeout: 2_000 });
  }
  assert.deepEqual(await linesOf(editor), [[first, 1], [second, 1]].sort((a, b) => a[0].localeCompare(b[0])));

  // The viewer says something; it lands in the editor's activity feed.
  await viewer.locator(byTest("chat-input")).fill("Can we get lemonade too?");
  await viewer.locator(byTest("chat-send")).click();
  await editor.locator('[data-testid="activity-event"][data-kind="chat"]', { hasText: "lemonade too" }).waitFor({ timeout: 2_000 });

  // The editor goes offline and changes quantities; nothing reaches the viewer.
  await editorCtx.setOffline(true);
  await editor.locator(byTest("offline-banner")).waitFor({ state: "visible", timeout: 5_000 });
  for (let i = 0; i < 3; i++) await line(editor, first).locator(byTest("line-inc")).click();
  await line(editor, first).locator(byTest("line-dec")).click();
  await line(editor, second).locator(byTest("line-inc")).click();
  const expected = [[first, 3], [second, 2]].sort((a, b) => a[0].localeCompare(b[0]));
  assert.deepEqual(await linesOf(editor), expected, "the editor's page shows the offline edits at once");
  await assertText(editor.locator(byTest("pending-count")), /5 changes waiting/);
  await viewer.waitForTimeout(500);
  assert.deepEqual(
    await linesOf(viewer),
    [[first, 1], [second, 1]].sort((a, b) => a[0].localeCompare(b[0])),
    "offline edits have not reached the viewer",
  );

  // Back online: the queued ops are replayed and everyone agrees.
  const framesBefore = editorFrames.length;
  const backAt = Date.now();
  await editorCtx.setOffline(false);
  await editor.locator(byTest("offline-banner")).waitFor({ state: "hidden", timeout: 15_000 });
  await editor.locator(byTest("pending-count")).waitFor({ state: "detached", timeout: 10_000 });
  await waitFor(async () => JSON.stringify(await linesOf(viewer)) === JSON.stringify(expected), {
    timeoutMs: 5_000,
    what: "the viewer to see the replayed edits",
  });
  t.diagnostic(`offline edits reached the viewer ${Date.now() - backAt} ms after coming back online`);
  assert.deepEqual(await linesOf(editor), expected);

  // The page resubscribed with the heads it had, so only missing changes came.
  const resync = editorFrames.slice(framesBefore);
  const subscribe = resync.find(([dir, m]) => dir === "sent" && m.type === "subscribe" && m.cart_id === cartId);
  assert.ok(subscribe, "the page subscribed again after reconnecting");
  assert.ok(subscribe[1].heads?.length > 0, "the resubscribe carries the replica's heads");
  const subscribed = resync.find(([dir, m]) => dir === "received" && m.type === "subscribed" && m.cart_id === cartId);
  assert.equal(subscribed?.[1].payload, "changes", "the server sent only the missing changes");
  const replayed = resync.filter(([dir, m]) => dir === "sent" && m.type === "op").map(([, m]) => m.op_id);
  assert.equal(replayed.length, 5, "the five offline ops were replayed");
  assert.equal(new Set(replayed).size, 5, "each with its own op_id");

  // The page is on the compact stream: changes came as kind-3 frames that
  // carry their activity, so no `activity` message came for an edit, and
  // the feed still shows the edits.
  const subscribes = editorFrames.filter(([dir, m]) => dir === "sent" && m.type === "subscribe");
  assert.ok(subscribes.every(([, m]) => m.stream === "compact"), "every subscribe asks for the compact stream");
  assert.ok(editorBinaryKinds.has(3), "changes came in kind-3 frames");
  const editActivity = editorFrames.filter(([dir, m]) => dir === "received" && m.type === "activity" && m.event.kind === "add_line");
  assert.equal(editActivity.length, 0, "no activity message for an edit");
  assert.ok((await editor.locator('[data-testid="activity-event"][data-kind="add_line"]').count()) > 0, "the feed shows the adds");

  const res = await editorCtx.request.get(`${server.url}/api/carts/${cartId}`);
  assert.equal(res.status(), 200);
  const cart = await res.json();
  const serverLines = cart.lines.map((l) => [l.sku, l.quantity]).sort((a, b) => a[0].localeCompare(b[0]));
  assert.deepEqual(serverLines, expected, "the server has the same lines");
  assert.equal(await subtotalOf(editor), cart.subtotal, "the editor's subtotal is the server's");
  assert.equal(await subtotalOf(viewer), cart.subtotal, "the viewer's subtotal is the server's");
  assert.equal(cart.suggestions.length, 0);

  // Activity and presence reached both pages.
  await waitFor(async () => (await viewer.locator(byTest("activity-event")).count()) >= 3, { what: "activity on the viewer's page" });
  await waitFor(async () => (await editor.locator(byTest("presence-member")).count()) === 2, { what: "both people in presence" });

  // One more suggestion stays open, with a vote.
  const [third, fourth] = skus.slice(2);
  await product(viewer, third).locator(byTest("product-suggest")).click();
  await product(viewer, third).locator(byTest("suggest-send")).click();
  await suggestion(viewer, third).locator(byTest("vote-up")).click();
  await waitFor(async () => (await suggestion(editor, third).locator(byTest("suggestion-score")).innerText()) === "1", {
    what: "the second suggestion's vote on the editor's page",
  });

  // The admin makes the viewer an editor: edit controls appear live.
  const viewerRow = editor.locator(`[data-testid="member"][data-email="${viewerEmail}"]`);
  await viewerRow.locator(byTest("member-role-select")).selectOption("editor");
  await assertText(viewer.locator(byTest("role-badge")), "editor");
  await viewer.locator(byTest("product-add")).first().waitFor({ timeout: 2_000 });
  await line(viewer, first).locator(byTest("line-inc")).waitFor();
  await product(viewer, fourth).locator(byTest("product-add")).click();
  await line(editor, fourth).waitFor({ timeout: 2_000 });
  assert.match(await line(editor, fourth).locator(byTest("line-added-by")).innerText(), /Kid Viewer/);

  // Notices fade on their own; the pictures show the page without them.
  for (const page of [editor, viewer]) {
    await page.evaluate(() => {
      document.querySelector('[data-testid="toasts"]')?.replaceChildren();
      window.scrollTo(0, 0);
    });
  }
  mkdirSync(screenshots, { recursive: true });
  await editor.screenshot({ path: join(screenshots, "cart.png"), fullPage: true });
  await viewer.screenshot({ path: join(screenshots, "cart-phone.png") });

  // Removed from the cart, the viewer is told so at once.
  await viewerRow.locator(byTest("member-remove")).click();
  await viewerRow.locator(byTest("member-remove-confirm")).click();
  await viewer.locator(byTest("cart-ended")).waitFor({ timeout: 2_000 });
  assert.match(await viewer.locator(byTest("cart-ended")).innerText(), /no longer a member/);

  assert.deepEqual(pageErrors, [], "no script errors on either page");
  t.diagnostic(`scenario took ${Date.now() - started} ms`);
  await editorCtx.close();
  await viewerCtx.close();
});

async function assertText(locator, expected) {
  await locator.waitFor();
  await waitFor(
    async () => {
      const text = (await locator.innerText()).trim();
      return typeof expected === "string" ? text.toLowerCase() === expected : expected.test(text);
    },
    { what: `text ${expected}` },
  );
}
