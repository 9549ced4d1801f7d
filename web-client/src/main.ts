// Start-up and routing: `#/` lists my carts, `#/cart/{id}` opens one.
//
// Readiness, for the browser tests: `#app[data-ready]` once Automerge's wasm
// is loaded and the first screen is drawn (`#app[data-failed]` if it cannot);
// `body[data-conn]` is the socket's state (`connecting`, `online`,
// `offline`) and `body[data-conn-reason]` why it is down (`network`,
// `server`); `body[data-shell]` once the service worker controls the page
// and the app shell is cached; a cart page carries `data-ready` while it
// shows the server's current document (src/views/cart.ts).
//
// Screen readers: the page has one polite live region (`#announcer`), which
// says what others did in the open cart and what the notices say; nothing
// else on the page is live.

import "./style.css";
import { api, ApiError } from "./api";
import type { App } from "./app";
import { initAutomerge } from "./automerge";
import { h, mount } from "./dom";
import { logo } from "./icons";
import { forgetCopies, Live, type ConnState } from "./live";
import { Retrier } from "./retry";
import type { User } from "./types";
import { renderJoin } from "./views/accept"; // sharing
import { renderAuth, renderReset } from "./views/auth";
import { CartPage } from "./views/cart";
import { OrderPage } from "./views/order"; // checkout
import { renderCarts } from "./views/carts";

const root = document.getElementById("app")!;
const announcer = h("div", { id: "announcer", class: "sr-only", "aria-live": "polite", testid: "announcer" });
// Notices are shown here and said through the announcer: the stack itself is not live.
const toasts = h("div", { class: "toasts", testid: "toasts" });
document.body.append(announcer, toasts);

/** At most this many notices at once; the oldest goes first. */
const MAX_TOASTS = 3;
const TOAST_MS = 5_000;

/** Says `text` once through the page's one live region. */
function announce(text: string): void {
  // Emptied first, so that the same sentence twice is said twice.
  announcer.textContent = "";
  window.setTimeout(() => (announcer.textContent = text), 50);
}

function notify(text: string, kind: "error" | "info" = "error"): void {
  announce(text);
  // One notice per condition: the same words again only keep it longer.
  const same = [...toasts.children].find((t) => t.textContent === text) as HTMLElement | undefined;
  const t = same ?? h("div", { class: `toast ${kind}`, testid: kind === "error" ? "error-toast" : "info-toast" }, text);
  if (same) {
    same.classList.remove("fade");
    window.clearTimeout(Number(same.dataset.fadeTimer));
    window.clearTimeout(Number(same.dataset.removeTimer));
    same.dataset.repeats = String(Number(same.dataset.repeats ?? "1") + 1);
  } else {
    toasts.appendChild(t);
    while (toasts.children.length > MAX_TOASTS) toasts.firstElementChild?.remove();
  }
  t.dataset.fadeTimer = String(window.setTimeout(() => t.classList.add("fade"), TOAST_MS - 500));
  t.dataset.removeTimer = String(window.setTimeout(() => t.remove(), TOAST_MS));
}

let app: App | undefined;
let page: CartPage | undefined;
let orderPage: OrderPage | undefined; // checkout
let banner: HTMLElement;
let main: HTMLElement;
let userChip: HTMLElement;
let guestWarning: HTMLElement;

/** The signed-in user kept on this device, so a reload without a server still opens the app. */
const ME_KEY = "cartroom.me";

