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
// Saving the whole document costs milliseconds, too much to pay for every
// burst of changes, so it is saved whole once (under COPY_KEY) and the
// changes received since go as they came into one key per burst (CHUNK_KEY
// 0, 1, ...: writing a key copies all of its value), until MAX_CHUNKS or
// MAX_CHUNK_BYTES call for a whole save again.
const COPY_KEY = (owner: string, cartId: string) => `cartroom.copy.${owner}.${cartId}`;
const CHUNK_KEY = (owner: string, cartId: string, i: number) => `cartroom.copy.${owner}.${cartId}.${i}`;
const MAX_CHUNKS = 200;
const MAX_CHUNK_BYTES = 256 * 1024;

interface Copy {
  doc: string;
  role?: MemberRole;
  capabilities: Capability[];
}

/** What this page last wrote of a cart, by COPY_KEY. */
interface Written {
  /** The Automerge backend the whole save was taken from: a document loaded anew has another. */
  backend: unknown;
  /** Role and capabilities as written, to tell when they change. */
  grant: string;
  /** Chunks written since, and their bytes. */
  chunks: number;
  chunkBytes: number;
}
const written = new Map<string, Written>();

export function loadCopy(owner: string, cart: CartLive): void {
  try {
    const raw = localStorage.getItem(COPY_KEY(owner, cart.cartId));
    if (!raw) return;
    const copy = JSON.parse(raw) as Copy;
    cart.replica.load(fromBase64(copy.doc));
    for (let i = 0; ; i++) {
      const chunk = localStorage.getItem(CHUNK_KEY(owner, cart.cartId, i));
      if (chunk === null) break;
      cart.replica.applyChanges(fromBase64(chunk));
    }
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
  const key = COPY_KEY(owner, cart.cartId);
  const grant = JSON.stringify([cart.role, [...cart.capabilities]]);
  const changes = cart.replica.takeUnsaved();
  try {
    const last = written.get(key);
    if (last && last.backend === A.getBackend(doc) && last.grant === grant && last.chunks < MAX_CHUNKS && last.chunkBytes < MAX_CHUNK_BYTES) {
      if (changes.length === 0) return;
      const bytes = concat(changes);
      localStorage.setItem(CHUNK_KEY(owner, cart.cartId, last.chunks), toBase64(bytes));
      last.chunks += 1;
      last.chunkBytes += bytes.length;
      return;
    }
    // Chunks go first: a copy cut short here is an older copy, not a mix.
    removeChunks(owner, cart.cartId);
    const copy: Copy = { doc: toBase64(A.save(doc)), role: cart.role, capabilities: [...cart.capabilities] };
    localStorage.setItem(key, JSON.stringify(copy));
    written.set(key, { backend: A.getBackend(doc), grant, chunks: 0, chunkBytes: 0 });
  } catch {
    // Storage full or disabled: the page still works online. The next
    // save is a whole one, so no chunk is missing from what is kept.
    written.delete(key);
  }
}

function removeChunks(owner: string, cartId: string): void {
  for (let i = 0; localStorage.getItem(CHUNK_KEY(owner, cartId, i)) !== null; i++) localStorage.removeItem(CHUNK_KEY(owner, cartId, i));
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function toBase64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

export function forgetCopy(owner: string, cartId: string): void {
  written.delete(COPY_KEY(owner, cartId));
  try {
    removeChunks(owner, cartId);
    localStorage.removeItem(COPY_KEY(owner, cartId));
  } catch {
    /* nothing kept */
  }
}

/** Forgets every cart copy kept for `owner` (on signing out). */
export function forgetCopies(owner: string): void {
  try {
    const prefix = `cartroom.copy.${owner}.`;
    for (const key of written.keys()) if (key.startsWith(prefix)) written.delete(key);
    // The prefix covers the chunks (CHUNK_KEY) too.
    for (const key of Object.keys(localStorage)) if (key.startsWith(prefix)) localStorage.removeItem(key);
  } catch {
    /* nothing kept */
  }
}
