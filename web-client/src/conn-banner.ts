// The connection's state on the page: `body[data-conn]` and
// `body[data-conn-reason]` (for the browser tests), and the banner that
// tells *You're offline* from *Can't reach Cartroom*, with a countdown to
// the next try and *Retry now*.

import { h, mount } from "./dom";
import type { ConnState, Live } from "./live";
import { announce } from "./notices";

export class ConnBanner {
  private tick: number | undefined;
  private offlineTimer: number | undefined;

  constructor(
    /** The signed-in app's socket, if any (read each time: a new sign-in replaces it). */
    private readonly live: () => Live | undefined,
    /** The banner under the top bar, once the app is drawn. */
    private readonly banner: () => HTMLElement | undefined,
  ) {}

  show(s: ConnState): void {
    document.body.dataset.conn = s;
    const reason = this.live()?.reason;
    if (reason) document.body.dataset.connReason = reason;
    else delete document.body.dataset.connReason;
    const banner = this.banner();
    if (!banner) return;
    window.clearTimeout(this.offlineTimer);
    window.clearInterval(this.tick);
    if (s !== "offline") {
      banner.hidden = true;
      document.body.classList.remove("is-offline");
      return;
    }
    this.draw();
    this.tick = window.setInterval(() => this.draw(), 500);
    // A reconnect that succeeds at once should not flash the banner, but
    // going offline for real shows it straight away.
    const show = () => {
      if (banner.hidden) announce(banner.querySelector(".banner-text")?.textContent ?? "");
      banner.hidden = false;
      document.body.classList.add("is-offline");
    };
    if (!navigator.onLine) show();
    else this.offlineTimer = window.setTimeout(show, 400);
  }

  private draw(): void {
    const live = this.live();
    const banner = this.banner();
    if (!live || !banner) return;
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
      h("button", { class: "secondary small", testid: "retry-now", onclick: () => this.live()?.retryNow() }, "Retry now"),
    );
  }
}
