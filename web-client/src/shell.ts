// The app shell: the service worker (public/sw.js) serves it when the server
// cannot be reached. `body[data-shell]` says when it is ready.

/**
 * Registers the service worker and puts what the page loaded (script,
 * styles, the Automerge wasm) in the shell cache, which the worker then
 * serves first.
 */
export async function registerServiceWorker(): Promise<void> {
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
