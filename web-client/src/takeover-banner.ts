// The cart page's part of a takeover (a store's agent editing a shopper's
// cart for them): for the shopper, "Get a help code" (the six digits read
// out to the agent, which grant the takeover), the request to consent to,
// and a banner with "End" while the agent has the cart; for the agent on
// the same page, a banner with "Hand back". Live over the page's socket
// (`takeover_requested`, `takeover_started`, `takeover_ended`).

import "./support.css";
import { ApiError } from "./api";
import type { App } from "./app";
import { h, mount } from "./dom";
import { onReconnect, onSupportFrame, supportApi, type HelpCodeResponse, type Takeover } from "./support-api";

export class TakeoverBanner {
  readonly el = h("section", { class: "takeover", testid: "takeover", "aria-label": "Help from the store" });
  private takeover: Takeover | undefined;
  private code: HelpCodeResponse | undefined;
  private error: string | undefined;
  private readonly stops: (() => void)[] = [];
  private expiry: number | undefined;

  constructor(
    private readonly app: App,
    private readonly cartId: string,
  ) {
    const stop = onSupportFrame(app.live, (f) => {
      if (f.type !== "takeover_requested" && f.type !== "takeover_started" && f.type !== "takeover_ended") return;
      if (f.takeover.cart_id !== cartId) return;
      this.takeover = f.takeover;
      if (f.type === "takeover_requested" && !this.mine()) app.announce(`${f.takeover.agent_name} asks to take over this cart.`);
      if (f.type === "takeover_started") {
        this.code = undefined;
        app.announce(this.mine() ? "You are editing this cart for the shopper." : `${f.takeover.agent_name} is editing this cart for you.`);
      }
      if (f.type === "takeover_ended") app.announce("The store's help with this cart has ended.");
      this.draw();
    });
    this.stops.push(stop, onReconnect(app.live, () => void this.load()));
    this.draw();
    void this.load();
  }

  destroy(): void {
    for (const stop of this.stops) stop();
    window.clearTimeout(this.expiry);
  }

  /** The cart's open takeover, as the server has it now (frames keep it current). */
  private async load(): Promise<void> {
    try {
      const t = await supportApi.openTakeover(this.cartId);
      // An ended one stays on screen as ended; only an open one replaces it.
      if (t || this.takeover?.status === "requested" || this.takeover?.status === "active") this.takeover = t ?? undefined;
      this.draw();
    } catch {
      /* not a member any more, or offline: the frames still come */
    }
  }

  /** Whether the signed-in user is the agent of the takeover. */
  private mine(): boolean {
    return this.takeover?.agent_id === this.app.me.id;
  }

  private draw(): void {
    const t = this.takeover;
    const focusWasIn = this.el.contains(document.activeElement);
    const error = this.error ? h("p", { class: "form-error", testid: "takeover-error" }, this.error) : null;
    this.el.dataset.state = t?.status ?? "none";
    if (t?.status === "active") {
      mount(
        this.el,
        h(
          "div",
          { class: "takeover-banner", testid: "takeover-banner" },
          h("span", { class: "dot", "aria-hidden": "true" }),
          h(
            "p",
            { class: "takeover-text", testid: "takeover-text" },
            this.mine()
              ? "You are editing this cart for the shopper. Your edits show as yours, for them."
              : `${t.agent_name} is editing this cart for you. You see every change live, and you can end it at any time.`,
          ),
          h(
            "button",
            { class: "secondary small", testid: "takeover-end", onclick: () => void this.end(t) },
            this.mine() ? "Hand back" : "End",
          ),
        ),
        error,
      );
    } else if (t?.status === "requested" && !this.mine()) {
      mount(
        this.el,
        h(
          "div",
          { class: "takeover-banner ask", testid: "takeover-consent", role: "group", "aria-labelledby": "takeover-ask" },
          h(
            "p",
            { class: "takeover-text", id: "takeover-ask" },
            `${t.agent_name} from the store asks to take over this cart to fill it for you. You can end it at any time.`,
          ),
          h("button", { class: "primary small", testid: "takeover-accept", onclick: () => void this.answer(t, true) }, "Allow"),
          h("button", { class: "ghost small", testid: "takeover-decline", onclick: () => void this.answer(t, false) }, "Decline"),
        ),
        error,
      );
    } else if (t?.status === "requested") {
      mount(this.el, h("p", { class: "muted small", testid: "takeover-waiting" }, "Waiting for the shopper to allow the takeover…"), error);
    } else if (this.code && this.code.expires_at > Date.now()) {
      mount(
        this.el,
        h(
          "div",
          { class: "takeover-code", testid: "help-code-box" },
          h("p", null, "Read this code to the store's agent. It lets them fill this cart for you and works for 10 minutes."),
          h("p", { class: "help-code" }, h("span", { class: "sr-only" }, "Help code: "), h("strong", { testid: "help-code", "data-code": this.code.code }, spaced(this.code.code))),
        ),
        error,
      );
    } else {
      mount(
        this.el,
        h(
          "div",
          { class: "takeover-offer" },
          h("span", { class: "muted small" }, "Stuck? The store can fill this cart for you."),
          h("button", { class: "ghost small", testid: "help-code-get", onclick: () => void this.getCode() }, "Get a help code"),
        ),
        error,
      );
    }
    if (focusWasIn && !this.el.contains(document.activeElement)) {
      (this.el.querySelector("button") as HTMLElement | null)?.focus();
    }
  }

  private async getCode(): Promise<void> {
    this.error = undefined;
    try {
      this.code = await supportApi.helpCode(this.cartId);
      window.clearTimeout(this.expiry);
      this.expiry = window.setTimeout(() => this.draw(), Math.max(0, this.code.expires_at - Date.now()) + 50);
    } catch (e) {
      this.error = message(e);
    }
    this.draw();
  }

  private async answer(t: Takeover, accept: boolean): Promise<void> {
    this.error = undefined;
    try {
      this.takeover = await supportApi.consent(t.id, accept);
    } catch (e) {
      this.error = message(e);
    }
    this.draw();
  }

  private async end(t: Takeover): Promise<void> {
    this.error = undefined;
    try {
      this.takeover = await supportApi.endTakeover(t.id);
    } catch (e) {
      this.error = message(e);
    }
    this.draw();
  }
}

/** "123456" as "123 456", easier to read out. */
export function spaced(code: string): string {
  return code.length === 6 ? `${code.slice(0, 3)} ${code.slice(3)}` : code;
}

export function message(e: unknown): string {
  return e instanceof ApiError ? e.message : "Something went wrong. Please try again.";
}
