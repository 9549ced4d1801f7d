// The store's page, `#/store` (and `#/store/shared`, where the staff's
// e-mails about shared carts point): for the store's staff, the carts
// shoppers shared with the store (open one live) and "send to customer"
// (one of their carts by e-mail, with each offer's status); for owners
// also the staff and the store's settings; for everyone on it, two-factor
// sign-in (set up with a QR code). Anyone else reads that the page
// is for the staff.

import { ApiError } from "../api";
import type { App } from "../app";
import { api } from "../api";
import { h, mount } from "../dom";
import { money, timeAgo } from "../format";
import type { Offer, StoreRole, StoreSettings, TakeoverConsent } from "../generated";
import { storeApi } from "../store-api";

const STATUS_WORDS: Record<Offer["status"], string> = {
  pending: "pending",
  accepted_live: "opened live",
  accepted_copy: "taken as a copy",
  expired: "expired",
};

/** Words for an offer's status and its e-mail. */
export function offerStatus(offer: Offer): string {
  const who = offer.accepted_by ? ` by ${offer.accepted_by.name}` : "";
  const mail = offer.delivery.status === "sent" ? "" : ` · e-mail ${offer.delivery.status}`;
  return `${STATUS_WORDS[offer.status]}${who}${mail}`;
}

/** Draws the store page for `app`'s user. */
export function renderStore(app: App): HTMLElement {
  const page = h("section", { class: "store-page page narrow", testid: "store-page", "aria-labelledby": "store-title" });
  mount(page, h("h1", { id: "store-title" }, "Store"), h("p", { class: "muted" }, "Loading…"));
  void draw(app, page);
  return page;
}

async function draw(app: App, page: HTMLElement): Promise<void> {
  let role: StoreRole | null;
  try {
    role = await storeApi.role();
  } catch (e) {
    mount(page, h("h1", { id: "store-title" }, "Store"), h("p", { class: "form-error" }, message(e)));
    return;
  }
  if (!role) {
    mount(page, h("h1", { id: "store-title" }, "Store"), h("p", { testid: "store-not-staff" }, "This page is for the store's staff."));
    return;
  }
  mount(
    page,
    h("h1", { id: "store-title" }, "Store"),
    role === "owner"
      ? h("p", null, h("a", { href: "#/backoffice", testid: "store-backoffice-link" }, "Open the back office"), ": analytics, products, orders, API keys and webhooks.")
      : null,
    sharedSection(app),
    sendSection(),
    role === "owner" ? staffSection(app) : null,
    role === "owner" ? settingsSection(app) : null,
    twoFactorSection(),
  );
}

