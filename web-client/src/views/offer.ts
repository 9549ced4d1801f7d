// The page behind a merchant share's link, `/offer#<token>`: what the
// store's staff sent, then the customer's choice, **open it live** (join
// the staff's cart as an editor) or **take a copy** (a new cart of their
// own, same lines at today's prices), as the signed-in user or after
// signing in, signing up or continuing as a guest. Carts they already have
// are never touched. A token that does not work gets a clear page.
//
// Mounted by src/main.ts before the app's own screens.

import "../share.css";
import { h, mount } from "../dom";
import { money } from "../format";
import type { OfferMode, OfferPreview } from "../generated";
import { logo } from "../icons";
import { storeApi } from "../store-api";
import type { User } from "../types";
import { currentUser, signInChoices, TokenPage, type CodeWords } from "./token-page";

export interface OfferOptions {
  /** Called once taken: the app starts for `user` and opens the cart. */
  opened(user: User, cartId: string): void;
}

const CODE_WORDS: CodeWords = {
  invite_not_found: ["This link doesn't work", "It may be mistyped. Ask the shop for a new one."],
  invite_expired: ["This cart's link has expired", "Ask the shop to send it again."],
  invite_used_up: ["This cart was already taken", "Someone opened it or took a copy with this link. Ask the shop for a new one."],
};

/** Draws the offer page into `root` for `token`. */
export async function renderOffer(root: HTMLElement, token: string, opts: OfferOptions): Promise<void> {
  const page = new TokenPage(root, "offer", CODE_WORDS, "Opening the cart…");
  const preview = await page.preview(storeApi.lookupOffer(token));
  if (preview) draw(page, token, preview, await currentUser(), opts);
}

function draw(page: TokenPage, token: string, p: OfferPreview, me: User | undefined, opts: OfferOptions): void {
  const { card, error } = page;
  const live = h("input", { type: "radio", name: "offer-mode", value: "live", checked: true, testid: "offer-mode-live", id: "offer-mode-live" });
  const copy = h("input", { type: "radio", name: "offer-mode", value: "copy", testid: "offer-mode-copy", id: "offer-mode-copy" });
  const mode = (): OfferMode => (copy.checked ? "copy" : "live");
  /** Runs `signIn` (when not signed in yet), then takes the cart. */
  const take = (ev: Event | undefined, signIn: () => Promise<User>) =>
    page.enter(ev, signIn, async (user) => {
      const answer = await storeApi.acceptOffer(token, mode());
      opts.opened(user, answer.cart_id);
    });
  const head = [
    h("div", { class: "brand" }, logo()),
    h("h1", { testid: "offer-title" }, `“${p.cart_name}”`),
    h(
      "p",
      { testid: "offer-who" },
      `${p.sent_by} of ${p.store_name} filled this cart for you: ${p.line_count} lines, ${money(p.subtotal, p.currency)}.`,
    ),
    p.message ? h("blockquote", { testid: "offer-message" }, p.message) : null,
    h("p", { class: "muted small" }, `Valid until ${new Date(p.expires_at).toLocaleString()}.`),
    h(
      "fieldset",
      { class: "offer-modes" },
      h("legend", null, "How do you want it?"),
      h("label", { for: "offer-mode-live" }, live, ` Open it live: edit it together with ${p.sent_by}`),
      h("label", { for: "offer-mode-copy" }, copy, " Take a copy: a cart of your own, at today's prices"),
      h("p", { class: "muted small" }, "Your other carts stay as they are."),
    ),
    error,
  ];
  if (me) {
    mount(card, head, h("button", { class: "primary wide", testid: "offer-as-me", onclick: () => take(undefined, async () => me) }, `Continue as ${me.name}`));
    return;
  }
  mount(
    card,
    head,
    h("div", { class: "join-choices" }, signInChoices({ prefix: "offer", email: p.email, then: "continue", go: take })),
  );
}
