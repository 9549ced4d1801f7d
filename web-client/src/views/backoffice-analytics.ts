// The back office's analytics (docs/protocol.md section 16): a period in
// the store's time zone, the period's figures as tiles, two charts by day
// (chart.js, on canvases that say what they show, with the same numbers in
// a table below each), shared and single-person carts side by side, and the
// share links of the period.

import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from "chart.js";
import { h, mount } from "../dom";
import { money } from "../format";
import type { AnalyticsResponse, Segment } from "../generated";
import { backofficeApi } from "../backoffice-api";
import { errorText, scrollTable } from "./backoffice-parts";

Chart.register(BarController, BarElement, LineController, LineElement, PointElement, CategoryScale, LinearScale, Legend, Tooltip);

/** How many days the page shows at first, today included. */
const DEFAULT_DAYS = 30;
/** The server's bound on a period (protocol::analytics::MAX_PERIOD_DAYS). */
const MAX_DAYS = 366;

/** Today's date (`YYYY-MM-DD`) in `timeZone`, moved by `days`. */
export function localDate(timeZone: string, days = 0, now = Date.now()): string {
  let zone = timeZone;
  try {
    new Intl.DateTimeFormat("en-CA", { timeZone: zone });
  } catch {
    zone = "UTC";
  }
  // en-CA writes dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(
    new Date(now + days * 86_400_000),
  );
}

