// What the pages behind an e-mailed link share (`/join#<token>`,
// src/views/accept.ts, and `/offer#<token>`, src/views/offer.ts): the page
// for a token that does not work, and the three ways in for someone not
// signed in yet (create an account, sign in, continue as a guest). Each
// page's test ids start with its own prefix (`join-`, `offer-`).

import { api, ApiError } from "../api";
import { h, mount } from "../dom";
import { logo } from "../icons";
import type { User } from "../types";
import { passwordProblem } from "./auth";

/** Title and words for each refusal code a page explains. */
export type CodeWords = Record<string, [string, string]>;

/** The signed-in user, or undefined (not signed in, or no server). */
export async function currentUser(): Promise<User | undefined> {
  try {
    return await api.me();
  } catch {
    return undefined;
  }
}

/** One token page's card, its problem line, and what every such page does. */
export class TokenPage {
  readonly card: HTMLElement;
  /** Where a problem that is not a refusal is said (the page puts it in place). */
  readonly error: HTMLElement;

  /** Mounts the page's card into `root`, saying `loading` until it is drawn. */
  constructor(
    root: HTMLElement,
    private readonly prefix: string,
    private readonly words: CodeWords,
    loading: string,
  ) {
    this.card = h("div", { class: "card join-card", testid: `${prefix}-page` });
    mount(root, h("main", { class: "auth-main" }, this.card));
    mount(this.card, h("p", { class: "muted" }, loading));
    this.error = h("p", { class: "form-error", role: "alert", testid: `${prefix}-problem`, hidden: true });
  }

  /** What `lookup` finds, or undefined once the page says why the token does not work. */
  async preview<P>(lookup: Promise<P>): Promise<P | undefined> {
    try {
      return await lookup;
    } catch (e) {
      this.refused(e);
      return undefined;
    }
  }

  /** Replaces the card with why the token does not work, and a way into the app. */
  refused(e: unknown): void {
    const code = e instanceof ApiError ? e.code : "internal";
    const [title, text] = this.words[code] ?? ["Something went wrong", e instanceof ApiError ? e.message : String(e)];
    this.card.setAttribute("data-code", code);
    mount(
      this.card,
      h("div", { class: "brand" }, logo()),
      h("h1", { testid: `${this.prefix}-error` }, title),
      h("p", null, text),
      h("a", { class: "button primary", href: "/" }, "Go to Cartroom"),
    );
  }

  /** A refusal the page explains replaces the card; anything else shows in the problem line. */
  fail(e: unknown): void {
    if (e instanceof ApiError && e.code in this.words) {
      this.refused(e);
      return;
    }
    this.error.textContent = e instanceof ApiError ? e.message : String(e);
    this.error.hidden = false;
  }

  /** Runs `signIn` (when not signed in yet), then `act`, with the card's buttons off meanwhile. */
  async enter(ev: Event | undefined, signIn: () => Promise<User>, act: (user: User) => Promise<void>): Promise<void> {
    ev?.preventDefault();
    this.error.hidden = true;
    const buttons = [...this.card.querySelectorAll("button")];
    buttons.forEach((b) => (b.disabled = true));
    try {
      await act(await signIn());
    } catch (e) {
      this.fail(e);
    } finally {
      buttons.forEach((b) => (b.disabled = false));
    }
  }
}

export interface SignInChoices {
  /** The test ids' prefix: `join`, `offer`. */
  prefix: string;
  /** The e-mail the link was sent to, filled in. */
  email: string;
  /** What the sign-up and sign-in buttons finish with: "join", "continue". */
  then: string;
  /** Runs `signIn`, then does what the page is for. */
  go(ev: Event, signIn: () => Promise<User>): void;
}

/** The three forms for someone not signed in: sign up, sign in, guest. */
export function signInChoices(o: SignInChoices): HTMLElement[] {
  const id = (name: string) => `${o.prefix}-${name}`;
  const field = (label: string, input: HTMLInputElement) => h("label", { class: "field" }, h("span", null, label), input);
  const siEmail = h("input", { type: "email", autocomplete: "email", required: true, testid: id("signin-email"), value: o.email });
  const siPassword = h("input", { type: "password", autocomplete: "current-password", required: true, testid: id("signin-password") });
  const suName = h("input", { type: "text", autocomplete: "name", required: true, maxlength: 60, testid: id("signup-name") });
  const suEmail = h("input", { type: "email", autocomplete: "email", required: true, testid: id("signup-email"), value: o.email });
  const suPassword = h("input", { type: "password", autocomplete: "new-password", required: true, testid: id("signup-password") });
  const guestName = h("input", { type: "text", autocomplete: "nickname", maxlength: 60, testid: id("guest-name") });
  return [
    h(
      "form",
      {
        testid: id("signup"),
        onsubmit: (ev: Event) =>
          o.go(ev, async () => {
            const problem = passwordProblem(suPassword.value);
            if (problem) throw new ApiError(400, "invalid_field", problem);
            return api.signup(suEmail.value.trim(), suPassword.value, suName.value.trim());
          }),
      },
      h("h2", null, "New to Cartroom?"),
      field("Your name", suName),
      field("E-mail", suEmail),
      field("Password (8 characters or more)", suPassword),
      h("button", { class: "primary", type: "submit", testid: id("signup-submit") }, `Create account and ${o.then}`),
    ),
    h(
      "form",
      { testid: id("signin"), onsubmit: (ev: Event) => o.go(ev, () => api.signin(siEmail.value.trim(), siPassword.value)) },
      h("h2", null, "Have an account?"),
      field("E-mail", siEmail),
      field("Password", siPassword),
      h("button", { type: "submit", testid: id("signin-submit") }, `Sign in and ${o.then}`),
    ),
    h(
      "form",
      { testid: id("guest"), onsubmit: (ev: Event) => o.go(ev, () => api.guest(guestName.value.trim() || undefined)) },
      h("h2", null, "Just looking?"),
      field("Your name (optional)", guestName),
      h("button", { type: "submit", testid: id("guest-submit") }, "Continue as a guest"),
    ),
  ];
}
