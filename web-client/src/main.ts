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
import { ConnBanner } from "./conn-banner";
import { h, mount } from "./dom";
import { logo } from "./icons";
import { forgetCopies, Live } from "./live";
import { announce, notify } from "./notices";
import { Retrier } from "./retry";
import { registerServiceWorker } from "./shell";
import type { User } from "./types";
import { renderJoin } from "./views/accept"; // sharing
import { renderOffer } from "./views/offer"; // store: merchant shares
import { renderStore } from "./views/store"; // store: staff page
import { storeApi } from "./store-api"; // store
import { renderAuth, renderReset } from "./views/auth";
import { CartPage } from "./views/cart";
import { readable } from "./views/cart-activity";
import { OrderPage } from "./views/order"; // checkout
import { renderCarts } from "./views/carts";
import { renderUserChip } from "./user-chip";
import { ChatWidget } from "./chat-widget"; // support desk
import { ConsolePage } from "./views/console"; // support desk

const root = document.getElementById("app")!;

let app: App | undefined;
let page: CartPage | undefined;
let orderPage: OrderPage | undefined; // checkout
let consolePage: ConsolePage | undefined; // support desk
let chatWidget: ChatWidget | undefined; // support desk
let backofficePage: { destroy(): void } | undefined; // back office
let banner: HTMLElement;
let main: HTMLElement;
let userChip: HTMLElement;
let guestWarning: HTMLElement;
const connBanner = new ConnBanner(
  () => app?.live,
  () => banner,
);

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
  /** A token page let `user` in to `cartId`: the app starts there. */
  const enter = (user: User, cartId: string) => {
    history.replaceState(null, "", `/#/cart/${cartId}`);
    signedIn(user);
  };
  // Sharing (src/views/accept.ts): a join link `/join#<token>`. >>>
  if (location.pathname === "/join") {
    await renderJoin(root, location.hash.slice(1), { joined: enter });
    root.setAttribute("data-ready", "");
    return;
  }
  // <<< sharing
  // Store (src/views/offer.ts): a cart the shop sent, `/offer#<token>`. >>>
  if (location.pathname === "/offer") {
    await renderOffer(root, location.hash.slice(1), { opened: enter });
    root.setAttribute("data-ready", "");
    return;
  }
  // <<< store
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
  consolePage?.destroy(); // support desk
  consolePage = undefined;
  backofficePage?.destroy(); // back office
  backofficePage = undefined;
  chatWidget?.destroy();
  chatWidget = undefined;
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
      change: (cartId) => {
        page?.changed(cartId);
        consolePage?.changed(cartId); // support desk: the panel's watched carts
      },
      status: (s) => connBanner.show(s),
      notice: notify,
      signedOut: () => {
        notify("Your session has ended. Please sign in again.", "info");
        showAuth();
        void forgetSession(user);
      },
      remote: (cartId, event) => {
        if (page?.cartId !== cartId) return;
        announce(spoken(event.text));
        if (event.kind === "catalog_change") page.catalogChanged();
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
  renderUserChip(app, userChip, guestWarning);
  // Support desk: the shopper's chat with the store, on every page but the console. >>>
  consolePage?.destroy();
  consolePage = undefined;
  chatWidget?.destroy();
  chatWidget = new ChatWidget(app);
  userChip.before(chatWidget.button);
  banner.after(chatWidget.panel);
  // <<< support desk
  // Store: the store's staff get a link to the store page. >>>
  void storeApi
    .role()
    .then((role) => {
      if (role) userChip.before(h("a", { class: "button ghost small", href: "#/store", testid: "store-link" }, "Store"));
      // Support desk: the agents' console.
      if (role) userChip.before(h("a", { class: "button ghost small", href: "#/console", testid: "console-link" }, "Support"));
    })
    .catch(() => undefined);
  // <<< store
  connBanner.show(live.state);
  live.start();
  route();
}

/** An activity sentence as said aloud: without the subtotal. */
function spoken(text: string): string {
  return readable(text.replace(/\.\s*Subtotal .*$/, ""));
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

function route(): void {
  if (!app) return;
  // Support desk (src/views/console.ts): the agents' console, `#/console/{conversation}`. >>>
  const consoleMatch = /^#\/console(?:\/([0-9A-Za-z_-]+))?$/.exec(location.hash);
  if (chatWidget) chatWidget.shown = !consoleMatch;
  if (consoleMatch) {
    page?.destroy();
    page = undefined;
    orderPage?.destroy();
    orderPage = undefined;
    if (consolePage) consolePage.select(consoleMatch[1]);
    else {
      consolePage = new ConsolePage(app, consoleMatch[1]);
      mount(main, consolePage.el);
    }
    return;
  }
  consolePage?.destroy();
  consolePage = undefined;
  // <<< support desk
  // Back office (src/views/backoffice.ts), loaded when first opened: its charts stay out of the shoppers' bundle. >>>
  backofficePage?.destroy();
  backofficePage = undefined;
  if (location.hash === "#/backoffice") {
    page?.destroy();
    page = undefined;
    mount(main, h("p", { class: "splash" }, "Loading…"));
    const shown = app;
    void import("./views/backoffice").then(({ BackofficePage }) => {
      if (app !== shown || location.hash !== "#/backoffice" || backofficePage) return;
      const bo = new BackofficePage();
      backofficePage = bo;
      mount(main, bo.el);
    });
    return;
  }
  // <<< back office
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
      void chatWidget?.followCart(cartId); // support desk: the chat is with the cart's store
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
  // Store (src/views/store.ts): the staff's page. >>>
  if (location.hash === "#/store" || location.hash === "#/store/shared") {
    mount(main, renderStore(app));
    return;
  }
  // <<< store
  mount(main, renderCarts(app));
  window.scrollTo(0, 0);
}

window.addEventListener("hashchange", route);
boot().catch((e) => {
  console.error(e);
  root.setAttribute("data-failed", "");
  mount(root, h("div", { class: "splash" }, "Cartroom could not start. Please reload the page."));
});
