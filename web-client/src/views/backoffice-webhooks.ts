// The back office's webhooks (docs/protocol.md section 15): the store's
// endpoints, a new one (its signing secret shown once), enabling and
// disabling, deleting, and each endpoint's delivery log.

import { h, mount } from "../dom";
import { backofficeApi, WEBHOOK_EVENTS, type WebhookEndpointView } from "../backoffice-api";
import { errorText, scrollTable, secretBox, when } from "./backoffice-parts";

export function webhooksSection(store: string): HTMLElement {
  const list = h("div", { testid: "bo-hooks-list" }, h("p", { class: "muted" }, "Loading…"));
  const fresh = h("div");
  const error = h("p", { class: "form-error", role: "alert", testid: "bo-hooks-error", hidden: true });
  const fail = (e: unknown) => {
    error.textContent = errorText(e, "Webhooks");
    error.hidden = false;
  };
  const act = (work: () => Promise<unknown>) => async () => {
    error.hidden = true;
    try {
      await work();
      await load();
    } catch (e) {
      fail(e);
    }
  };

  const deliveries = async (hook: WebhookEndpointView, into: HTMLElement) => {
    mount(into, h("p", { class: "muted" }, "Loading…"));
    try {
      const log = await backofficeApi.deliveries(store, hook.id);
      mount(
        into,
        log.length === 0
          ? h("p", { class: "muted" }, "Nothing delivered yet.")
          : scrollTable(
              `Deliveries to ${hook.url}`,
              ["Event", "When", "Attempt", "Answer", "Time"],
              log.map((d) => [
                d.event,
                when(d.at),
                d.attempt,
                d.status !== null ? `HTTP ${d.status}` : (d.error ?? "–"),
                d.duration_ms !== null ? `${d.duration_ms} ms` : "–",
              ]),
              "bo-deliveries",
            ),
      );
    } catch (e) {
      mount(into, h("p", { class: "form-error" }, errorText(e, "The delivery log")));
    }
  };

  const item = (hook: WebhookEndpointView) => {
    const log = h("div", { class: "bo-log" });
    const state = hook.enabled
      ? hook.failing_since !== null
        ? `Enabled, failing since ${when(hook.failing_since)}`
        : "Enabled"
      : `Disabled${hook.disabled_reason ? `: ${hook.disabled_reason}` : ""}`;
    return h(
      "li",
      { class: "bo-hook", "data-key": hook.id, testid: "bo-hook" },
      h("p", { class: "bo-hook-url" }, h("strong", null, hook.url)),
      h("p", { class: "muted small" }, `${state} · ${hook.events.join(", ")}`),
      h(
        "div",
        { class: "bo-row" },
        h(
          "button",
          { type: "button", class: "secondary small", onclick: act(() => backofficeApi.setWebhookEnabled(store, hook.id, !hook.enabled)) },
          hook.enabled ? "Disable" : "Enable",
        ),
        h("button", { type: "button", class: "ghost small", onclick: () => void deliveries(hook, log) }, "Delivery log"),
        h(
          "button",
          {
            type: "button",
            class: "danger small",
            "aria-label": `Delete the webhook to ${hook.url}`,
            onclick: async () => {
              if (confirm(`Delete the webhook to ${hook.url}?`)) await act(() => backofficeApi.deleteWebhook(store, hook.id))();
            },
          },
          "Delete",
        ),
      ),
      log,
    );
  };

  const load = async () => {
    try {
      const hooks = await backofficeApi.webhooks(store);
      mount(
        list,
        hooks.length === 0 ? h("p", { class: "muted" }, "No webhooks yet.") : h("ul", { class: "bo-hooks" }, hooks.map(item)),
      );
    } catch (e) {
      mount(list, h("p", { class: "muted", testid: "bo-hooks-unavailable" }, errorText(e, "Webhooks")));
    }
  };

  const url = h("input", { type: "url", id: "bo-hook-url", testid: "bo-hook-url", required: true, placeholder: "https://", autocomplete: "off" });
  const boxes = WEBHOOK_EVENTS.map((event) =>
    h("label", { class: "bo-check" }, h("input", { type: "checkbox", value: event, checked: true }), " ", event),
  );
  const form = h(
    "form",
    {
      testid: "bo-hook-form",
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        error.hidden = true;
        const events = boxes.map((b) => b.querySelector("input")!).filter((i) => i.checked).map((i) => i.value);
        try {
          const created = await backofficeApi.addWebhook(store, url.value.trim(), events);
          url.value = "";
          const box = secretBox(`The signing secret of ${created.endpoint.url}:`, created.secret, "bo-hook-secret");
          mount(fresh, box);
          box.focus();
          await load();
        } catch (e) {
          fail(e);
        }
      },
    },
    h("div", { class: "field" }, h("label", { for: "bo-hook-url" }, "Endpoint URL"), url),
    h("fieldset", { class: "bo-events" }, h("legend", null, "Events"), boxes),
    h("button", { type: "submit", class: "primary", testid: "bo-hook-add" }, "Add webhook"),
  );
  void load();
  return h(
    "section",
    { class: "card bo-section", "aria-labelledby": "bo-hooks-title", testid: "bo-hooks-section" },
    h("h2", { id: "bo-hooks-title" }, "Webhooks"),
    h("p", { class: "muted small" }, "Cartroom tells these addresses about orders and carts, signed with the endpoint's secret."),
    form,
    error,
    fresh,
    list,
  );
}
