// Who is a member of the cart. Members with `manage_members` add people by
// e-mail with a role, change roles and remove members; everyone else sees
// the list.

import { api, ApiError } from "../api";
import type { App } from "../app";
import { h, keepFocus, mount } from "../dom";
import { hue, initials } from "../format";
import { REACHABLE_EVENT } from "../retry";
import type { Capabilities, Member, MemberRole } from "../types";

// Every `MemberRole`, in the order the selects offer them.
const ROLES = ["viewer", "editor", "admin"] as const satisfies readonly MemberRole[];

export class MembersPanel {
  readonly el = h("section", { class: "card members", testid: "members-panel" });
  private members: Member[] | undefined;
  /** What the server allows the signed-in user here; undefined before the first `show`. */
  private capabilities: Capabilities | undefined;
  private loading = false;
  private readonly looked = new Set<string>();
  private readonly title = h("h2", null, "Members");
  /** Made once, so that a refresh of the list keeps an e-mail being typed. */
  private form: HTMLFormElement | undefined;
  /** The list as drawn, and whether the add form is drawn above it. */
  private list: HTMLElement | undefined;
  private formShown = false;
  /** The member whose removal waits for a "yes". */
  private confirming: string | undefined;
  /** The last load failed for want of a connection: try again when it is back. */
  private stale = false;
  private readonly onReachable = () => {
    if (this.stale) void this.refresh();
  };

  constructor(
    private readonly app: App,
    private readonly cartId: string,
  ) {
    window.addEventListener(REACHABLE_EVENT, this.onReachable);
    window.addEventListener("online", this.onReachable);
  }

  destroy(): void {
    window.removeEventListener(REACHABLE_EVENT, this.onReachable);
    window.removeEventListener("online", this.onReachable);
  }

  /** The members as last loaded (for names elsewhere on the page). */
  known(): Member[] {
    return this.members ?? [];
  }

  /** Draws the panel for these capabilities, loading the list the first time. */
  show(capabilities: Capabilities): void {
    if (capabilities === this.capabilities && this.members) return;
    this.capabilities = capabilities;
    if (!this.visible) {
      mount(this.el);
      this.list = undefined;
      this.el.hidden = true;
      return;
    }
    this.el.hidden = false;
    this.draw();
    void this.refresh();
  }

  /** Reloads the list when someone here is not on it (a new member). */
  noticePresence(userIds: string[]): void {
    if (!this.members || this.loading) return;
    const known = new Set(this.members.map((m) => m.user_id));
    const fresh = userIds.filter((id) => !known.has(id) && !this.looked.has(id));
    if (fresh.length === 0) return;
    // Someone here may not be a member at all (store staff): look once.
    for (const id of fresh) this.looked.add(id);
    void this.refresh();
  }

  private get visible(): boolean {
    return this.capabilities?.has("view") ?? false;
  }

  async refresh(): Promise<void> {
    if (this.loading || !this.visible) return;
    this.loading = true;
    try {
      this.members = await api.members(this.cartId);
      this.stale = false;
    } catch (e) {
      if (e instanceof ApiError && (e.status === 403 || e.status === 404)) this.members = [];
      this.stale = e instanceof ApiError && e.unreachable;
    } finally {
      this.loading = false;
    }
    this.draw();
  }

  private draw(): void {
    keepFocus(this.el, () => this.drawList());
  }

  private drawList(): void {
    const manage = this.capabilities?.has("manage_members") ?? false;
    const list = this.members
      ? h(
          "ul",
          { class: "member-list" },
          this.members.map((m) => this.member(m, manage)),
        )
      : h("p", { class: "muted" }, "Loading members…");
    if (this.list && manage === this.formShown) {
      // Only the list changes: the add form keeps its input and focus.
      this.list.replaceWith(list);
    } else {
      mount(this.el, this.title, manage ? (this.form ??= this.addForm()) : null, list);
      this.formShown = manage;
    }
    this.list = list;
  }

