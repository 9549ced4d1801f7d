// The share dialog of a cart, for its admins (docs/protocol.md section 11):
// invite someone by e-mail (address, message, role, expiry), make a share
// link (role, expiry, uses), and the lists of both with their status:
// invitations pending / accepted (by whom) / declined / expired / revoked,
// with how their e-mail is doing (sent, or the mail server's error and the
// next try), and links with their uses. Invitations can be resent or
// revoked, links revoked. A new link is shown once, with "Copy" and, where
// the browser has the Web Share API (phones), "Share…".
//
// Mounted by the cart page (src/views/cart.ts) through `shareButton`.

import "../share.css";
import { ApiError } from "../api";
import type { App } from "../app";
import { h, mount } from "../dom";
import { timeAgo } from "../format";
import type { CreatedLink, Invitation, MemberRole, ShareLink } from "../generated";
import { sharingApi } from "../sharing-api";
import { shopShareSection } from "./store-share";

const EXPIRIES: [number, string][] = [
  [1, "1 day"],
  [7, "7 days"],
  [14, "14 days"],
  [30, "30 days"],
  [90, "90 days"],
  [365, "1 year"],
];
const DEFAULT_EXPIRY = 14;
const USES: [string, string][] = [
  ["1", "One person"],
  ["5", "5 people"],
  ["25", "25 people"],
  ["", "Anyone with the link"],
];

/** The "Share" button of the cart page; opens the dialog. */
export function shareButton(app: App, cartId: string, cartName: () => string): HTMLButtonElement {
  const button = h("button", { class: "ghost small", testid: "share-cart", "aria-haspopup": "dialog" }, "Share");
  button.addEventListener("click", () => {
    const dialog = new ShareDialog(app, cartId, cartName());
    dialog.open(() => button.focus());
  });
  return button;
}

function select(testid: string, label: string, options: [string | number, string][], chosen: string | number): HTMLSelectElement {
  return h(
    "select",
    { testid, "aria-label": label },
    options.map(([value, words]) => h("option", { value: String(value), selected: String(value) === String(chosen) }, words)),
  );
}

function roleSelect(testid: string): HTMLSelectElement {
  return select(
    testid,
    "Role",
    [
      ["editor", "Editor — can change the cart"],
      ["viewer", "Viewer — can suggest, vote and chat"],
    ],
    "editor",
  );
}

