// Cartroom's service worker: an app shell, so that a reload without a
// server (offline, or the server down) still opens the app with the last
// carts it showed; the carts' documents and queued edits are kept by the
// page itself (src/live.ts).
//
// - Pages (navigations): the network first, else the cached shell (the
//   page at `/`, which is the only navigation kept).
// - /assets/* (named by content hash, never changing): the cache first.
// - GET /api/me, /api/store, /api/stores, /api/carts, /api/catalog, /images/*: the
//   network first; when it cannot be reached, the last answer, marked with
//   the header `x-cartroom-offline-copy` so the page shows it and keeps
//   trying. Answers to other requests are never kept.
// The page fills the shell cache once it has started (src/shell.ts) and
// empties the API cache on signing out.

const SHELL = "cartroom-shell-v1";
const API = "cartroom-api-v1";
const COPY_HEADER = "x-cartroom-offline-copy";

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(SHELL)
      .then((cache) => cache.add("/"))
      .catch(() => undefined)
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== SHELL && k !== API).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

function keptApi(url) {
  return (
    url.pathname === "/api/me" ||
    url.pathname === "/api/store" ||
    url.pathname === "/api/stores" ||
    url.pathname === "/api/carts" ||
    url.pathname === "/api/catalog" ||
    url.pathname.startsWith("/images/")
  );
}

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (req.mode === "navigate") {
    event.respondWith(shellFirstOnFailure(req));
  } else if (url.pathname.startsWith("/assets/")) {
    event.respondWith(cacheFirst(req));
  } else if (keptApi(url)) {
    event.respondWith(networkThenCopy(req));
  }
});

async function shellFirstOnFailure(req) {
  try {
    const res = await fetch(req);
    // Only the app's own page is the shell (not /dev/mailbox, not an API URL opened by hand).
    if (res.ok && new URL(req.url).pathname === "/") {
      const cache = await caches.open(SHELL);
      await cache.put("/", res.clone());
    }
    return res;
  } catch (e) {
    const shell = await caches.match("/", { cacheName: SHELL });
    if (shell) return shell;
    throw e;
  }
}

async function cacheFirst(req) {
  const hit = await caches.match(req, { cacheName: SHELL });
  if (hit) return hit;
  const res = await fetch(req);
  if (res.ok) {
    const cache = await caches.open(SHELL);
    await cache.put(req, res.clone());
  }
  return res;
}

async function networkThenCopy(req) {
  const cache = await caches.open(API);
  let res;
  try {
    res = await fetch(req);
  } catch (e) {
    const copy = await cache.match(req);
    if (!copy) throw e;
    return marked(copy);
  }
  if (res.ok) {
    await cache.put(req, res.clone());
  } else if (res.status === 401) {
    // Signed out: nothing of that session may be shown again.
    await caches.delete(API);
  } else if (res.status >= 502) {
    // A proxy answered for a server that is down.
    const copy = await cache.match(req);
    if (copy) return marked(copy);
  }
  return res;
}

async function marked(res) {
  const headers = new Headers(res.headers);
  headers.set(COPY_HEADER, "1");
  return new Response(await res.blob(), { status: res.status, statusText: res.statusText, headers });
}
