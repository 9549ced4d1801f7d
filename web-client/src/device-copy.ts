// What this device keeps of each open cart in localStorage, per user: the
// ops not yet acked, and the last document with its role.

import { A } from "./automerge";
import type { CartLive } from "./cart-live";
import type { PendingOp } from "./replica";
import type { Capability, MemberRole } from "./types";

// Ops not yet acked survive a reload: they are kept per cart in localStorage
// and replayed with the same op_id, which the server answers as a duplicate
// if it had applied them already.
const PENDING_KEY = (owner: string, cartId: string) => `cartroom.pending.${owner}.${cartId}`;

export function loadPending(owner: string, cartId: string): PendingOp[] {
  try {
    const raw = localStorage.getItem(PENDING_KEY(owner, cartId));
    return raw ? (JSON.parse(raw) as PendingOp[]) : [];
  } catch {
    return [];
  }
}

export function savePending(owner: string, cart: CartLive): void {
  try {
    const key = PENDING_KEY(owner, cart.cartId);
    if (cart.replica.pending.length === 0) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(cart.replica.pending));
  } catch {
    /* storage full or disabled: the queue still lives in memory */
  }
}

// The last document and role of each open cart are kept on this device too,
// so that a reload without a server (offline, or the server down) still
// shows the cart and takes edits; the next subscribe sends its heads.
const COPY_KEY = (owner: string, cartId: string) => `cartroom.copy.${owner}.${cartId}`;

interface Copy {
  doc: string;
  role?: MemberRole;
  capabilities: Capability[];
}

export function loadCopy(owner: string, cart: CartLive): void {
  try {
    const raw = localStorage.getItem(COPY_KEY(owner, cart.cartId));
    if (!raw) return;
    const copy = JSON.parse(raw) as Copy;
    const bytes = Uint8Array.from(atob(copy.doc), (c) => c.charCodeAt(0));
    cart.replica.doc = A.load(bytes);
    if (copy.role) cart.grant(copy.role, copy.capabilities);
    cart.loaded = true;
    cart.fromCopy = true;
  } catch {
    /* no usable copy: wait for the server */
  }
}

export function saveCopy(owner: string, cart: CartLive): void {
  const doc = cart.replica.doc;
  if (!doc) return;
  try {
    const bytes = A.save(doc);
    let bin = "";
    for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    const copy: Copy = { doc: btoa(bin), role: cart.role, capabilities: [...cart.capabilities] };
    localStorage.setItem(COPY_KEY(owner, cart.cartId), JSON.stringify(copy));
  } catch {
    /* storage full or disabled: the page still works online */
  }
}

export function forgetCopy(owner: string, cartId: string): void {
  try {
    localStorage.removeItem(COPY_KEY(owner, cartId));
  } catch {
    /* nothing kept */
  }
}

/** Forgets every cart copy kept for `owner` (on signing out). */
export function forgetCopies(owner: string): void {
  try {
    const prefix = `cartroom.copy.${owner}.`;
    for (const key of Object.keys(localStorage)) if (key.startsWith(prefix)) localStorage.removeItem(key);
  } catch {
    /* nothing kept */
  }
}
