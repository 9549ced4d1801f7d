// The back office, `#/backoffice`: for a store's owners, the store's
// analytics with charts, its products with their stock, its orders, its
// API keys and its webhooks. An owner of several stores picks one; anyone
// else reads that the page is for owners.
//
// Readiness, for the browser tests: `[data-testid="backoffice"][data-ready]`
// once the store is chosen and its sections are drawn (each then loads on
// its own, and says so when its API is not on the server).

import "../backoffice.css";
import { api } from "../api";
import { h, mount } from "../dom";
import type { StoreInfo } from "../generated";
import { backofficeApi } from "../backoffice-api";
import { AnalyticsSection } from "./backoffice-analytics";
import { ordersSection, productsSection } from "./backoffice-catalog";
import { keysSection } from "./backoffice-keys";
import { errorText } from "./backoffice-parts";
import { webhooksSection } from "./backoffice-webhooks";

/** The store an owner last looked at, kept on this device. */
const STORE_KEY = "cartroom.backoffice.store";

export class BackofficePage {
  readonly el: HTMLElement;
  private analytics: AnalyticsSection | undefined;
  private sections = h("div", { class: "bo-sections" });

  constructor() {
    this.el = h(
      "section",
      { class: "page bo-page", testid: "backoffice", "aria-labelledby": "bo-title" },
      h("h1", { id: "bo-title" }, "Back office"),
      h("p", { class: "muted" }, "Loading…"),
    );
    void this.start();
  }

  destroy(): void {
    this.analytics?.destroy();
    this.analytics = undefined;
  }

  private async start(): Promise<void> {
    let owned: StoreInfo[];
    try {
      const stores = await api.stores();
      const roles = await Promise.all(stores.map((s) => backofficeApi.role(s.id).catch(() => null)));
      owned = stores.filter((_, i) => roles[i]?.role === "owner");
    } catch (e) {
      mount(this.el, h("h1", { id: "bo-title" }, "Back office"), h("p", { class: "form-error", role: "alert" }, errorText(e, "The back office")));
      return;
    }
    if (owned.length === 0) {
      mount(
        this.el,
        h("h1", { id: "bo-title" }, "Back office"),
        h("p", { testid: "bo-not-owner" }, "The back office is for the store's owners."),
      );
      this.el.setAttribute("data-ready", "");
      return;
    }
    let kept: string | null = null;
    try {
      kept = localStorage.getItem(STORE_KEY);
    } catch {
      /* nothing kept */
    }
    const first = owned.find((s) => s.id === kept) ?? owned[0]!;
    const picker =
      owned.length > 1
        ? h(
            "div",
            { class: "field bo-picker" },
            h("label", { for: "bo-store" }, "Store"),
            h(
              "select",
              {
                id: "bo-store",
                testid: "bo-store",
                onchange: (ev: Event) => this.show(owned.find((s) => s.id === (ev.target as HTMLSelectElement).value) ?? first),
              },
              owned.map((s) => h("option", { value: s.id, selected: s.id === first.id }, s.name)),
            ),
          )
        : null;
    mount(this.el, h("div", { class: "bo-head" }, h("h1", { id: "bo-title" }, "Back office"), picker), this.sections);
    this.show(first);
  }

  private show(store: StoreInfo): void {
    try {
      localStorage.setItem(STORE_KEY, store.id);
    } catch {
      /* not kept */
    }
    this.destroy();
    this.analytics = new AnalyticsSection(store.id, store.time_zone);
    mount(
      this.sections,
      h("p", { class: "muted", testid: "bo-store-name" }, store.name),
      this.analytics.el,
      h("div", { class: "bo-pair" }, productsSection(store.id), ordersSection(store.id)),
      keysSection(store.id),
      webhooksSection(store.id),
    );
    this.el.setAttribute("data-ready", "");
  }
}