/** Two-factor sign-in for the signed-in staff member: enrol with a QR code, confirm, disable. */
function twoFactorSection(): HTMLElement {
  const body = h("div", { testid: "totp-body" });
  const error = h("p", { class: "form-error", role: "alert", testid: "totp-error", hidden: true });
  const fail = (e: unknown) => {
    error.textContent = message(e);
    error.hidden = false;
  };
  const codeInput = (testid: string) =>
    h("input", { type: "text", required: true, maxlength: 64, autocomplete: "one-time-code", testid, id: testid });

  const showOff = () =>
    mount(
      body,
      h("p", { class: "muted" }, "Sign in with a code from an authenticator app as well as your password."),
      h(
        "button",
        {
          type: "button",
          class: "primary",
          testid: "totp-enrol",
          onclick: async () => {
            error.hidden = true;
            try {
              showPending(await api.totpEnrol());
            } catch (e) {
              fail(e);
            }
          },
        },
        "Set up two-factor sign-in",
      ),
    );

  const showPending = (enrolment: { secret: string; qr_svg: string }) => {
    const code = codeInput("totp-confirm-code");
    const qr = h("img", {
      src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(enrolment.qr_svg)}`,
      alt: "QR code for your authenticator app",
      width: 200,
      height: 200,
      testid: "totp-qr",
    });
    mount(
      body,
      h("p", null, "Scan this with your authenticator app, or type the key into it, then enter the code it shows."),
      qr,
      h("p", { class: "small" }, "Key: ", h("code", { testid: "totp-secret" }, enrolment.secret)),
      h(
        "form",
        {
          testid: "totp-confirm-form",
          onsubmit: async (ev: Event) => {
            ev.preventDefault();
            error.hidden = true;
            try {
              const { recovery_codes } = await api.totpConfirm(code.value);
              showRecovery(recovery_codes);
            } catch (e) {
              fail(e);
            }
          },
        },
        h("label", { class: "field", for: "totp-confirm-code" }, h("span", null, "Code"), code),
        h("button", { type: "submit", class: "primary", testid: "totp-confirm" }, "Turn on"),
      ),
    );
  };

  const showRecovery = (codes: string[]) =>
    mount(
      body,
      h("p", { role: "status" }, "Two-factor sign-in is on. Keep these recovery codes somewhere safe: each signs you in once if you lose your app. They are not shown again."),
      h("ul", { testid: "totp-recovery-codes" }, codes.map((c) => h("li", null, h("code", null, c)))),
      h("button", { type: "button", testid: "totp-done", onclick: () => showOn() }, "Done"),
    );

  const showOn = () => {
    const code = codeInput("totp-disable-code");
    mount(
      body,
      h("p", { testid: "totp-on" }, "Two-factor sign-in is on."),
      h(
        "form",
        {
          testid: "totp-disable-form",
          onsubmit: async (ev: Event) => {
            ev.preventDefault();
            error.hidden = true;
            try {
              await api.totpDisable(code.value);
              showOff();
            } catch (e) {
              fail(e);
            }
          },
        },
        h("label", { class: "field", for: "totp-disable-code" }, h("span", null, "Code or recovery code"), code),
        h("button", { type: "submit", testid: "totp-disable" }, "Turn off"),
      ),
    );
  };

  mount(body, h("p", { class: "muted" }, "Loading…"));
  void api.totpStatus().then(
    (s) => (s.enabled ? showOn() : showOff()),
    (e: unknown) => fail(e),
  );
  return h("section", { class: "card", "aria-labelledby": "totp-title" }, h("h2", { id: "totp-title" }, "Two-factor sign-in"), body, error);
}

function message(e: unknown): string {
  return e instanceof ApiError ? e.message : String(e);
}

/** The carts shoppers shared with the store. */
function sharedSection(app: App): HTMLElement {
  const list = h("ul", { class: "share-list", testid: "store-shared", "aria-label": "Shared with us" });
  const refresh = async () => {
    try {
      const shared = await storeApi.shared();
      mount(
        list,
        shared.length === 0 ? h("li", { class: "muted" }, "No cart shared with the store yet.") : null,
        shared.map((s) =>
          h(
            "li",
            { testid: "store-shared-item" },
            h("strong", null, s.cart_name),
            h("span", null, ` from ${s.name} <${s.email}> · ${s.line_count} lines · ${money(s.subtotal, app.currency)} · ${timeAgo(s.created_at)}`),
            s.message ? h("blockquote", null, s.message) : null,
            h(
              "button",
              {
                class: "primary small",
                testid: "store-shared-open",
                onclick: async () => {
                  try {
                    const opened = await storeApi.openShared(s.id);
                    app.go(`#/cart/${opened.cart_id}`);
                  } catch (e) {
                    app.notify(message(e));
                  }
                },
              },
              "Open live",
            ),
          ),
        ),
      );
    } catch (e) {
      mount(list, h("li", { class: "form-error" }, message(e)));
    }
  };
  void refresh();
  return h("section", { class: "card", "aria-labelledby": "shared-title" }, h("h2", { id: "shared-title" }, "Shared with us"), list);
}

/** Send one of the user's carts to a customer, and each offer's status. */
function sendSection(): HTMLElement {
  const cart = h("select", { testid: "offer-cart", id: "offer-cart", required: true });
  const email = h("input", { type: "email", required: true, maxlength: 254, testid: "offer-email", id: "offer-email", autocomplete: "off" });
  const note = h("textarea", { rows: 3, maxlength: 1000, testid: "offer-message", id: "offer-message", placeholder: "A few words for them (optional)" });
  const days = h("input", { type: "number", min: 1, max: 365, value: 14, testid: "offer-days", id: "offer-days" });
  const error = h("p", { class: "form-error", role: "alert", testid: "offer-error", hidden: true });
  const offers = h("ul", { class: "share-list", testid: "offer-list", "aria-label": "Sent to customers" });
  const sent = h("p", { class: "muted small", role: "status", testid: "offer-sent", hidden: true }, "Sent. The customer chooses to open it live or take a copy.");
  const refresh = async () => {
    if (!cart.value) return;
    try {
      const list = await storeApi.offers(cart.value);
      mount(
        offers,
        list.map((o) =>
          h("li", { testid: "offer-item" }, h("strong", null, o.email), h("span", { testid: "offer-status" }, ` · ${offerStatus(o)}`)),
        ),
      );
    } catch (e) {
      mount(offers, h("li", { class: "form-error" }, message(e)));
    }
  };
  void api.carts().then(({ value }) => {
    const mine = value.filter((c) => c.role === "admin");
    mount(cart, mine.map((c) => h("option", { value: c.id }, c.name)));
    void refresh();
  });
  cart.addEventListener("change", () => void refresh());
  const form = h(
    "form",
    {
      testid: "offer-form",
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        error.hidden = true;
        sent.hidden = true;
        try {
          await storeApi.sendOffer(cart.value, {
            email: email.value.trim(),
            message: note.value,
            expires_in_days: Number(days.value) || 14,
          });
          email.value = "";
          note.value = "";
          sent.hidden = false;
          await refresh();
        } catch (e) {
          error.textContent = message(e);
          error.hidden = false;
        }
      },
    },
    h("label", { class: "field", for: "offer-cart" }, h("span", null, "Cart"), cart),
    h("label", { class: "field", for: "offer-email" }, h("span", null, "Customer's e-mail"), email),
    h("label", { class: "field", for: "offer-message" }, h("span", null, "Message"), note),
    h("label", { class: "field", for: "offer-days" }, h("span", null, "Expires after (days)"), days),
    error,
    h("button", { class: "primary", type: "submit", testid: "offer-send" }, "Send to customer"),
    sent,
  );
  return h("section", { class: "card", "aria-labelledby": "send-title" }, h("h2", { id: "send-title" }, "Send a cart to a customer"), form, offers);
}

