// Shared by the tests: start the real `cartroom` binary on a free port with a
// fresh data directory, call its HTTP API, launch Debian's Chromium warmed up,
// and wait on the app's readiness signals (`#app[data-ready]`, a cart page's
// `data-ready`) rather than on fixed delays.

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const webClientDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const repoRoot = resolve(webClientDir, "..");
/** The built client; `CARTROOM_TEST_WEB_DIR` runs the tests against another build (an older one, to see a test fail). */
export const webDir = process.env.CARTROOM_TEST_WEB_DIR ? resolve(process.env.CARTROOM_TEST_WEB_DIR) : join(webClientDir, "dist");

const READY_TIMEOUT_MS = 30_000;

/**
 * Starts the server and resolves once it prints `listening on http://...`.
 * Returns its base URL and a `stop()` that kills it and removes its data
 * (unless `keepData`, for a restart on the same `dataDir`).
 */
export async function startServer({ listen = "127.0.0.1:0", dataDir, keepData = false } = {}) {
  const bin = process.env.CARTROOM_BIN ? resolve(process.env.CARTROOM_BIN) : join(repoRoot, "target/debug/cartroom");
  if (!existsSync(bin)) throw new Error(`server binary not found at ${bin}; run \`cargo build -p cartroom\` (or set CARTROOM_BIN)`);
  if (!existsSync(join(webDir, "index.html"))) throw new Error(`${webDir}/index.html is missing; run \`npm run build\` in web-client`);
  dataDir ??= mkdtempSync(join(tmpdir(), "cartroom-web-test-"));
  const child = spawn(bin, ["--listen", listen, "--data-dir", dataDir, "--web-dir", webDir], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "warn" },
  });
  let log = "";
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`server not ready after ${READY_TIMEOUT_MS} ms:\n${log}`)), READY_TIMEOUT_MS);
    let buffered = "";
    child.stdout.on("data", (chunk) => {
      log += chunk;
      buffered += chunk;
      const m = /listening on (http:\/\/[^\s]+)/.exec(buffered);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1].replace(/\/$/, ""));
      }
    });
    child.stderr.on("data", (chunk) => {
      log += chunk;
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited early (code ${code}, signal ${signal}):\n${log}`));
    });
  });
  return {
    url,
    dataDir,
    log: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A tiny HTTP API client that authenticates with a bearer token. */
export class ApiClient {
  constructor(base, token) {
    this.base = base;
    this.token = token;
  }

  async raw(method, path, body) {
    const headers = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    return fetch(this.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  }

  async json(method, path, body, expectStatus) {
    const res = await this.raw(method, path, body);
    const text = await res.text();
    if (expectStatus !== undefined ? res.status !== expectStatus : !res.ok) {
      throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
    }
    return text ? JSON.parse(text) : undefined;
  }

  async bytes(path) {
    const res = await this.raw("GET", path);
    if (!res.ok) throw new Error(`GET ${path} answered ${res.status}: ${await res.text()}`);
    return new Uint8Array(await res.arrayBuffer());
  }

  static async signup(base, email, name, password = "correct horse battery") {
    const anon = new ApiClient(base);
    const answer = await anon.json("POST", "/api/auth/signup", { email, password, name }, 201);
    const client = new ApiClient(base, answer.token);
    client.user = answer.user;
    return client;
  }
}

/** Headless Debian Chromium with the flags this closed network needs. */
export function launchChromium() {
  return chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true, timeout: COLD_START_MS });
}

/**
 * How long a cold start may take: Chromium's first launch on a fresh
 * machine, its first page, Automerge's 3.6 MB wasm compiled for the first
 * time, the server's first requests. Paid once per test file, in `before`.
 */
export const COLD_START_MS = 120_000;

/** How long a warm page may take to become ready (its socket open, its cart loaded). */
export const READY_MS = 30_000;

/**
 * Chromium, launched and warmed up: it has loaded the app from `server` once
 * and waited until the app said it was ready, so the first test does not
 * pay for the cold start inside its own timeout. Call it from `before`
 * with a timeout of at least `COLD_START_MS`.
 */
export async function startBrowser(server) {
  const browser = await launchChromium();
  try {
    const ctx = await browser.newContext();
    try {
      const page = await ctx.newPage();
      await page.goto(server.url + "/", { timeout: COLD_START_MS });
      await appReady(page, { timeout: COLD_START_MS });
    } finally {
      await ctx.close();
    }
  } catch (e) {
    await browser.close();
    throw e;
  }
  return browser;
}

/**
 * A test file's server and warmed-up Chromium: started in `before`, handed
 * to `use`, and stopped in `after`.
 */
export function withServerAndBrowser(use) {
  let server;
  let browser;
  before(
    async () => {
      server = await startServer();
      browser = await startBrowser(server);
      use(server, browser);
    },
    { timeout: COLD_START_MS + 30_000 },
  );
  after(async () => {
    await browser?.close();
    await server?.stop();
  });
}

/** Waits until the app has loaded Automerge's wasm and drawn its first screen. */
export async function appReady(page, { timeout = READY_MS } = {}) {
  await page.locator("#app[data-ready], #app[data-failed]").waitFor({ state: "attached", timeout });
  if ((await page.locator("#app[data-failed]").count()) > 0) {
    throw new Error(`the web client could not start: ${await page.locator("#app").innerText()}`);
  }
}

/** Opens `url` and waits until the app is ready. */
export async function openApp(page, url) {
  await page.goto(url);
  await appReady(page);
}

/**
 * Waits until the cart page (of `cartId`, when given) shows the server's
 * current document: subscribed over an open socket, its document loaded.
 */
export async function cartReady(page, cartId, { timeout = READY_MS } = {}) {
  const which = cartId ? `[data-cart-id="${cartId}"]` : "";
  await page.locator(`[data-testid="cart-page"]${which}[data-ready]`).waitFor({ state: "attached", timeout });
}

/** The selector of an element by its `data-testid`. */
export const byTest = (id) => `[data-testid="${id}"]`;

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function chromiumPath() {
  const path = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (!existsSync(path)) throw new Error(`${path} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  return path;
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor(check, { timeoutMs = 5_000, intervalMs = 25, what = "condition" } = {}) {
  const start = Date.now();
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function uniqueEmail(who) {
  return `${who}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}@example.test`;
}

/** The viewports every page is checked at. */
export const DESKTOP = { viewport: { width: 1280, height: 860 } };
export const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, hasTouch: true, isMobile: true };

/** A browser context signed in as `client` (an `ApiClient`) through the session cookie. */
export async function signedInContext(browser, server, client, options = DESKTOP) {
  const ctx = await browser.newContext(options);
  const url = new URL(server.url);
  await ctx.addCookies([{ name: "cartroom_session", value: client.token, domain: url.hostname, path: "/", httpOnly: true, sameSite: "Lax" }]);
  return ctx;
}

const axeSource = readFileSync(join(webClientDir, "node_modules", "axe-core", "axe.min.js"), "utf8");

/**
 * axe-core's violations on the page as it is, as readable lines (empty when
 * there are none). Evaluated through the DevTools protocol, so the page's
 * Content-Security-Policy, which allows no inline script, does not stop it.
 */
export async function axeViolations(page) {
  await page.evaluate(`${axeSource}\n;0`);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({ id: v.id, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) }));
  });
  return violations.map((v) => `${v.id}: ${v.help} (${v.nodes.join(", ")})`);
}