  private member(m: Member, manage: boolean): HTMLElement {
    const me = m.user_id === this.app.me.id;
    const label = h(
      "div",
      { class: "member-main" },
      h("span", { class: "avatar tiny", style: `--h:${hue(m.user_id)}` }, initials(m.name)),
      h(
        "div",
        null,
        h("div", { class: "member-name" }, m.name, me ? h("span", { class: "muted" }, " (you)") : null),
        m.email ? h("div", { class: "muted small" }, m.email) : null,
      ),
    );
    if (!manage) {
      return h(
        "li",
        { class: "member", testid: "member", "data-user-id": m.user_id, "data-key": `member:${m.user_id}` },
        label,
        h("span", { class: `badge role-${m.role}` }, m.role),
      );
    }
    const select = h(
      "select",
      {
        class: "small",
        testid: "member-role-select",
        "aria-label": `Role of ${m.name}`,
        onchange: async () => {
          try {
            await api.setMemberRole(this.cartId, m.user_id, select.value as MemberRole);
            this.app.notify(`${m.name} is now ${select.value}.`, "info");
          } catch (e) {
            select.value = m.role;
            this.app.notify(e instanceof ApiError ? e.message : "Could not change the role.");
          }
          await this.refresh();
        },
      },
      ROLES.map((r) => h("option", { value: r, selected: r === m.role }, r)),
    );
    select.value = m.role;
    const confirming = this.confirming === m.user_id;
    const ask = () => {
      this.confirming = m.user_id;
      this.draw();
      (this.el.querySelector('[data-testid="member-remove-confirm"]') as HTMLElement | null)?.focus();
    };
    const cancel = () => {
      this.confirming = undefined;
      this.draw();
      (this.el.querySelector(`[data-key="member:${m.user_id}"] [data-testid="member-remove"]`) as HTMLElement | null)?.focus();
    };
    const remove = async () => {
      this.confirming = undefined;
      try {
        await api.removeMember(this.cartId, m.user_id);
        this.app.notify(me ? "You left the cart." : `${m.name} was removed.`, "info");
      } catch (e) {
        this.app.notify(e instanceof ApiError ? e.message : "Could not remove the member.");
      }
      await this.refresh();
    };
    return h(
      "li",
      { class: "member", testid: "member", "data-user-id": m.user_id, "data-email": m.email ?? "", "data-key": `member:${m.user_id}` },
      label,
      confirming
        ? h(
            "div",
            { class: "member-confirm", role: "group", "aria-label": me ? "Leave this cart?" : `Remove ${m.name}?` },
            h("span", { class: "small" }, me ? "Leave this cart?" : `Remove ${m.name}?`),
            h("button", { class: "danger small", testid: "member-remove-confirm", onclick: () => void remove() }, me ? "Leave" : "Remove"),
            h("button", { class: "ghost small", testid: "member-remove-cancel", onclick: cancel }, "Cancel"),
          )
        : h(
            "div",
            { class: "member-actions" },
            select,
            h(
              "button",
              {
                class: "icon remove",
                testid: "member-remove",
                title: me ? "Leave this cart" : `Remove ${m.name}`,
                "aria-label": me ? "Leave this cart" : `Remove ${m.name}`,
                onclick: ask,
              },
              "×",
            ),
          ),
    );
  }

  private addForm(): HTMLFormElement {
    const email = h("input", {
      type: "email",
      placeholder: "E-mail address",
      required: true,
      testid: "member-email",
      "aria-label": "E-mail of the person to add",
    });
    const role = h(
      "select",
      { testid: "member-role", "aria-label": "Role" },
      ROLES.map((r) => h("option", { value: r, selected: r === "editor" }, r)),
    );
    role.value = "editor";
    const button = h("button", { type: "submit", class: "primary small", testid: "member-add" }, "Add");
    return h(
      "form",
      {
        class: "add-member",
        onsubmit: async (ev: Event) => {
          ev.preventDefault();
          const address = email.value.trim();
          if (!address) return;
          button.disabled = true;
          try {
            const m = await api.addMember(this.cartId, address, role.value as MemberRole);
            this.app.notify(`${m.name} was added as ${m.role}.`, "info");
            email.value = "";
          } catch (e) {
            this.app.notify(e instanceof ApiError ? e.message : "Could not add that person.");
          } finally {
            button.disabled = false;
          }
          await this.refresh();
        },
      },
      email,
      role,
      button,
    );
  }
}
