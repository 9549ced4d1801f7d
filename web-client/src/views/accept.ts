// The page behind a join link, `/join#<token>` (an invitation's e-mail or a
// share link): what the token invites to, then join as the signed-in user,
// or sign in, create an account or continue as a guest first, then join.
// An invitation can also be declined. A token that does not work (unknown,
// expired, revoked, used up) gets a clear page with its code and nothing
// about the cart.
//
// Mounted by src/main.ts before the app's own screens.

import "../share.css";
import { h, mount } from "../dom";
import { logo } from "../icons";
import type { InvitePreview } from "../generated";
import { sharingApi } from "../sharing-api";
import type { User } from "../types";
import { currentUser, signInChoices, TokenPage, type CodeWords } from "./token-page";

export interface JoinOptions {
  /** Called once joined: the app starts for `user` and opens the cart. */
  joined(user: User, cartId: string): void;
}

const CODE_WORDS: CodeWords = {
  invite_not_found: ["This link doesn't work", "It may be mistyped, or a newer invitation e-mail replaced it. Ask whoever shared it for a new one."],
  invite_expired: ["This invitation has expired", "Ask whoever shared the cart for a new link."],
  invite_revoked: ["This invitation was withdrawn", "The cart's admin revoked it. Ask them if you should still join."],
  invite_used_up: ["This invitation was already used", "It has been accepted or declined, or the link has no places left. Ask for a new one."],
};

/** Draws the join page into `root` for `token`. */
export async function renderJoin(root: HTMLElement, token: string, opts: JoinOptions): Promise<void> {
  const page = new TokenPage(root, "join", CODE_WORDS, "Opening the invitation…");
  const preview = await page.preview(sharingApi.lookup(token));
  if (preview) drawPreview(page, token, preview, await currentUser(), opts);
}

function drawPreview(page: TokenPage, token: string, p: InvitePreview, me: User | undefined, opts: JoinOptions): void {
  const { card, error } = page;
  const fail = (e: unknown) => page.fail(e);
  /** Runs `signIn` (when not signed in yet), then joins. */
  const join = (ev: Event | undefined, signIn: () => Promise<User>) =>
    page.enter(ev, signIn, async (user) => {
      const answer = await sharingApi.accept(token);
      opts.joined(user, answer.cart_id);
    });
  const what = p.role === "editor" ? "shop together in" : "see and comment on";
  const who = p.kind === "invitation" ? `${p.invited_by} invited you to ${what}` : `${p.invited_by} shared a link to ${what}`;
  const head = [
    h("div", { class: "brand" }, logo()),
    h("h1", { testid: "join-title" }, `Join “${p.cart_name}”`),
    h("p", { testid: "join-who" }, `${who} the cart “${p.cart_name}”, as ${p.role === "editor" ? "an editor" : "a viewer"}.`),
    p.message ? h("blockquote", { testid: "join-message" }, p.message) : null,
    h("p", { class: "muted small" }, `Valid until ${new Date(p.expires_at).toLocaleString()}.`),
    error,
  ];
  const decline =
    p.kind === "invitation"
      ? h(
          "button",
          {
            class: "ghost",
            testid: "join-decline",
            onclick: async () => {
              try {
                await sharingApi.decline(token);
                mount(card, h("h1", { testid: "join-declined" }, "Invitation declined"), h("p", null, `We'll let ${p.invited_by} know.`));
              } catch (e) {
                fail(e);
              }
            },
          },
          "Decline",
        )
      : null;
  if (me) {
    mount(
      card,
      head,
      h(
        "div",
        { class: "join-choices" },
        h("button", { class: "primary wide", testid: "join-as-me", onclick: () => join(undefined, async () => me) }, `Join as ${me.name}`),
        decline,
      ),
    );
    return;
  }
  mount(
    card,
    head,
    h(
      "div",
      { class: "join-choices" },
      signInChoices({ prefix: "join", email: p.email ?? "", then: "join", go: join }),
      decline,
    ),
  );
}
