// The checkout and order calls of the HTTP API (docs/protocol.md section
// 12). Refusals keep the server's own words: they say what is left of a
// budget, which lines are short, what the new total is.

import { call as apiCall, type Explain } from "./api";
import { humanError } from "./errors";
import type {
  CheckoutQuote,
  OrderStatus,
  OrdersResponse,
  OrderStatusRequest,
  OrderView,
  PlaceOrderRequest,
} from "./generated";

/** The server's own words: they carry the amounts and lines a refusal is about. */
const serverWords: Explain = (code, message) => message ?? humanError(code);

function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  return apiCall<T>(method, path, body, serverWords);
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
