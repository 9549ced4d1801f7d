// Group buy, derived as the server derives it (docs/protocol.md section 6,
// "Group buy"): a line pays its tier's price once its quantity reaches the
// tier, the list price below it. The tier travels with the line in the
// document (`group_buy_min`, `group_buy_price`).

import type { LineGroupBuy } from "./generated";

/** The tier of a line of the document, if it has one (its price not yet applied). */
export function tierOf(line: Record<string, unknown>, listPrice: number): LineGroupBuy | undefined {
  const min = line["group_buy_min"];
  const price = line["group_buy_price"];
  if (min === undefined || min === null || price === undefined || price === null) return undefined;
  return { min_quantity: Number(min), price: Number(price), list_price: listPrice, active: false };
}

/** Sets a line's unit price from its tier and quantity (for the view's totals). */
export function applyTier(line: { unit_price: number; quantity: number; group_buy?: LineGroupBuy }): void {
  const tier = line.group_buy;
  if (!tier) return;
  tier.active = line.quantity >= tier.min_quantity;
  line.unit_price = tier.active ? tier.price : tier.list_price;
}
