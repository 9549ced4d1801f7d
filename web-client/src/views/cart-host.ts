// What the cards of a cart page (lines, catalog, suggestions, activity) need
// from the page that holds them.

import type { App } from "../app";
import type { CartLive } from "../cart-live";
import type { Capability, CartView, Op } from "../types";

export interface CartHost {
  readonly app: App;
  readonly cart: CartLive;
  readonly cartId: string;
  /** What the server allows here; every control asks this, never the role. */
  can(capability: Capability): boolean;
  /** The cart as it shows now: the replica plus this page's pending ops. */
  view(): CartView;
  /** Makes an edit; it can be undone unless `undoable` is false (an undo itself). */
  submit(op: Op, undoable?: boolean): void;
  /** Draws the whole page again (keeping the focus). */
  render(): void;
}