function until(at: number): string {
  return new Date(at).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

/** How an invitation stands, in words. */
export function invitationStatus(inv: Invitation, now = Date.now()): string {
  switch (inv.status) {
    case "accepted":
      return `Accepted by ${inv.accepted_by?.name ?? "someone"}${inv.accepted_at ? `, ${timeAgo(inv.accepted_at, now)}` : ""}`;
    case "declined":
      return "Declined";
    case "expired":
      return `Expired ${until(inv.expires_at)}`;
    case "revoked":
      return inv.accepted_by ? `Revoked (accepted by ${inv.accepted_by.name})` : "Revoked";
    case "pending": {
      const d = inv.delivery;
      switch (d.status) {
        case "queued":
          return "Pending · sending the e-mail…";
        case "sent":
          return `Pending · e-mail sent · expires ${until(inv.expires_at)}`;
        case "retrying":
          return `Pending · e-mail not delivered yet (${d.last_error ?? "error"}); trying again${d.next_attempt_at ? ` ${new Date(d.next_attempt_at).toLocaleTimeString()}` : ""}`;
        case "failed":
          return `Pending · the e-mail could not be delivered (${d.last_error ?? "error"}). Resend it to try again.`;
        case "cancelled":
          return "Pending";
      }
    }
  }
  return inv.status;
}

function linkStatus(link: ShareLink): string {
  const uses = link.max_uses === null ? `${link.uses} joined` : `${link.uses} of ${link.max_uses} joined`;
  switch (link.status) {
    case "active":
      return `${uses} · until ${until(link.expires_at)}`;
    case "expired":
      return `${uses} · expired`;
    case "revoked":
      return `${uses} · revoked`;
    case "used_up":
      return `${uses} · used up`;
  }
}

class ShareDialog {
  private readonly dialog: HTMLDialogElement;
  private readonly invitations = h("ul", { class: "share-list", testid: "invitations", "aria-label": "Invitations" });
  private readonly links = h("ul", { class: "share-list", testid: "links", "aria-label": "Share links" });
  private readonly created = h("div", { class: "created-link", testid: "created-link", hidden: true });

  constructor(
    private readonly app: App,
    private readonly cartId: string,
    private readonly cartName: string,
  ) {
    this.dialog = h(
      "dialog",
      { class: "share-dialog", testid: "share-dialog", "aria-labelledby": "share-title" },
      h(
        "div",
        { class: "share-head" },
        h("h2", { id: "share-title" }, `Share “${cartName}”`),
        h("button", { class: "ghost small", testid: "share-close", onclick: () => this.dialog.close() }, "Close"),
      ),
      h("section", { "aria-labelledby": "invite-title" }, h("h3", { id: "invite-title" }, "Invite by e-mail"), this.inviteForm(), this.invitations),
      h(
        "section",
        { "aria-labelledby": "link-title" },
        h("h3", { id: "link-title" }, "Share a link"),
        h("p", { class: "muted small" }, "Anyone with the link can join until it expires or its uses run out — paste it in a group chat."),
        this.linkForm(),
        this.created,
        this.links,
      ),
      shopShareSection(app, cartId),
    );
  }

  open(onClose: () => void): void {
    document.body.appendChild(this.dialog);
    this.dialog.addEventListener("close", () => {
      this.dialog.remove();
      onClose();
    });
    this.dialog.showModal();
    void this.refresh();
  }

  private async refresh(): Promise<void> {
    try {
      const [invitations, links] = await Promise.all([sharingApi.invitations(this.cartId), sharingApi.links(this.cartId)]);
      this.drawInvitations(invitations);
      this.drawLinks(links);
    } catch (e) {
      this.app.notify(e instanceof ApiError ? e.message : String(e));
    }
  }

  private inviteForm(): HTMLFormElement {
    const email = h("input", { type: "email", required: true, maxlength: 254, testid: "invite-email", autocomplete: "off", id: "invite-email" });
    const message = h("textarea", { rows: 3, maxlength: 1000, testid: "invite-message", id: "invite-message", placeholder: "A few words for them (optional)" });
    const role = roleSelect("invite-role");
    const expiry = select("invite-expiry", "Expires after", EXPIRIES, DEFAULT_EXPIRY);
    const error = h("p", { class: "form-error", role: "alert", testid: "invite-error", hidden: true });
    const send = h("button", { class: "primary", type: "submit", testid: "invite-send" }, "Send invitation");
    const form = h(
      "form",
      {
        class: "share-form",
        testid: "invite-form",
        onsubmit: async (ev: Event) => {
          ev.preventDefault();
          error.hidden = true;
          send.disabled = true;
          try {
            await sharingApi.invite(this.cartId, {
              email: email.value.trim(),
              message: message.value,
              role: role.value as MemberRole,
              expires_in_days: Number(expiry.value),
            });
            this.app.notify(`Invitation sent to ${email.value.trim()}`, "info");
            email.value = "";
            message.value = "";
            await this.refresh();
          } catch (e) {
            error.textContent = e instanceof ApiError ? e.message : String(e);
            error.hidden = false;
          } finally {
            send.disabled = false;
          }
        },
      },
      h("label", { class: "field", for: "invite-email" }, "E-mail", email),
      h("label", { class: "field", for: "invite-message" }, "Message", message),
      h("div", { class: "share-row" }, h("label", { class: "field" }, "Role", role), h("label", { class: "field" }, "Expires after", expiry)),
      error,
      send,
    );
    return form;
  }

  private linkForm(): HTMLFormElement {
    const role = roleSelect("link-role");
    const expiry = select("link-expiry", "Expires after", EXPIRIES, DEFAULT_EXPIRY);
    const uses = select("link-uses", "Who may use it", USES, "");
    const error = h("p", { class: "form-error", role: "alert", testid: "link-error", hidden: true });
    const create = h("button", { class: "primary", type: "submit", testid: "link-create" }, "Create link");
    return h(
      "form",
      {
        class: "share-form",
        testid: "link-form",
        onsubmit: async (ev: Event) => {
          ev.preventDefault();
          error.hidden = true;
          create.disabled = true;
          try {
            const made = await sharingApi.createLink(this.cartId, {
              role: role.value as MemberRole,
              expires_in_days: Number(expiry.value),
              max_uses: uses.value ? Number(uses.value) : null,
            });
            this.showCreated(made);
            await this.refresh();
          } catch (e) {
            error.textContent = e instanceof ApiError ? e.message : String(e);
            error.hidden = false;
          } finally {
            create.disabled = false;
          }
        },
      },
      h(
        "div",
        { class: "share-row" },
        h("label", { class: "field" }, "Role", role),
        h("label", { class: "field" }, "Expires after", expiry),
        h("label", { class: "field" }, "Who may use it", uses),
      ),
      error,
      create,
    );
  }

  private showCreated(made: CreatedLink): void {
    const url = h("input", { type: "text", readonly: true, value: made.url, testid: "created-link-url", "aria-label": "The new link" });
    const copy = h(
      "button",
      {
        class: "ghost small",
        type: "button",
        testid: "created-link-copy",
        onclick: async () => {
          try {
            await navigator.clipboard.writeText(made.url);
            this.app.notify("Link copied", "info");
          } catch {
            url.select();
          }
        },
      },
      "Copy",
    );
    const shareData = { title: this.cartName, text: `Join my cart “${this.cartName}” on Cartroom`, url: made.url };
    const canShare = typeof navigator.share === "function" && (!navigator.canShare || navigator.canShare(shareData));
    const share = canShare
      ? h(
          "button",
          {
            class: "primary small",
            type: "button",
            testid: "created-link-share",
            onclick: () => navigator.share(shareData).catch(() => undefined),
          },
          "Share…",
        )
      : null;
    mount(
      this.created,
      h("p", { class: "small" }, "Here is your link. It is shown only now: copy or share it."),
      h("div", { class: "share-row" }, url, copy, share),
    );
    this.created.hidden = false;
    url.select();
  }

  private drawInvitations(list: Invitation[]): void {
    if (list.length === 0) {
      mount(this.invitations, h("li", { class: "muted small" }, "No invitations yet."));
      return;
    }
    mount(
      this.invitations,
      list.map((inv) =>
        h(
          "li",
          { "data-key": inv.id, testid: "invitation", "data-status": inv.status, "data-delivery": inv.delivery.status },
          h("div", { class: "share-item" }, h("strong", { testid: "invitation-email" }, inv.email), h("span", { class: `badge role-${inv.role}` }, inv.role)),
          h("div", { class: "small muted", testid: "invitation-status" }, invitationStatus(inv)),
          inv.status === "pending"
            ? h(
                "div",
                { class: "share-actions" },
                h("button", { class: "ghost small", testid: "invitation-resend", onclick: () => this.act(() => sharingApi.resend(this.cartId, inv.id), "E-mail sent again") }, "Resend"),
                h("button", { class: "ghost small", testid: "invitation-revoke", onclick: () => this.act(() => sharingApi.revokeInvitation(this.cartId, inv.id), "Invitation revoked") }, "Revoke"),
              )
            : inv.status === "accepted"
              ? h(
                  "div",
                  { class: "share-actions" },
                  h("button", { class: "ghost small", testid: "invitation-revoke", onclick: () => this.act(() => sharingApi.revokeInvitation(this.cartId, inv.id), "Invitation revoked; the member stays") }, "Revoke"),
                )
              : null,
        ),
      ),
    );
  }

  private drawLinks(list: ShareLink[]): void {
    if (list.length === 0) {
      mount(this.links, h("li", { class: "muted small" }, "No links yet."));
      return;
    }
    mount(
      this.links,
      list.map((link) =>
        h(
          "li",
          { "data-key": link.id, testid: "share-link", "data-status": link.status },
          h("div", { class: "share-item" }, h("strong", null, `Link for ${link.role}s`), h("span", { class: "small muted" }, `by ${link.created_by}`)),
          h("div", { class: "small muted", testid: "share-link-status" }, linkStatus(link)),
          link.status === "active"
            ? h(
                "div",
                { class: "share-actions" },
                h("button", { class: "ghost small", testid: "share-link-revoke", onclick: () => this.act(() => sharingApi.revokeLink(this.cartId, link.id), "Link revoked") }, "Revoke"),
              )
            : null,
        ),
      ),
    );
  }

  private async act(run: () => Promise<unknown>, done: string): Promise<void> {
    try {
      await run();
      this.app.notify(done, "info");
    } catch (e) {
      this.app.notify(e instanceof ApiError ? e.message : String(e));
    }
    await this.refresh();
  }
}
