// Sign in, sign up, or continue as a guest.

import { api, ApiError } from "../api";
import { h, mount } from "../dom";
import { logo } from "../icons";
import type { User } from "../types";

type Tab = "signin" | "signup" | "guest" | "forgot";

export interface AuthOptions {
  onSignedIn(user: User): void;
  notify(text: string): void;
  /** A signed-in guest making an account: only the sign-up form, same user id. */
  upgrade?: boolean;
}

/** What is wrong with a new password, as the server would say it; undefined when fine. */
export function passwordProblem(password: string): string | undefined {
  const n = [...password].length;
  if (n < 8 || n > 128) return "A password has 8 to 128 characters.";
  if (password.trim() === "") return "A password can't be only spaces.";
  return undefined;
}

export function renderAuth(opts: AuthOptions): HTMLElement {
  let tab: Tab = opts.upgrade ? "signup" : "signin";
  /** What the sign-in form had in its e-mail field, for "Forgot your password?". */
  let forgotEmail = "";
  const body = h("div", { class: "auth-body" });
  const tabs = h("div", { class: "tabs", role: "tablist" });
  const error = h("p", { class: "form-error", id: "auth-error", testid: "auth-error", role: "alert", hidden: true });

  const fail = (e: unknown) => {
    error.hidden = false;
    error.textContent = e instanceof ApiError ? e.message : "Something went wrong. Please try again.";
    (body.querySelector("input[type=password]") as HTMLInputElement | null)?.setAttribute("aria-describedby", "auth-error");
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
            class: `tab ${tab === t || (tab === "forgot" && t === "signin") ? "active" : ""}`,
            role: "tab",
            "aria-selected": tab === t || (tab === "forgot" && t === "signin") ? "true" : "false",
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
      // The second step, shown when the server answers totp_required.
      const code = h("input", { type: "text", name: "code", autocomplete: "one-time-code", inputmode: "numeric", maxlength: 64, testid: "auth-code" });
      const codeField = field("Code from your authenticator app (or a recovery code)", code);
      codeField.hidden = true;
      const signin = async () => {
        try {
          return await api.signin(email.value.trim(), password.value, codeField.hidden ? undefined : code.value);
        } catch (e) {
          if (e instanceof ApiError && e.code === "totp_required" && codeField.hidden) {
            codeField.hidden = false;
            queueMicrotask(() => code.focus());
          }
          throw e;
        }
      };
      mount(
        body,
        h(
          "form",
          { onsubmit: (ev: Event) => submit(ev, signin) },
          field("E-mail", email),
          field("Password", password),
          codeField,
          error,
          h("button", { type: "submit", class: "primary wide", testid: "signin-submit" }, "Sign in"),
          h(
            "button",
            {
              type: "button",
              class: "link wide-link",
              testid: "forgot-password",
              onclick: () => {
                forgotEmail = email.value.trim();
                tab = "forgot";
                error.hidden = true;
                show();
              },
            },
            "Forgot your password?",
          ),
        ),
      );
    } else if (tab === "forgot") {
      const email = h("input", { type: "email", name: "email", autocomplete: "email", required: true, testid: "auth-email", value: forgotEmail });
      const sent = h("p", { class: "form-note", testid: "reset-sent", role: "status", hidden: true });
      const button = h("button", { type: "submit", class: "primary wide", testid: "reset-submit" }, "E-mail me a link");
      mount(
        body,
        h(
          "form",
          {
            onsubmit: async (ev: Event) => {
              ev.preventDefault();
              button.disabled = true;
              error.hidden = true;
              try {
                await api.requestReset(email.value.trim());
                sent.hidden = false;
                sent.textContent = `If ${email.value.trim()} has an account, a link to set a new password is on its way. It works once, for a short while.`;
              } catch (e) {
                fail(e);
              } finally {
                button.disabled = false;
              }
            },
          },
          h("p", { class: "muted" }, "We'll e-mail you a link to set a new password."),
          field("E-mail", email),
          error,
          sent,
          button,
          h(
            "button",
            { type: "button", class: "link wide-link", testid: "back-to-signin", onclick: () => ((tab = "signin"), show()) },
            "Back to sign in",
          ),
        ),
      );
    } else if (tab === "signup") {
      const name = h("input", { type: "text", name: "name", autocomplete: "name", required: true, maxlength: 60, testid: "auth-name" });
      const email = h("input", { type: "email", name: "email", autocomplete: "email", required: true, testid: "auth-email" });
      const password = newPassword("auth-password");
      mount(
        body,
        h(
          "form",
          {
            onsubmit: (ev: Event) =>
              submit(ev, async () => {
                const problem = passwordProblem(password.value);
                if (problem) throw new ApiError(400, "invalid_field", problem);
                return api.signup(email.value.trim(), password.value, name.value.trim());
              }),
          },
          field("Your name", name),
          field("E-mail", email),
          field("Password (8 characters or more, not only spaces)", password),
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

/** A field for a new password, with the server's length rules. */
function newPassword(testid: string): HTMLInputElement {
  return h("input", { type: "password", name: "password", autocomplete: "new-password", required: true, minlength: 8, maxlength: 128, testid });
}

/** The page of a password-reset e-mail's link (`/reset#<token>`): a new password, then signed in. */
export function renderReset(token: string, opts: { onSignedIn(user: User): void }): HTMLElement {
  const error = h("p", { class: "form-error", id: "auth-error", testid: "auth-error", role: "alert", hidden: true });
  const password = newPassword("reset-password");
  password.setAttribute("aria-describedby", "auth-error");
  const button = h("button", { type: "submit", class: "primary wide", testid: "reset-confirm" }, "Set the new password");
  return h(
    "div",
    { class: "auth", testid: "reset-screen" },
    h(
      "div",
      { class: "auth-card card" },
      h("h1", { class: "auth-title" }, logo(true), "New password"),
      h(
        "form",
        {
          onsubmit: async (ev: Event) => {
            ev.preventDefault();
            error.hidden = true;
            const problem = passwordProblem(password.value);
            if (problem) {
              error.textContent = problem;
              error.hidden = false;
              password.focus();
              return;
            }
            button.disabled = true;
            try {
              opts.onSignedIn(await api.confirmReset(token, password.value));
            } catch (e) {
              error.textContent =
                e instanceof ApiError && e.code === "invite_not_found"
                  ? "This link was already used, has expired, or was replaced by a newer one. Ask for a new link from the sign-in page."
                  : e instanceof ApiError
                    ? e.message
                    : "Something went wrong. Please try again.";
              error.hidden = false;
            } finally {
              button.disabled = false;
            }
          },
        },
        h("p", { class: "muted" }, "Choose a new password. Your other sessions will be signed out."),
        h("label", { class: "field" }, h("span", null, "New password (8 characters or more, not only spaces)"), password),
        error,
        button,
        h("a", { href: "/", class: "button ghost wide" }, "Back to sign in"),
      ),
    ),
  );
}
