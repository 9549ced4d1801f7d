// The back office's API keys (docs/protocol.md section 14): the store's
// keys, a new one (its secret shown once, with a copy button), revoking.

import { h, mount } from "../dom";
import { backofficeApi, type ApiKeyView } from "../backoffice-api";
import { errorText, scrollTable, secretBox, when } from "./backoffice-parts";

export function keysSection(store: string): HTMLElement {
  const list = h("div", { testid: "bo-keys-list" }, h("p", { class: "muted" }, "Loading…"));
  const fresh = h("div", { testid: "bo-key-fresh" });
  const error = h("p", { class: "form-error", role: "alert", testid: "bo-keys-error", hidden: true });
  const name = h("input", { type: "text", id: "bo-key-name", testid: "bo-key-name", required: true, maxlength: 100, autocomplete: "off" });
  const fail = (e: unknown) => {
    error.textContent = errorText(e, "API keys");
    error.hidden = false;
  };

  const draw = (keys: ApiKeyView[]) => {
    if (keys.length === 0) {
      mount(list, h("p", { class: "muted", testid: "bo-keys-empty" }, "No keys yet."));
      return;
    }
    mount(
      list,
      scrollTable(
        "The store's keys",
        ["Name", "Key", "Made", "Last used", "State"],
        keys.map((k) => [
          k.name,
          h("code", null, `${k.prefix}…`),
          when(k.created_at),
          when(k.last_used_at),
          k.revoked_at !== null
            ? h("span", { class: "muted", testid: "bo-key-revoked" }, `Revoked ${when(k.revoked_at)}`)
            : h(
                "button",
                {
                  type: "button",
                  class: "danger small",
                  testid: "bo-key-revoke",
                  "aria-label": `Revoke the key ${k.name}`,
                  onclick: async () => {
                    if (!confirm(`Revoke the key "${k.name}"? Programs using it stop working at once.`)) return;
                    error.hidden = true;
                    try {
                      await backofficeApi.revokeKey(store, k.id);
                      mount(fresh);
                      await load();
                    } catch (e) {
                      fail(e);
                    }
                  },
                },
                "Revoke",
              ),
        ]),
        "bo-keys",
      ),
    );
  };

  const load = async () => {
    try {
      draw(await backofficeApi.keys(store));
    } catch (e) {
      mount(list, h("p", { class: "muted", testid: "bo-keys-unavailable" }, errorText(e, "API keys")));
    }
  };

  const form = h(
    "form",
    {
      class: "bo-row",
      testid: "bo-key-form",
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        error.hidden = true;
        try {
          const created = await backofficeApi.createKey(store, name.value.trim());
          name.value = "";
          const box = secretBox(`The key "${created.key.name}":`, created.secret, "bo-key-secret");
          mount(fresh, box);
          box.focus();
          await load();
        } catch (e) {
          fail(e);
        }
      },
    },
    h("div", { class: "field grow" }, h("label", { for: "bo-key-name" }, "New key's name"), name),
    h("button", { type: "submit", class: "primary", testid: "bo-key-create" }, "Create key"),
  );
  void load();
  return h(
    "section",
    { class: "card bo-section", "aria-labelledby": "bo-keys-title", testid: "bo-keys-section" },
    h("h2", { id: "bo-keys-title" }, "API keys"),
    h("p", { class: "muted small" }, "Your inventory system uses a key to sync the catalog, stock, customers and orders."),
    form,
    error,
    fresh,
    list,
  );
}
