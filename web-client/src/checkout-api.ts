// The checkout and order calls of the HTTP API (docs/protocol.md section
// 12). Refusals keep the server's own words: they say what is left of a
// budget, which lines are short, what the new total is.

import { ApiError, unreachableError } from "./api";
import type {
  CheckoutQuote,
  ErrorBody,
  OrderStatus,
  OrdersResponse,
  OrderStatusRequest,
  OrderView,
  PlaceOrderRequest,
} from "./generated";

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw unreachableError();
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const err = (json as Partial<ErrorBody> | undefined)?.error;
    throw new ApiError(res.status, err?.code ?? "internal", err?.message ?? `HTTP ${res.status}`);
  }
  return json as T;
}

export const checkoutApi = {
  quote: (cartId: string) => call<CheckoutQuote>("GET", `/api/carts/${cartId}/checkout`),
  placeOrder: (cartId: string, expected_total: number) =>
    call<OrderView>("POST", `/api/carts/${cartId}/order`, { expected_total } satisfies PlaceOrderRequest),
  cartOrders: (cartId: string) => call<OrdersResponse>("GET", `/api/carts/${cartId}/orders`).then((r) => r.orders),
  order: (orderId: string) => call<OrderView>("GET", `/api/orders/${orderId}`),
  setStatus: (orderId: string, status: OrderStatus) =>
    call<OrderView>("POST", `/api/orders/${orderId}/status`, { status } satisfies OrderStatusRequest),
  markPaid: (orderId: string, userId: string) => call<OrderView>("POST", `/api/orders/${orderId}/shares/${userId}/paid`),
};
