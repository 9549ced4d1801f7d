// Sign in, sign up, or continue as a guest.

import { api, ApiError } from "../api";
import { h, mount } from "../dom";
import { logo } from "../icons";
import type { User } from "../types";

type Tab = "signin" | "signup" | "guest";

export interface AuthOptions {
  onSignedIn(user: User): void;
  notify(text: string): void;
  /** A signed-in guest making an account: only the sign-up form, same user id. */
  upgrade?: boolean;
}

export function renderAuth(opts: AuthOptions): HTMLElement {
  let tab: Tab = opts.upgrade ? "signup" : "signin";
  const body = h("div", { class: "auth-body" });
  const tabs = h("div", { class: "tabs", role: "tablist" });
  const error = h("p", { class: "form-error", testid: "auth-error", role: "alert", hidden: true });

  const fail = (e: unknown) => {
    error.hidden = false;
    error.textContent = e instanceof ApiError ? e.message : "Something went wrong. Please try again.";
  };

  const submit = async (ev: Event, run: () => Promise<User>) => {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const button = form.querySelector("button[type=submit]") as HTMLButtonElement;
    button.disabled = true;
    error.hidden = true;
    try {
      opts.onSignedIn(await run());
    } catch (e) {
      fail(e);
    } finally {
      button.disabled = false;
    }
  };

  const field = (label: string, input: HTMLInputElement) => h("label", { class: "field" }, h("span", null, label), input);

  const show = () => {
    tabs.hidden = Boolean(opts.upgrade);
    mount(
      tabs,
      (
        [
          ["signin", "Sign in"],
          ["signup", "Create account"],
          ["guest", "Guest"],
        ] as const
      ).map(([t, label]) =>
        h(
          "button",
          {
            class: `tab ${tab === t ? "active" : ""}`,
            role: "tab",
            "aria-selected": tab === t ? "true" : "false",
            testid: `tab-${t}`,
            onclick: () => {
              tab = t;
              error.hidden = true;
              show();
            },
          },
          label,
        ),
      ),
    );
    if (tab === "signin") {
      const email = h("input", { type: "email", name: "email", autocomplete: "email", required: true, testid: "auth-email" });
      const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true, testid: "auth-password" });
      mount(
        body,
        h(
          "form",
          { onsubmit: (ev: Event) => submit(ev, () => api.signin(email.value.trim(), password.value)) },
          field("E-mail", email),
          field("Password", password),
          error,
          h("button", { type: "submit", class: "primary wide", testid: "signin-submit" }, "Sign in"),
        ),
      );
    } else if (tab === "signup") {
      const name = h("input", { type: "text", name: "name", autocomplete: "name", required: true, maxlength: 60, testid: "auth-name" });
      const email = h("input", { type: "email", name: "email", autocomplete: "email", required: true, testid: "auth-email" });
      const password = h("input", {
        type: "password",
        name: "password",
        autocomplete: "new-password",
        required: true,
        minlength: 8,
        maxlength: 128,
        testid: "auth-password",
      });
      mount(
        body,
        h(
          "form",
          { onsubmit: (ev: Event) => submit(ev, () => api.signup(email.value.trim(), password.value, name.value.trim())) },
          field("Your name", name),
          field("E-mail", email),
          field("Password (8 characters or more)", password),
          error,
          h("button", { type: "submit", class: "primary wide", testid: "signup-submit" }, "Create account"),
          opts.upgrade ? h("a", { href: "#/", class: "button ghost wide" }, "Not now") : null,
        ),
      );
    } else {
      const name = h("input", { type: "text", name: "name", maxlength: 60, placeholder: "e.g. Sam", testid: "auth-name" });
      mount(
        body,
        h(
          "form",
          { onsubmit: (ev: Event) => submit(ev, () => api.guest(name.value.trim() || undefined)) },
          h("p", { class: "muted" }, "Try Cartroom without an account. You can create one later and keep your carts."),
          field("Your name (optional)", name),
          error,
          h("button", { type: "submit", class: "primary wide", testid: "guest-submit" }, "Continue as guest"),
        ),
      );
    }
    (body.querySelector("input") as HTMLInputElement | null)?.focus();
  };
  show();

  const intro = opts.upgrade
    ? "Create an account to keep your carts and open them from any device."
    : "Shop together, live. One cart for the whole family or team.";
  return h(
    "div",
    { class: opts.upgrade ? "auth embedded" : "auth", testid: opts.upgrade ? "upgrade-screen" : "auth-screen" },
    h(
      "div",
      { class: "auth-card card" },
      h("h1", { class: "auth-title" }, logo(true), "Cartroom"),
      h("p", { class: "muted center" }, intro),
      tabs,
      body,
    ),
  );
}
