// Two-factor sign-in in Debian's Chromium against the real server: Sam, on
// the store's staff, sets it up from the store page (the QR code and the
// key, confirmed with a code computed here from the key), gets recovery
// codes, signs in again in a fresh browser (the password alone asks for the
// code; a recovery code lets Sam in) and turns it off with another one.
// Recovery codes do not depend on the time, so the test never waits for
// the next 30-second step.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Secret, TOTP } from "otpauth";
import { ApiClient, byTest, DESKTOP, openApp, signedInContext, uniqueEmail, withServerAndBrowser } from "./helpers.mjs";

let server;
let browser;
withServerAndBrowser((s, b) => {
  server = s;
  browser = b;
});

/** The code (SHA-1, 6 digits, 30 s, as the server makes them) of `secret` now. */
function totp(secret) {
  return new TOTP({ secret: Secret.fromBase32(secret), algorithm: "SHA1", digits: 6, period: 30 }).generate();
}

test("staff set up two-factor sign-in with the QR code and sign in with a recovery code", { timeout: 120_000 }, async () => {
  const anon = new ApiClient(server.url);
  const owner = await anon.json("POST", "/api/auth/signin", { email: "owner@corner.example", password: "corner shop owner" }, 200);
  const email = uniqueEmail("sam");
  const sam = await ApiClient.signup(server.url, email, "Sam");
  await new ApiClient(server.url, owner.token).json("POST", "/api/store/staff", { email }, 201);

  const ctx = await signedInContext(browser, server, sam);
  const page = await ctx.newPage();
  await openApp(page, server.url + "/#/store");
  await page.locator(byTest("totp-enrol")).click();
  await page.locator(byTest("totp-qr")).waitFor({ state: "visible" });
  const secret = (await page.locator(byTest("totp-secret")).innerText()).trim();
  assert.match(secret, /^[A-Z2-7]{32}$/);
  assert.ok(
    await page.locator(byTest("totp-qr")).evaluate((img) => img.complete && img.naturalWidth > 0),
    "the QR code is drawn",
  );
  await page.locator(byTest("totp-confirm-code")).fill(totp(secret));
  await page.locator(byTest("totp-confirm")).click();
  const codes = page.locator(`${byTest("totp-recovery-codes")} li`);
  await codes.first().waitFor();
  assert.equal(await codes.count(), 10);
  const recovery = await codes.allInnerTexts();
  await page.locator(byTest("totp-done")).click();
  await page.locator(byTest("totp-on")).waitFor();
  await ctx.close();

  // A fresh browser: the password alone asks for the code.
  const fresh = await browser.newContext(DESKTOP);
  const signin = await fresh.newPage();
  await openApp(signin, server.url);
  await signin.locator(byTest("auth-email")).fill(email);
  await signin.locator(byTest("auth-password")).fill("correct horse battery");
  await signin.locator(byTest("signin-submit")).click();
  await signin.locator(byTest("auth-code")).waitFor({ state: "visible" });
  assert.equal(await signin.locator(byTest("auth-error")).innerText(), "Enter the code of your authenticator app.");
  await signin.locator(byTest("auth-code")).fill(recovery[0]);
  await signin.locator(byTest("signin-submit")).click();
  await signin.locator(byTest("carts-page")).waitFor();

  // Turned off from the store page with another recovery code.
  await signin.goto(server.url + "/#/store");
  await signin.locator(byTest("totp-disable-code")).fill(recovery[1]);
  await signin.locator(byTest("totp-disable")).click();
  await signin.locator(byTest("totp-enrol")).waitFor();
  const status = await new ApiClient(server.url, sam.token).json("GET", "/api/auth/totp");
  assert.equal(status.enabled, false);
  await fresh.close();
});
