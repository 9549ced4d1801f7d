// One open cart as the page knows it: its replica, this user's role and
// capabilities, presence and the activity feed (merged without repeats).

import { Replica } from "./replica";
import type { ActivityEvent, Capabilities, Capability, MemberRole, PresenceEntry } from "./types";

/** Everything the page knows about one open cart. */
export class CartLive {
  readonly replica: Replica;
  /** Shown as a badge; what the page offers comes from `capabilities`. */
  role: MemberRole | undefined;
  /** What the server says this user may do here (`subscribed`, `role_changed`). */
  capabilities: Capabilities = new Set();
  presence: PresenceEntry[] = [];
  activity: ActivityEvent[] = [];
  /** Set once the server has sent the document at least once. */
  loaded = false;
  /** Why the server ended the subscription, if it did. */
  ended: string | undefined;
  /** True between `subscribe` and the binary frame that answers it. */
  syncing = false;
  /** The document came from this device's copy and the server has not answered yet. */
  fromCopy = false;

  constructor(readonly cartId: string) {
    this.replica = new Replica(cartId);
  }

  /** Whether the server allows this user `capability` in this cart. */
  can(capability: Capability): boolean {
    return this.capabilities.has(capability);
  }

  /** Takes the role and capabilities of `subscribed` or `role_changed`. */
  grant(role: MemberRole, capabilities: Capability[]): void {
    this.role = role;
    // Kept as the same object while unchanged, so views can compare by identity.
    const same = capabilities.length === this.capabilities.size && capabilities.every((c) => this.capabilities.has(c));
    if (!same) this.capabilities = new Set(capabilities);
  }
}

/** One feed without repeats: events by seq, chat lines by who and when. */
export function mergeActivity(have: ActivityEvent[], more: ActivityEvent[], keep = Math.max(100, have.length)): ActivityEvent[] {
  if (appends(have, more)) return have.concat(more).slice(-keep);
  const key = (e: ActivityEvent) => (e.kind === "chat" ? `chat:${e.user_id}:${e.at}` : `seq:${e.seq}`);
  const byKey = new Map(have.map((e) => [key(e), e]));
  for (const e of more) {
    const old = byKey.get(key(e));
    if (!old || e.seq > 0) byKey.set(key(e), e);
  }
  return [...byKey.values()].sort((a, b) => a.at - b.at || a.seq - b.seq).slice(-keep);
}

/** Merges older entries fetched over HTTP into a cart's feed. */
export function mergeOlder(cart: CartLive, older: ActivityEvent[]): void {
  cart.activity = mergeActivity(older, cart.activity, 500);
}

/**
 * Whether `more` (a change's event as it arrives) only extends the feed: new
 * seqs, in order, none earlier than its end. Then merging is a concat.
 */
function appends(have: ActivityEvent[], more: ActivityEvent[]): boolean {
  let last = have.at(-1);
  let maxSeq = 0;
  for (const e of have) maxSeq = Math.max(maxSeq, e.seq);
  for (const e of more) {
    if (e.kind === "chat" || e.seq <= maxSeq || (last && e.at < last.at)) return false;
    maxSeq = e.seq;
    last = e;
  }
  return true;
}
