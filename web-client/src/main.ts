// Start-up and routing: `#/` lists my carts, `#/cart/{id}` opens one.
//
// Readiness, for the browser tests: `#app[data-ready]` once Automerge's wasm
// is loaded and the first screen is drawn (`#app[data-failed]` if it cannot);
// `body[data-conn]` is the socket's state (`connecting`, `online`,
// `offline`); a cart page carries `data-ready` while it shows the server's
// current document (src/views/cart.ts).

import "./style.css";
import { api, ApiError } from "./api";
import type { App } from "./app";
import { initAutomerge } from "./automerge";
import { h, mount } from "./dom";
import { logo } from "./icons";
import { Live, type ConnState } from "./live";
import type { User } from "./types";
import { renderAuth } from "./views/auth";
import { CartPage } from "./views/cart";
import { renderCarts } from "./views/carts";

const root = document.getElementById("app")!;
const toasts = h("div", { class: "toasts", testid: "toasts", role: "status" });
document.body.appendChild(toasts);

function notify(text: string, kind: "error" | "info" = "error"): void {
  const t = h("div", { class: `toast ${kind}`, testid: kind === "error" ? "error-toast" : "info-toast" }, text);
  toasts.appendChild(t);
  window.setTimeout(() => t.classList.add("fade"), 4500);
  window.setTimeout(() => t.remove(), 5000);
}

let app: App | undefined;
let page: CartPage | undefined;
let banner: HTMLElement;
let main: HTMLElement;
let userChip: HTMLElement;

async function boot(): Promise<void> {
  mount(root, h("div", { class: "splash" }, "Loading…"));
  await initAutomerge();
  let me: User | undefined;
  try {
    me = await api.me();
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) {
      if (e instanceof ApiError && e.status === 0) notify(e.message);
    }
  }
  if (me) signedIn(me);
  else showAuth();
  root.setAttribute("data-ready", "");
}

function showAuth(): void {
  page?.destroy();
  page = undefined;
  app?.live.stop();
  app = undefined;
  delete document.body.dataset.conn;
  mount(root, renderAuth({ onSignedIn: signedIn, notify }));
}

function signedIn(user: User): void {
  const products = app?.products ?? new Map();
  app?.live.stop();
  const live = new Live(
    {
      change: (cartId) => page?.changed(cartId),
      status: (s) => showStatus(s),
      notice: notify,
      signedOut: () => {
        notify("Your session has ended. Please sign in again.", "info");
        showAuth();
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
      showAuth();
    },
  };
  void api.store().then((s) => app && (app.currency = s.currency)).catch(() => {});
  banner = h(
    "div",
    { class: "banner", testid: "offline-banner", hidden: true, role: "alert" },
    h("span", { class: "dot" }),
    "You're offline. Changes are saved on this device and will be sent when you reconnect.",
  );
  userChip = h("div", { class: "user" });
  main = h("main", { class: "main" });
  mount(
    root,
    h(
      "header",
      { class: "topbar" },
      h("a", { class: "brand", href: "#/", testid: "home" }, logo(), h("span", { class: "brand-name" }, "Cartroom")),
      userChip,
    ),
    banner,
    main,
  );
  renderUserChip();
  showStatus(live.state);
  live.start();
  route();
}

function renderUserChip(): void {
  if (!app) return;
  const me = app.me;
  mount(
    userChip,
    h("span", { class: "who", testid: "me-name", title: me.email ?? "guest" }, me.name, me.guest ? h("span", { class: "tag" }, "guest") : null),
    me.guest ? h("a", { class: "link", href: "#/account", testid: "upgrade" }, "Create account") : null,
    h("button", { class: "link", testid: "signout", onclick: () => app?.signOut() }, "Sign out"),
  );
}

let offlineTimer: number | undefined;
function showStatus(s: ConnState): void {
  document.body.dataset.conn = s;
  if (!banner) return;
  window.clearTimeout(offlineTimer);
  if (s === "online") {
    banner.hidden = true;
    document.body.classList.remove("is-offline");
  } else if (s === "offline") {
    // A reconnect that succeeds at once should not flash the banner, but
    // going offline for real shows it straight away.
    const show = () => {
      banner.hidden = false;
      document.body.classList.add("is-offline");
    };
    if (!navigator.onLine) show();
    else offlineTimer = window.setTimeout(show, 400);
  }
}

function route(): void {
  if (!app) return;
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

window.addEventListener("hashchange", route);
boot().catch((e) => {
  console.error(e);
  root.setAttribute("data-failed", "");
  mount(root, h("div", { class: "splash" }, "Cartroom could not start. Please reload the page."));
});
