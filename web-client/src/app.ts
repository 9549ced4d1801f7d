// What every screen can reach: who is signed in, the live connection, the
// catalog cache, notices, navigation.

import type { Live } from "./live";
import type { Product, User } from "./types";

export interface App {
  me: User;
  live: Live;
  /** Products seen so far, by sku: names and prices for optimistic lines. */
  products: Map<string, Product>;
  currency: string;
  /** A notice on screen, also said through the live region. */
  notify(text: string, kind?: "error" | "info"): void;
  /** Says `text` through the page's one polite live region, without a notice. */
  announce(text: string): void;
  go(hash: string): void;
  signOut(): Promise<void>;
}