/**
 * Controls a thumb can hit that are smaller than 44 × 44 CSS px: visible
 * buttons, links, inputs and selects. Returns [description, width, height].
 */
export function smallTargets(page, min = 44) {
  return page.evaluate((min) => {
    const out = [];
    for (const el of document.querySelectorAll("button, a[href], input:not([type=hidden]), select, textarea, [role=button], [tabindex]:not([tabindex='-1'])")) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      const style = getComputedStyle(el);
      if (style.visibility === "hidden" || el.closest("[hidden], .sr-only")) continue;
      if (r.width < min - 0.5 || r.height < min - 0.5) {
        const name = el.getAttribute("data-testid") ?? el.getAttribute("aria-label") ?? el.textContent?.trim().slice(0, 30);
        out.push([`${el.tagName.toLowerCase()} ${name}`, Math.round(r.width), Math.round(r.height)]);
      }
    }
    return out;
  }, min);
}

/** Elements other than the page itself that scroll on their own (nested scroll boxes). */
export function scrollBoxes(page) {
  return page.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll("body *")) {
      const s = getComputedStyle(el);
      if (!/(auto|scroll)/.test(s.overflowY + s.overflowX)) continue;
      if (el.scrollHeight > el.clientHeight + 1 || el.scrollWidth > el.clientWidth + 1) {
        out.push(el.getAttribute("data-testid") ?? el.className ?? el.tagName);
      }
    }
    return out;
  });
}

/** The page's live regions, as `tag#testid[kind]`. */
export function liveRegions(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll("[aria-live]:not([aria-live=off]), [role=status], [role=alert], [role=log], output")]
      .filter((el) => !el.closest("[hidden]"))
      .map((el) => `${el.tagName.toLowerCase()}#${el.getAttribute("data-testid") ?? el.id}[${el.getAttribute("aria-live") ?? el.getAttribute("role")}]`),
  );
}

/** What `document.activeElement` is: its `data-testid`, or its tag. */
export function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    return el?.getAttribute("data-testid") ?? el?.tagName.toLowerCase() ?? "";
  });
}

/** Presses Tab (Shift+Tab with `back`) until the focus is on `selector`; fails after `max` presses. */
export async function tabTo(page, selector, { max = 150, back = false } = {}) {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate((sel) => document.activeElement?.matches(sel) ?? false, selector)) return;
    await page.keyboard.press(back ? "Shift+Tab" : "Tab");
  }
  throw new Error(`${selector} was not reached with ${max} presses of Tab (focus on ${await focused(page)})`);
}