/** The store's staff (owners). */
function staffSection(app: App): HTMLElement {
  const list = h("ul", { class: "share-list", testid: "staff-list", "aria-label": "Staff" });
  const email = h("input", { type: "email", required: true, maxlength: 254, testid: "staff-email", id: "staff-email", autocomplete: "off" });
  const role = h("select", { testid: "staff-role", id: "staff-role" }, h("option", { value: "agent" }, "Agent"), h("option", { value: "owner" }, "Owner"));
  // Support desk: an agent may take over customers' carts only with this right.
  const update = h("input", { type: "checkbox", testid: "staff-customer-update", id: "staff-customer-update" });
  const refresh = async () => {
    try {
      const staff = await storeApi.staff();
      mount(
        list,
        staff.map((s) =>
          h(
            "li",
            { testid: "staff-item" },
            h("strong", null, s.name),
            h("span", null, ` <${s.email}> · ${s.role}${s.role === "agent" && s.customer_update ? " · may take over carts" : ""}`),
            h(
              "button",
              {
                class: "ghost small",
                testid: "staff-remove",
                onclick: async () => {
                  try {
                    await storeApi.removeStaff(s.user_id);
                    await refresh();
                  } catch (e) {
                    app.notify(message(e));
                  }
                },
              },
              "Remove",
            ),
          ),
        ),
      );
    } catch (e) {
      mount(list, h("li", { class: "form-error" }, message(e)));
    }
  };
  void refresh();
  const form = h(
    "form",
    {
      testid: "staff-form",
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        try {
          await storeApi.addStaff(email.value.trim(), role.value === "owner" ? "owner" : "agent", update.checked);
          email.value = "";
          await refresh();
        } catch (e) {
          app.notify(message(e));
        }
      },
    },
    h("label", { class: "field", for: "staff-email" }, h("span", null, "E-mail of an account"), email),
    h("label", { class: "field", for: "staff-role" }, h("span", null, "Role"), role),
    h("label", { class: "field-inline", for: "staff-customer-update" }, update, " May take over customers' carts (support)"),
    h("button", { type: "submit", testid: "staff-add" }, "Add to the staff"),
  );
  return h("section", { class: "card", "aria-labelledby": "staff-title" }, h("h2", { id: "staff-title" }, "Staff"), list, form);
}

/** The store's settings (owners). */
function settingsSection(app: App): HTMLElement {
  const box = h("input", { type: "checkbox", testid: "setting-customer-shares", id: "setting-customer-shares" });
  // Support desk: whether agents ask registered shoppers before taking over a cart.
  const consent = h(
    "select",
    { testid: "setting-takeover-consent", id: "setting-takeover-consent" },
    h("option", { value: "required" }, "Always ask the shopper"),
    h("option", { value: "waived_for_registered" }, "Don't ask registered shoppers"),
  );
  const show = (s: StoreSettings) => {
    box.checked = s.customer_shares;
    consent.value = s.takeover_consent;
  };
  void storeApi.settings().then(show);
  const save = async () => {
    try {
      show(await storeApi.setSettings({ customer_shares: box.checked, takeover_consent: consent.value as TakeoverConsent }));
    } catch (e) {
      app.notify(message(e));
    }
  };
  box.addEventListener("change", save);
  consent.addEventListener("change", save);
  return h(
    "section",
    { class: "card", "aria-labelledby": "settings-title" },
    h("h2", { id: "settings-title" }, "Settings"),
    h("label", { class: "field-inline", for: "setting-customer-shares" }, box, " Shoppers may share their carts with the store"),
    h("label", { class: "field", for: "setting-takeover-consent" }, h("span", null, "Before an agent takes over a cart"), consent),
  );
}
