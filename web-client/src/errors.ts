// Server error codes (docs/protocol.md section 8) in words a shopper understands.

import type { ErrorCode } from "./types";

// Keyed by the generated `ErrorCode`: a new code fails the type check until
// it has words here.
const WORDS: Record<ErrorCode, string> = {
  bad_message: "Something went wrong talking to the server. Please reload the page.",
  invalid_field: "That value isn't allowed here.",
  rate_limited: "You're going a bit fast. Retrying in a moment…",
  unauthorized: "Your session has ended. Please sign in again.",
  forbidden: "Your role in this cart doesn't allow that.",
  cart_not_found: "This cart doesn't exist, or you're not a member of it.",
  not_subscribed: "This cart isn't open any more. Please reload the page.",
  too_many_subscriptions: "Too many carts are open at once.",
  unknown_sku: "That product isn't in the catalog any more.",
  line_not_found: "That item is no longer in the cart — someone may have removed it.",
  suggestion_not_found: "That suggestion was already accepted or withdrawn.",
  quantity_out_of_range: "Quantities must stay between 1 and 999.",
  cart_full: "This cart is full.",
  out_of_stock: "There isn't enough of that product in stock.",
  email_taken: "An account with that e-mail already exists. Try signing in.",
  bad_credentials: "That e-mail and password don't match.",
  user_not_found: "Nobody has an account with that e-mail yet.",
  last_admin: "A cart needs at least one admin.",
  unavailable: "The server is busy right now. Retrying…",
  internal: "Something went wrong on our side. Nothing was changed.",
  not_found: "Something went wrong talking to the server. Please reload the page.",
  method_not_allowed: "Something went wrong talking to the server. Please reload the page.",
  payload_too_large: "That is too much to send at once.",
  too_many: "That is over the limit; remove something first.",
  already_member: "That person is already a member of this cart. Change their role in the list instead.",
  // Sharing (invitations and links); the sharing pages may say more.
  invite_not_found: "That invitation link isn't valid. Ask for a new one.",
  invite_expired: "That invitation has expired. Ask for a new one.",
  invite_revoked: "That invitation was withdrawn by the cart's admin.",
  invite_used_up: "That invitation has already been used.",
  // Group checkout; the checkout pages may say more.
  cart_locked: "The cart is locked for checkout, so items can't change now.",
  over_budget: "That would go over your budget for this cart.",
  wrong_phase: "That step doesn't fit where the checkout is now.",
  approval_required: "This order needs approval first.",
  unassigned_quantity: "Some items aren't shipped to any address yet.",
  price_changed: "Prices changed since you looked. Please check the new total.",
  split_invalid: "That split doesn't add up to the total.",
  order_not_found: "That order doesn't exist, or you can't see it.",
  // The store's staff.
  already_staff: "That person is already on the store's staff.",
  last_owner: "The store needs at least one owner.",
  totp_required: "Enter the code of your authenticator app.",
  totp_invalid: "That code is wrong (or the recovery code was used already).",
  totp_replayed: "That code was just used; wait for the next one.",
  totp_state: "Two-factor sign-in is not in a state that allows this; reload the page.",
  // Stores and the support desk.
  store_not_found: "That store doesn't exist.",
  help_code_invalid: "That help code isn't valid. Ask the shopper to read it again, or for a new one.",
  help_code_expired: "That help code has expired. Ask the shopper for a new one.",
  takeover_in_progress: "Someone from the store is already taking over this cart.",
  takeover_state: "This takeover has already been answered or ended.",
  idempotency_conflict: "This request key was already used for a different request.",
};

export function humanError(code: string | undefined, fallback?: string): string {
  if (code === "invalid_field" && fallback) return sentence(fallback);
  if (code && Object.hasOwn(WORDS, code)) return WORDS[code as ErrorCode];
  return fallback || "Something went wrong. Please try again.";
}

/** Errors after which the same op is worth sending again. */
export function isRetryable(code: string): boolean {
  return code === "rate_limited" || code === "unavailable";
}

/** A server's field message ("a password has 8 to 128 characters") as a sentence. */
function sentence(text: string): string {
  const t = text.trim();
  return `${t.charAt(0).toUpperCase()}${t.slice(1)}${/[.!?]$/.test(t) ? "" : "."}`;
}
