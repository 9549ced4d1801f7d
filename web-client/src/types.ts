// Shapes of the HTTP API and WebSocket messages (docs/protocol.md).

export type Role = "viewer" | "editor" | "admin";

export interface User {
  id: string;
  email: string | null;
  name: string;
  guest: boolean;
}

export interface Product {
  sku: string;
  name: string;
  price: number;
  currency: string;
  stock: number;
  image_url: string;
  group_buy: { min_quantity: number; price: number } | null;
}

export interface CartSummary {
  id: string;
  name: string;
  role: Role;
  subtotal: number;
  currency: string;
  line_count: number;
}

export interface Member {
  user_id: string;
  name: string;
  email: string | null;
  role: Role;
}

export interface PresenceEntry {
  user_id: string;
  name: string;
  role: Role;
  connections: number;
  status?: string;
}

export interface ActivityEvent {
  seq: number;
  at: number;
  user_id: string;
  user_name: string;
  kind: string;
  text: string;
  subtotal: number;
  currency: string;
}

export type Op =
  | { kind: "add_line"; sku: string; quantity: number }
  | { kind: "change_quantity"; line_id: string; delta: number }
  | { kind: "set_quantity"; line_id: string; quantity: number }
  | { kind: "remove_line"; line_id: string }
  | { kind: "set_line_note"; line_id: string; note: string }
  | { kind: "set_cart_note"; note: string }
  | { kind: "suggest"; sku: string; quantity: number; note?: string }
  | { kind: "vote"; suggestion_id: string; value: -1 | 0 | 1 }
  | { kind: "accept_suggestion"; suggestion_id: string }
  | { kind: "rename"; name: string };

export type ServerMsg =
  | { type: "hello"; protocol: number; conn_id: number; user_id: string; name: string }
  | {
      type: "subscribed";
      cart_id: string;
      role: Role;
      payload: "document" | "changes";
      heads: string[];
      presence: PresenceEntry[];
      activity: ActivityEvent[];
    }
  | { type: "unsubscribed"; cart_id: string; reason: string }
  | { type: "ack"; cart_id: string; op_id: string; heads: string[]; duplicate: boolean }
  | { type: "error"; code: string; message: string; cart_id?: string; op_id?: string }
  | { type: "activity"; cart_id: string; event: ActivityEvent }
  | { type: "presence"; cart_id: string; members: PresenceEntry[] }
  | { type: "chat"; cart_id: string; user_id: string; user_name: string; text: string; at: number }
  | { type: "role_changed"; cart_id: string; role: Role }
  | { type: "pong"; nonce?: number };

/** A cart line as the page shows it (replica plus own pending ops). */
export interface LineView {
  line_id: string;
  sku: string;
  name: string;
  unit_price: number;
  quantity: number;
  note: string;
  added_by: string;
  added_by_name: string;
  added_at: number;
  pending: boolean;
}

export interface SuggestionView {
  suggestion_id: string;
  sku: string;
  name: string;
  unit_price: number;
  quantity: number;
  note: string;
  by: string;
  by_name: string;
  at: number;
  votes: Record<string, number>;
  score: number;
  pending: boolean;
}

export interface CartView {
  name: string;
  note: string;
  currency: string;
  subtotal: number;
  lines: LineView[];
  suggestions: SuggestionView[];
}

export const ROLE_RANK: Record<Role, number> = { viewer: 0, editor: 1, admin: 2 };

export function atLeast(role: Role | undefined, wanted: Role): boolean {
  return role !== undefined && ROLE_RANK[role] >= ROLE_RANK[wanted];
}
