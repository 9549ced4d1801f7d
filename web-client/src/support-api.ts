// The support desk's API (docs/protocol.md section 13): conversations and
// their messages (tips included, for the staff), the cart panel, takeovers
// and help codes, a cart's history; and the socket frames that keep them
// live (`support_message`, `support_conversation`, `takeover_*`), which
// `onSupportFrame` hands to whoever listens.

import { api, ApiError, call } from "./api";
import { humanError } from "./errors";
import type {
  ConsentRequest,
  Conversation,
  ConversationsResponse,
  ConversationStatus,
  HelpCodeResponse,
  HistoryResponse,
  MessagesResponse,
  OpenConversationRequest,
  OpenTakeoverResponse,
  PanelLinesResponse,
  PanelResponse,
  PostMessageRequest,
  ReadRequest,
  ServerMsg,
  StartTakeoverRequest,
  StatusRequest,
  StoreInfo,
  StoreRoleResponse,
  SupportMessage,
  Takeover,
} from "./generated";
import type { Live } from "./live";

export type {
  Conversation,
  ConversationStatus,
  HelpCodeResponse,
  HistoryChange,
  HistoryResponse,
  MessageKind,
  PanelCart,
  PanelLine,
  PanelStore,
  StockStatus,
  SupportMessage,
  Takeover,
  TakeoverStatus,
} from "./generated";

/** The socket frames of the support desk. */
export type SupportFrame = Extract<
  ServerMsg,
  { type: "support_message" | "support_conversation" | "takeover_requested" | "takeover_started" | "takeover_ended" }
>;

const SUPPORT_FRAMES = new Set(["support_message", "support_conversation", "takeover_requested", "takeover_started", "takeover_ended"]);

/** Calls `listen` with every support frame `live` receives; returns how to stop. */
export function onSupportFrame(live: Live, listen: (frame: SupportFrame) => void): () => void {
  const each = (msg: ServerMsg) => {
    if (SUPPORT_FRAMES.has(msg.type)) listen(msg as SupportFrame);
  };
  live.listeners.add(each);
  return () => live.listeners.delete(each);
}

/** Calls `listen` each time the socket says hello (again): what was missed is to be fetched. */
export function onReconnect(live: Live, listen: () => void): () => void {
  const each = (msg: ServerMsg) => {
    if (msg.type === "hello") listen();
  };
  live.listeners.add(each);
  return () => live.listeners.delete(each);
}

/**
 * Refusals in words: the server's own sentence where the general words
 * would mislead ("this shopper is a guest: ask them for a help code" is
 * not "your role in this cart doesn't allow that").
 */
const explain = (code: string, message: string | undefined): string =>
  (code === "forbidden" || code === "not_found") && message ? `${message.charAt(0).toUpperCase()}${message.slice(1)}.` : humanError(code, message);

const conv = (id: string) => `/api/support/conversations/${encodeURIComponent(id)}`;

export const supportApi = {
  /** The stores the signed-in user works for (an empty list for shoppers), and whether they may take over carts there. */
  myStores: async (): Promise<(StoreInfo & { customer_update: boolean })[]> => {
    let stores: StoreInfo[];
    try {
      stores = (await call<{ stores: StoreInfo[] }>("GET", "/api/stores")).stores;
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 404) throw e;
      stores = [await api.store()];
    }
    const roles = await Promise.all(
      stores.map((s) => call<StoreRoleResponse>("GET", `/api/store/role?store=${encodeURIComponent(s.id)}`)),
    );
    return stores.flatMap((s, i) => (roles[i]!.role ? [{ ...s, customer_update: roles[i]!.customer_update }] : []));
  },
  /** The shopper's conversation with `store`, opened if it is the first time. */
  open: (storeId: string) =>
    call<Conversation>("POST", "/api/support/conversations", { store_id: storeId } satisfies OpenConversationRequest),
  /** The store's conversations, newest first (staff). */
  list: (storeId: string, status?: ConversationStatus) =>
    call<ConversationsResponse>(
      "GET",
      `/api/support/conversations?store=${encodeURIComponent(storeId)}${status ? `&status=${status}` : ""}`,
    ).then((r) => r.conversations),
  get: (id: string) => call<Conversation>("GET", conv(id)),
  /** The messages after `after`, oldest first: page after page (200 each) up to `pages` of them. */
  messages: async (id: string, after = 0, pages = 10): Promise<SupportMessage[]> => {
    const all: SupportMessage[] = [];
    for (let page = 0; page < pages; page++) {
      const r = await call<MessagesResponse>("GET", `${conv(id)}/messages?after=${after}&limit=200`);
      all.push(...r.messages);
      const last = r.messages[r.messages.length - 1];
      if (!r.more || !last) break;
      after = last.seq;
    }
    return all;
  },
  send: (id: string, text: string) => call<SupportMessage>("POST", `${conv(id)}/messages`, { text } satisfies PostMessageRequest),
  read: (id: string, seq: number) => call<void>("POST", `${conv(id)}/read`, { seq } satisfies ReadRequest),
  setStatus: (id: string, status: ConversationStatus) =>
    call<Conversation>("POST", `${conv(id)}/status`, { status } satisfies StatusRequest),

  /** The customer's carts in the agent's stores, two lines each. */
  panel: (id: string) => call<PanelResponse>("GET", `${conv(id)}/carts`).then((r) => r.stores),
  lines: (id: string, cartId: string, offset: number, limit: number) =>
    call<PanelLinesResponse>("GET", `${conv(id)}/carts/${cartId}/lines?offset=${offset}&limit=${limit}`).then((r) => r.lines),

  requestTakeover: (cartId: string) => call<Takeover>("POST", "/api/support/takeovers", { cart_id: cartId } satisfies StartTakeoverRequest, explain),
  takeoverWithCode: (code: string) => call<Takeover>("POST", "/api/support/takeovers", { code } satisfies StartTakeoverRequest, explain),
  consent: (takeoverId: string, accept: boolean) => call<Takeover>("POST", `/api/takeovers/${takeoverId}/consent`, { accept } satisfies ConsentRequest, explain),
  endTakeover: (takeoverId: string) => call<Takeover>("POST", `/api/takeovers/${takeoverId}/end`, undefined, explain),
  helpCode: (cartId: string) => call<HelpCodeResponse>("POST", `/api/carts/${cartId}/help-code`, undefined, explain),
  /** The cart's open takeover (requested or active), if any. */
  openTakeover: (cartId: string) =>
    call<OpenTakeoverResponse>("GET", `/api/carts/${encodeURIComponent(cartId)}/takeover`).then((r) => r.takeover),

  history: (cartId: string, at: number) => call<HistoryResponse>("GET", `/api/carts/${cartId}/history?at=${at}`),
};
