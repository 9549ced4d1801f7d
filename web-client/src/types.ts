// The shapes this client speaks. Every wire type (HTTP bodies, WebSocket
// messages, ids, codes) is generated from the Rust protocol crate into
// ./generated (see README, "Types from the protocol"); only the page's own
// view of a cart, with this client's pending ops, is declared here.

import type {
  Capability,
  CartView as WireCartView,
  LineView as WireLineView,
  SuggestionView as WireSuggestionView,
} from "./generated";

export type {
  ActivityEvent,
  Capability,
  CartResponse,
  CartSummary,
  ClientMsg,
  ErrorCode,
  Member,
  MemberRole,
  Op,
  PresenceEntry,
  Product,
  ServerMsg,
  User,
} from "./generated";

/** A cart line as the page shows it: the server's line, maybe not yet confirmed. */
export interface LineView extends WireLineView {
  /** Changed by one of this client's ops the server has not confirmed yet. */
  pending: boolean;
}

/** A suggestion as the page shows it, maybe not yet confirmed. */
export interface SuggestionView extends WireSuggestionView {
  pending: boolean;
}

/** The cart as the page shows it: the server's view shape, with pending ops on top. */
export interface CartView extends Omit<WireCartView, "lines" | "suggestions"> {
  lines: LineView[];
  suggestions: SuggestionView[];
}

/** What the server says the signed-in user may do in one cart. */
export type Capabilities = ReadonlySet<Capability>;