/** Minor units per major unit of `currency` (100 for USD, 1 for JPY). */
function minorPerUnit(currency: string): number {
  try {
    return 10 ** (new Intl.NumberFormat(undefined, { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2);
  } catch {
    return 100;
  }
}

/** A Unix ms as a date in the store's time zone. */
function storeDate(at: number, timeZone: string): string {
  try {
    return new Date(at).toLocaleDateString(undefined, { timeZone });
  } catch {
    return new Date(at).toLocaleDateString();
  }
}

const percent = (r: number | null) => (r === null ? "–" : `${Math.round(r * 1000) / 10}%`);
const amount = (minor: number | null, currency: string) => (minor === null ? "–" : money(minor, currency));

/** The analytics section of one store; `destroy()` lets its charts go. */
export class AnalyticsSection {
  readonly el: HTMLElement;
  private charts: Chart[] = [];
  private body = h("div", { testid: "bo-analytics-body" });
  private from: HTMLInputElement;
  private to: HTMLInputElement;

  constructor(
    private store: string,
    timeZone: string,
  ) {
    this.from = h("input", { type: "date", id: "bo-from", testid: "bo-from", required: true, value: localDate(timeZone, 1 - DEFAULT_DAYS) });
    this.to = h("input", { type: "date", id: "bo-to", testid: "bo-to", required: true, value: localDate(timeZone) });
    const form = h(
      "form",
      {
        class: "bo-period",
        testid: "bo-period",
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          void this.load();
        },
      },
      h("div", { class: "field" }, h("label", { for: "bo-from" }, "From"), this.from),
      h("div", { class: "field" }, h("label", { for: "bo-to" }, "To"), this.to),
      h("button", { type: "submit", class: "primary", testid: "bo-period-show" }, "Show"),
    );
    this.el = h(
      "section",
      { class: "card bo-section", "aria-labelledby": "bo-analytics-title", testid: "bo-analytics" },
      h("h2", { id: "bo-analytics-title" }, "Analytics"),
      h("p", { class: "muted small" }, `Days in the store's time zone (${timeZone}), at most ${MAX_DAYS} at a time.`),
      form,
      this.body,
    );
    void this.load();
  }

  destroy(): void {
    for (const chart of this.charts) chart.destroy();
    this.charts = [];
  }

  private async load(): Promise<void> {
    mount(this.body, h("p", { class: "muted" }, "Loading…"));
    try {
      const report = await backofficeApi.analytics(this.store, this.from.value, this.to.value);
      this.draw(report);
    } catch (e) {
      this.destroy();
      mount(this.body, h("p", { class: "form-error", role: "alert", testid: "bo-analytics-error" }, errorText(e, "Analytics")));
    }
  }

  private draw(r: AnalyticsResponse): void {
    this.destroy();
    const t = r.totals;
    const tile = (label: string, value: string, testid: string) =>
      h("div", { class: "bo-tile" }, h("dt", null, label), h("dd", { testid }, value));
    const figures = h(
      "dl",
      { class: "bo-tiles", testid: "bo-figures" },
      tile("Carts created", String(t.carts), "bo-fig-carts"),
      tile("Shared carts", percent(r.rates.shared_rate), "bo-fig-shared"),
      tile("Collaborative carts", percent(r.rates.collaboration_rate), "bo-fig-collab"),
      tile("Conversion", percent(r.rates.conversion), "bo-fig-conversion"),
      tile("Average order", amount(r.rates.average_order_value, r.currency), "bo-fig-aov"),
      tile("Edits per member", r.rates.edits_per_member === null ? "–" : r.rates.edits_per_member.toFixed(1), "bo-fig-edits"),
      tile("Invitations sent / accepted", `${t.invitations_sent} / ${t.invitations_accepted}`, "bo-fig-invitations"),
      tile("Link opens / joins", `${t.link_opens} / ${t.link_joins}`, "bo-fig-links"),
    );
    const dates = r.days.map((d) => d.date.slice(5));
    const cartsCanvas = h("canvas", {
      role: "img",
      "aria-label": `Carts created each day from ${r.from} to ${r.to}: shared and single-person carts, and carts ordered. The table below has the numbers.`,
      testid: "bo-chart-carts",
    });
    const valueCanvas = h("canvas", {
      role: "img",
      "aria-label": `Order value each day from ${r.from} to ${r.to}, in ${r.currency}. The table below has the numbers.`,
      testid: "bo-chart-value",
    });
    mount(
      this.body,
      figures,
      h("h3", null, "Carts by day"),
      h("div", { class: "bo-chart" }, cartsCanvas),
      h("h3", null, "Order value by day"),
      h("div", { class: "bo-chart" }, valueCanvas),
      h("details", { class: "bo-details" }, h("summary", null, "The numbers by day"), this.dayTable(r)),
      h("h3", null, "Shared and single-person carts"),
      this.segments(r),
      h("h3", null, "Share links"),
      this.links(r),
    );
    const styles = getComputedStyle(document.documentElement);
    const accent = styles.getPropertyValue("--accent").trim() || "#0f766e";
    this.charts.push(
      new Chart(cartsCanvas, {
        type: "bar",
        data: {
          labels: dates,
          datasets: [
            { label: "Shared", data: r.days.map((d) => d.shared_carts), backgroundColor: accent, stack: "carts" },
            { label: "Single-person", data: r.days.map((d) => d.carts - d.shared_carts), backgroundColor: "#9aa5b1", stack: "carts" },
            { type: "line", label: "Ordered", data: r.days.map((d) => d.ordered_carts), borderColor: "#b45309", backgroundColor: "#b45309" },
          ],
        },
        options: { responsive: true, maintainAspectRatio: false, animation: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
      }),
      new Chart(valueCanvas, {
        type: "bar",
        data: {
          labels: dates,
          datasets: [{ label: `Order value (${r.currency})`, data: r.days.map((d) => d.order_value / minorPerUnit(r.currency)), backgroundColor: accent }],
        },
        options: { responsive: true, maintainAspectRatio: false, animation: false, scales: { y: { beginAtZero: true } } },
      }),
    );
  }

  private dayTable(r: AnalyticsResponse): HTMLElement {
    const head = ["Day", "Carts", "Shared", "Collaborative", "Ordered", "Order value", "Edits", "Invitations", "Link opens", "Link joins"];
    return scrollTable(
      "Analytics by day",
      head,
      r.days.map((d) => [
        d.date,
        d.carts,
        d.shared_carts,
        d.collaborative_carts,
        d.ordered_carts,
        money(d.order_value, r.currency),
        d.edits,
        `${d.invitations_sent} / ${d.invitations_accepted}`,
        d.link_opens,
        d.link_joins,
      ]),
      "bo-days",
    );
  }

  private segments(r: AnalyticsResponse): HTMLElement {
    const row = (name: string, s: Segment) => [name, s.carts, s.ordered_carts, percent(s.conversion), amount(s.average_order_value, r.currency)];
    return scrollTable(
      "Shared and single-person carts",
      ["Carts", "Created", "Ordered", "Conversion", "Average order"],
      [row("Shared (2+ members)", r.segments.shared), row("Single-person", r.segments.single)],
      "bo-segments",
    );
  }

  private links(r: AnalyticsResponse): HTMLElement {
    if (r.links.length === 0) return h("p", { class: "muted", testid: "bo-links-empty" }, "No share link was made in this period.");
    const more = r.links_total > r.links.length ? h("p", { class: "muted small" }, `The newest ${r.links.length} of ${r.links_total}.`) : null;
    return h(
      "div",
      null,
      scrollTable(
        "Share links of the period",
        ["Cart", "Made", "Opens", "Joins", "Orders"],
        r.links.map((l) => [l.cart_name, storeDate(l.created_at, r.time_zone), l.opens, l.joins, l.orders]),
        "bo-links",
      ),
      more,
    );
  }
}