async function boot(): Promise<void> {
  mount(root, h("div", { class: "splash" }, "Loading…"));
  await initAutomerge();
  void registerServiceWorker();
  // A password-reset e-mail's link: `/reset#<token>`.
  if (location.pathname === "/reset") {
    const token = location.hash.slice(1);
    history.replaceState(null, "", "/");
    mount(
      root,
      h("main", { class: "auth-main" }, renderReset(token, {
        onSignedIn: (user) => {
          notify("Your new password is set.", "info");
          signedIn(user);
        },
      })),
    );
    root.setAttribute("data-ready", "");
    return;
  }
  // Sharing (src/views/accept.ts): a join link `/join#<token>`. >>>
  if (location.pathname === "/join") {
    await renderJoin(root, location.hash.slice(1), {
      joined: (user, cartId) => {
        history.replaceState(null, "", `/#/cart/${cartId}`);
        signedIn(user);
      },
    });
    root.setAttribute("data-ready", "");
    return;
  }
  // <<< sharing
  let me: User | undefined;
  let unreachable: ApiError | undefined;
  try {
    me = await api.me();
    localStorage.setItem(ME_KEY, JSON.stringify(me));
  } catch (e) {
    if (e instanceof ApiError && e.unreachable) {
      unreachable = e;
      me = keptMe();
    } else {
      forgetMe();
    }
  }
  if (me) signedIn(me);
  else if (unreachable) showUnreachable(unreachable);
  else showAuth();
  root.setAttribute("data-ready", "");
}

function keptMe(): User | undefined {
  try {
    const raw = localStorage.getItem(ME_KEY);
    return raw ? (JSON.parse(raw) as User) : undefined;
  } catch {
    return undefined;
  }
}

function forgetMe(): void {
  try {
    localStorage.removeItem(ME_KEY);
  } catch {
    /* nothing kept */
  }
}

/** No server and nobody known on this device: say so, and keep trying. */
function showUnreachable(first: ApiError): void {
  const words = h("p", { testid: "unreachable-text" }, first.message);
  const retrier = new Retrier(async () => {
    try {
      const me = await api.me();
      localStorage.setItem(ME_KEY, JSON.stringify(me));
      signedIn(me);
    } catch (e) {
      if (!(e instanceof ApiError) || !e.unreachable) {
        showAuth();
        return true;
      }
      words.textContent = e.message;
      return false;
    }
    return true;
  });
  mount(
    root,
    h(
      "main",
      { class: "splash", testid: "unreachable" },
      h("div", { class: "card center" }, h("h1", null, "Cartroom"), words, h("button", { class: "primary", onclick: () => retrier.again() }, "Retry now")),
    ),
  );
  retrier.again();
}

function showAuth(): void {
  page?.destroy();
  page = undefined;
  app?.live.stop();
  app = undefined;
  delete document.body.dataset.conn;
  delete document.body.dataset.connReason;
  mount(root, h("main", { class: "auth-main" }, renderAuth({ onSignedIn: signedIn, notify })));
}

function signedIn(user: User): void {
  const products = app?.products ?? new Map();
  app?.live.stop();
  try {
    localStorage.setItem(ME_KEY, JSON.stringify(user));
  } catch {
    /* not kept: a reload needs the server */
  }
  const live = new Live(
    {
      change: (cartId) => page?.changed(cartId),
      status: (s) => showStatus(s),
      notice: notify,
      signedOut: () => {
        notify("Your session has ended. Please sign in again.", "info");
        showAuth();
        void forgetSession(user);
      },
      remote: (cartId, event) => {
        if (page?.cartId === cartId) announce(spoken(event.text));
      },
    },
    user.id,
  );
  app = {
    me: user,
    live,
    products,
    currency: "USD",
    notify,
    announce,
    go: (hash) => {
      if (location.hash === hash) route();
      else location.hash = hash;
    },
    signOut: async () => {
      // Stop the socket first, so the server's "session ended" close is not
      // reported as if the session had expired.
      live.stop();
      try {
        await api.signout();
      } catch {
        /* signed out locally either way */
      }
      await forgetSession(user);
      showAuth();
    },
  };
  const store = new Retrier(async () => {
    try {
      const s = await api.store();
      if (app) app.currency = s.currency;
      return true;
    } catch (e) {
      return !(e instanceof ApiError && e.unreachable);
    }
  });
  store.again();
  banner = h("div", { class: "banner", testid: "offline-banner", hidden: true });
  userChip = h("div", { class: "user" });
  guestWarning = h("div", { class: "guest-warning", hidden: true });
  main = h("main", { class: "main", id: "main" });
  mount(
    root,
    h(
      "header",
      { class: "topbar" },
      h(
        "a",
        { class: "brand", href: "#/", testid: "home", "aria-label": "Cartroom, my carts" },
        logo(),
        h("span", { class: "brand-name", "aria-hidden": "true" }, "Cartroom"),
      ),
      userChip,
    ),
    guestWarning,
    banner,
    main,
  );
  renderUserChip();
  showStatus(live.state);
  live.start();
  route();
}

