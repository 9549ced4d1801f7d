// The page behind a join link, `/join#<token>` (an invitation's e-mail or a
// share link): what the token invites to, then join as the signed-in user,
// or sign in, create an account or continue as a guest first, then join.
// An invitation can also be declined. A token that does not work (unknown,
// expired, revoked, used up) gets a clear page with its code and nothing
// about the cart.
//
// Mounted by src/main.ts before the app's own screens.

import "../share.css";
import { api, ApiError } from "../api";
import { h, mount } from "../dom";
import { logo } from "../icons";
import type { InvitePreview } from "../generated";
import { sharingApi } from "../sharing-api";
import type { User } from "../types";
import { passwordProblem } from "./auth";

export interface JoinOptions {
  /** Called once joined: the app starts for `user` and opens the cart. */
  joined(user: User, cartId: string): void;
}

const CODE_WORDS: Record<string, [string, string]> = {
  invite_not_found: ["This link doesn't work", "It may be mistyped, or a newer invitation e-mail replaced it. Ask whoever shared it for a new one."],
  invite_expired: ["This invitation has expired", "Ask whoever shared the cart for a new link."],
  invite_revoked: ["This invitation was withdrawn", "The cart's admin revoked it. Ask them if you should still join."],
  invite_used_up: ["This invitation was already used", "It has been accepted or declined, or the link has no places left. Ask for a new one."],
};

/** Draws the join page into `root` for `token`. */
export async function renderJoin(root: HTMLElement, token: string, opts: JoinOptions): Promise<void> {
  const card = h("div", { class: "card join-card", testid: "join-page" });
  mount(root, h("main", { class: "auth-main" }, card));
  mount(card, h("p", { class: "muted" }, "Opening the invitation…"));
  let preview: InvitePreview;
  try {
    preview = await sharingApi.lookup(token);
  } catch (e) {
    showRefused(card, e);
    return;
  }
  let me: User | undefined;
  try {
    me = await api.me();
  } catch {
    me = undefined;
  }
  drawPreview(card, token, preview, me, opts);
}

function showRefused(card: HTMLElement, e: unknown): void {
  const code = e instanceof ApiError ? e.code : "internal";
  const [title, words] = CODE_WORDS[code] ?? ["Something went wrong", e instanceof ApiError ? e.message : String(e)];
  card.setAttribute("data-code", code);
  mount(
    card,
    h("div", { class: "brand" }, logo()),
    h("h1", { testid: "join-error" }, title),
    h("p", null, words),
    h("a", { class: "button primary", href: "/" }, "Go to Cartroom"),
  );
}

function drawPreview(card: HTMLElement, token: string, p: InvitePreview, me: User | undefined, opts: JoinOptions): void {
  const error = h("p", { class: "form-error", role: "alert", testid: "join-problem", hidden: true });
  const fail = (e: unknown) => {
    if (e instanceof ApiError && e.code in CODE_WORDS) {
      showRefused(card, e);
      return;
    }
    error.textContent = e instanceof ApiError ? e.message : String(e);
    error.hidden = false;
  };
  /** Runs `signIn` (when not signed in yet), then joins. */
  const join = async (ev: Event | undefined, signIn: () => Promise<User>) => {
    ev?.preventDefault();
    error.hidden = true;
    const buttons = [...card.querySelectorAll("button")];
    buttons.forEach((b) => (b.disabled = true));
    try {
      const user = await signIn();
      const answer = await sharingApi.accept(token);
      opts.joined(user, answer.cart_id);
    } catch (e) {
      fail(e);
    } finally {
      buttons.forEach((b) => (b.disabled = false));
    }
  };
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
  const field = (label: string, input: HTMLInputElement) => h("label", { class: "field" }, h("span", null, label), input);
  const siEmail = h("input", { type: "email", autocomplete: "email", required: true, testid: "join-signin-email", value: p.email ?? "" });
  const siPassword = h("input", { type: "password", autocomplete: "current-password", required: true, testid: "join-signin-password" });
  const suName = h("input", { type: "text", autocomplete: "name", required: true, maxlength: 60, testid: "join-signup-name" });
  const suEmail = h("input", { type: "email", autocomplete: "email", required: true, testid: "join-signup-email", value: p.email ?? "" });
  const suPassword = h("input", { type: "password", autocomplete: "new-password", required: true, testid: "join-signup-password" });
  const guestName = h("input", { type: "text", autocomplete: "nickname", maxlength: 60, testid: "join-guest-name" });
  mount(
    card,
    head,
    h(
      "div",
      { class: "join-choices" },
      h(
        "form",
        {
          testid: "join-signup",
          onsubmit: (ev: Event) =>
            join(ev, async () => {
              const problem = passwordProblem(suPassword.value);
              if (problem) throw new ApiError(400, "invalid_field", problem);
              return api.signup(suEmail.value.trim(), suPassword.value, suName.value.trim());
            }),
        },
        h("h2", null, "New to Cartroom?"),
        field("Your name", suName),
        field("E-mail", suEmail),
        field("Password (8 characters or more)", suPassword),
        h("button", { class: "primary", type: "submit", testid: "join-signup-submit" }, "Create account and join"),
      ),
      h(
        "form",
        { testid: "join-signin", onsubmit: (ev: Event) => join(ev, () => api.signin(siEmail.value.trim(), siPassword.value)) },
        h("h2", null, "Have an account?"),
        field("E-mail", siEmail),
        field("Password", siPassword),
        h("button", { type: "submit", testid: "join-signin-submit" }, "Sign in and join"),
      ),
      h(
        "form",
        { testid: "join-guest", onsubmit: (ev: Event) => join(ev, () => api.guest(guestName.value.trim() || undefined)) },
        h("h2", null, "Just looking?"),
        field("Your name (optional)", guestName),
        h("button", { type: "submit", testid: "join-guest-submit" }, "Continue as a guest"),
      ),
      decline,
    ),
  );
}
