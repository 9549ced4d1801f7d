// The back office's API: the owner's analytics (docs/protocol.md section
// 16), the store's products, orders, API keys (section 14) and webhooks
// (section 15). Every call names its store with `?store=`.
//
// The keys' and webhooks' bodies are typed here from the contract in the
// plan of issue 14, not generated: they are built at the same time as this
// page, and the page shows their errors rather than break.

import { call } from "./api";
import type { AnalyticsResponse, CatalogResponse, OrdersResponse, StoreRoleResponse } from "./generated";

/** An API key as listed; the secret is never shown again. */
export interface ApiKeyView {
  id: string;
  name: string;
  /** The first 12 characters of the secret, e.g. `crk_3f9a1c2b`. */
  prefix: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface CreatedKey {
  key: ApiKeyView;
  /** Shown once. */
  secret: string;
}

export interface WebhookEndpointView {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  disabled_reason: string | null;
  created_at: number;
  failing_since: number | null;
}

export interface CreatedEndpoint {
  endpoint: WebhookEndpointView;
  /** Shown once. */
  secret: string;
}

export interface WebhookDelivery {
  id: string;
  event_id: string;
  event: string;
  attempt: number;
  status: number | null;
  error: string | null;
  at: number;
  duration_ms: number | null;
}

/** The events an endpoint may subscribe to (issue 14). */
export const WEBHOOK_EVENTS = [
  "order.created",
  "order.status_changed",
  "cart.locked",
  "cart.item_added",
  "cart.item_removed",
  "share.accepted",
  "budget.exceeded",
] as const;

const q = (store: string) => `store=${encodeURIComponent(store)}`;

export const backofficeApi = {
  role: (store: string) => call<StoreRoleResponse>("GET", `/api/store/role?${q(store)}`),
  analytics: (store: string, from: string, to: string) =>
    call<AnalyticsResponse>(
      "GET",
      `/api/store/analytics?${q(store)}&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`,
    ),
  products: (store: string) => call<CatalogResponse>("GET", `/api/catalog?${q(store)}`).then((r) => r.products),
  orders: (store: string) => call<OrdersResponse>("GET", `/api/store/orders?${q(store)}`).then((r) => r.orders),

  keys: (store: string) => call<{ keys: ApiKeyView[] }>("GET", `/api/store/keys?${q(store)}`).then((r) => r.keys),
  createKey: (store: string, name: string) => call<CreatedKey>("POST", `/api/store/keys?${q(store)}`, { name }),
  revokeKey: (store: string, id: string) => call<void>("DELETE", `/api/store/keys/${encodeURIComponent(id)}?${q(store)}`),

  webhooks: (store: string) =>
    call<{ endpoints: WebhookEndpointView[] }>("GET", `/api/store/webhooks?${q(store)}`).then((r) => r.endpoints),
  addWebhook: (store: string, url: string, events: string[]) =>
    call<CreatedEndpoint>("POST", `/api/store/webhooks?${q(store)}`, { url, events }),
  setWebhookEnabled: (store: string, id: string, enabled: boolean) =>
    call<WebhookEndpointView>("PATCH", `/api/store/webhooks/${encodeURIComponent(id)}?${q(store)}`, { enabled }),
  deleteWebhook: (store: string, id: string) =>
    call<void>("DELETE", `/api/store/webhooks/${encodeURIComponent(id)}?${q(store)}`),
  deliveries: (store: string, id: string) =>
    call<{ deliveries: WebhookDelivery[] }>(
      "GET",
      `/api/store/webhooks/${encodeURIComponent(id)}/deliveries?${q(store)}`,
    ).then((r) => r.deliveries),
};