/** An activity sentence as said aloud: without the subtotal. */
function spoken(text: string): string {
  return text.replace(/\.\s*Subtotal .*$/, "").replace(/\*(\d+)/g, " ×$1");
}

/** Forgets what this device kept for `user`: the API copies and the carts. */
async function forgetSession(user: User): Promise<void> {
  forgetMe();
  forgetCopies(user.id);
  try {
    await caches.delete("cartroom-api-v1");
  } catch {
    /* no cache storage */
  }
}

function renderUserChip(): void {
  if (!app) return;
  const me = app.me;
  mount(
    userChip,
    h("span", { class: "who", testid: "me-name", title: me.email ?? "guest" }, me.name, me.guest ? h("span", { class: "tag" }, "guest") : null),
    me.guest ? h("a", { class: "link", href: "#/account", testid: "upgrade" }, "Create account") : null,
    h(
      "button",
      {
        class: "link",
        testid: "signout",
        onclick: () => (me.guest ? warnGuest() : app?.signOut()),
      },
      "Sign out",
    ),
  );
}

/** A guest who signs out cannot come back to their carts: say so first. */
function warnGuest(): void {
  if (!app) return;
  const close = () => {
    guestWarning.hidden = true;
    (userChip.querySelector('[data-testid="signout"]') as HTMLElement | null)?.focus();
  };
  const keep = h(
    "a",
    { class: "button primary", href: "#/account", testid: "guest-keep", onclick: () => (guestWarning.hidden = true) },
    "Create an account",
  );
  mount(
    guestWarning,
    h(
      "div",
      { class: "guest-warning-box", role: "dialog", "aria-labelledby": "guest-warning-title", testid: "guest-warning" },
      h("h2", { id: "guest-warning-title" }, "Sign out of a guest account?"),
      h(
        "p",
        null,
        "A guest can't sign in again: your carts will be lost to you. Create an account to keep them — it takes a minute, and your carts come with you.",
      ),
      h(
        "div",
        { class: "actions" },
        keep,
        h("button", { class: "danger", testid: "guest-signout-confirm", onclick: () => app?.signOut() }, "Sign out and lose them"),
        h("button", { class: "ghost", testid: "guest-signout-cancel", onclick: close }, "Cancel"),
      ),
    ),
  );
  guestWarning.hidden = false;
  keep.focus();
}

let bannerTick: number | undefined;
let offlineTimer: number | undefined;
function showStatus(s: ConnState): void {
  document.body.dataset.conn = s;
  const reason = app?.live.reason;
  if (reason) document.body.dataset.connReason = reason;
  else delete document.body.dataset.connReason;
  if (!banner) return;
  window.clearTimeout(offlineTimer);
  window.clearInterval(bannerTick);
  if (s !== "offline") {
    banner.hidden = true;
    document.body.classList.remove("is-offline");
    return;
  }
  drawBanner();
  bannerTick = window.setInterval(drawBanner, 500);
  // A reconnect that succeeds at once should not flash the banner, but
  // going offline for real shows it straight away.
  const show = () => {
    if (banner.hidden) announce(banner.querySelector(".banner-text")?.textContent ?? "");
    banner.hidden = false;
    document.body.classList.add("is-offline");
  };
  if (!navigator.onLine) show();
  else offlineTimer = window.setTimeout(show, 400);
}

