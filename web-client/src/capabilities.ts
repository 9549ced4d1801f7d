// What a role allows, in words, for the role badge's tooltip. The page
// decides nothing from these: the server's list of capabilities does.

import type { Capabilities, Capability } from "./types";

// Keyed by the generated `Capability`: a new one fails the type check until
// it is described here.
const CAPABILITY_WORDS: Record<Capability, string> = {
  view: "see the cart",
  suggest: "suggest items",
  vote: "vote",
  chat: "chat",
  edit_lines: "add, change and remove items",
  accept_suggestion: "accept suggestions",
  rename: "rename the cart",
  manage_members: "manage its members",
  delete_cart: "delete it",
  checkout: "check out",
  approve: "approve orders",
};

/** The role badge's tooltip: what the server says this user may do. */
export function capabilityHelp(capabilities: Capabilities): string {
  const words = [...capabilities].map((c) => CAPABILITY_WORDS[c]);
  if (words.length === 0) return "";
  const last = words.pop()!;
  return `You can ${words.length ? `${words.join(", ")} and ${last}` : last}.`;
}