function drawBanner(): void {
  const live = app?.live;
  if (!live) return;
  const server = live.reason === "server";
  const due = live.nextTryAt ? Math.max(0, Math.ceil((live.nextTryAt - Date.now()) / 1000)) : 0;
  const text = server
    ? "Can't reach Cartroom right now. Your changes are saved on this device and will be sent when it answers."
    : "You're offline. Changes are saved on this device and will be sent when you reconnect.";
  const existing = banner.querySelector(".banner-text");
  if (existing?.textContent === text && banner.dataset.reason === live.reason) {
    const when = banner.querySelector(".banner-when");
    if (when) when.textContent = server ? (due > 0 ? `Trying again in ${due} s.` : "Trying now…") : "";
    return;
  }
  banner.dataset.reason = live.reason ?? "";
  mount(
    banner,
    h("span", { class: "dot", "aria-hidden": "true" }),
    h("span", { class: "banner-text", testid: "banner-text" }, text),
    h("span", { class: "banner-when" }, server ? (due > 0 ? `Trying again in ${due} s.` : "Trying now…") : ""),
    h("button", { class: "secondary small", testid: "retry-now", onclick: () => app?.live.retryNow() }, "Retry now"),
  );
}

function route(): void {
  if (!app) return;
  // checkout: the order page
  orderPage?.destroy();
  orderPage = undefined;
  const orderId = /^#\/order\/([0-9a-fA-F-]{36})$/.exec(location.hash)?.[1];
  if (orderId) {
    page?.destroy();
    page = undefined;
    orderPage = new OrderPage(app, orderId.toLowerCase());
    mount(main, orderPage.el);
    return;
  }
  const m = /^#\/cart\/([0-9a-fA-F-]{36})$/.exec(location.hash);
  const cartId = m?.[1]?.toLowerCase();
  if (page && page.cartId !== cartId) {
    page.destroy();
    page = undefined;
  }
  if (cartId) {
    if (!page) {
      page = new CartPage(app, cartId);
      mount(main, page.el);
    }
    return;
  }
  if (location.hash === "#/account" && app.me.guest) {
    mount(
      main,
      renderAuth({
        upgrade: true,
        notify,
        onSignedIn: (user) => {
          // The session changed: start over with a fresh connection.
          notify("Your account is ready. Your carts came with you.", "info");
          location.hash = "#/";
          signedIn(user);
        },
      }),
    );
    return;
  }
  mount(main, renderCarts(app));
  window.scrollTo(0, 0);
}

/**
 * The app shell: the service worker serves it when the server cannot be
 * reached. The page puts what it loaded (script, styles, the Automerge wasm)
 * in the shell cache, which the worker then serves first.
 */
async function registerServiceWorker(): Promise<void> {
  if (!import.meta.env.PROD || !("serviceWorker" in navigator)) return;
  try {
    await navigator.serviceWorker.register("/sw.js");
    await navigator.serviceWorker.ready;
    const assets = performance
      .getEntriesByType("resource")
      .map((e) => new URL(e.name))
      .filter((u) => u.origin === location.origin && u.pathname.startsWith("/assets/"))
      .map((u) => u.pathname);
    const cache = await caches.open("cartroom-shell-v1");
    await cache.addAll(["/", ...new Set(assets)]);
    if (!navigator.serviceWorker.controller) {
      await new Promise<void>((resolve) => navigator.serviceWorker.addEventListener("controllerchange", () => resolve(), { once: true }));
    }
    document.body.dataset.shell = "ready";
  } catch (e) {
    console.warn("no app shell:", e);
  }
}

window.addEventListener("hashchange", route);
boot().catch((e) => {
  console.error(e);
  root.setAttribute("data-failed", "");
  mount(root, h("div", { class: "splash" }, "Cartroom could not start. Please reload the page."));
});
