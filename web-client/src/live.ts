// The one WebSocket of this page: connects, reconnects with back-off,
// resubscribes with the replica's heads (so only missing changes come), and
// sends ops, keeping the ones not yet acked (with their op_id) to replay.

import { A } from "./automerge";
import { humanError, isRetryable } from "./errors";
import { Replica, type PendingOp } from "./replica";
import { backoff, REACHABLE_EVENT } from "./retry";
import type { ActivityEvent, Capabilities, Capability, ClientMsg, MemberRole, Op, PresenceEntry, ServerMsg } from "./types";

export type ConnState = "connecting" | "online" | "offline";

/**
 * Why the socket is not open: the device has no network (`network`), or the
 * network is fine and Cartroom does not answer (`server`).
 */
export type DownReason = "network" | "server";

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

export interface LiveEvents {
  /** Something in a cart changed: re-render it. */
  change(cartId: string): void;
  /** The connection's state changed. */
  status(state: ConnState): void;
  /** A message for the person at the keyboard. */
  notice(text: string, kind: "error" | "info"): void;
  /** The session is gone (signed out elsewhere, expired). */
  signedOut(): void;
  /** Someone else did something in an open cart (for the screen reader's live region). */
  remote?(cartId: string, event: ActivityEvent): void;
}

const PING_EVERY_MS = 15_000;
const PONG_WAIT_MS = 10_000;
const RETRY_OP_MS = 1_000;
const CLOSE_SESSION_ENDED = 4001;
const MAX_SUBSCRIBE_HEADS = 64;
/** A cart's copy on this device is written this long after its last change. */
const COPY_DELAY_MS = 250;

const clientId = Math.random().toString(36).slice(2, 10);
let opCounter = 0;

export class Live {
  state: ConnState = "connecting";
  /** Why the socket is down, while `state` is `offline`. */
  reason: DownReason | undefined;
  /** When the next reconnection attempt is due (ms since epoch), while waiting for one. */
  nextTryAt: number | undefined;
  userId = "";
  userName = "";
  readonly carts = new Map<string, CartLive>();

  private ws: WebSocket | undefined;
  private attempt = 0;
  private reconnectTimer: number | undefined;
  private pingTimer: number | undefined;
  private pongTimer: number | undefined;
  private stopped = false;

  constructor(
    private readonly events: LiveEvents,
    /** Whose queue this is: pending ops are kept per user and cart. */
    private readonly owner: string,
  ) {}

  private readonly onOffline = () => {
    // The browser knows the network is gone: stop trusting the socket and
    // queue ops until it is back.
    const ws = this.ws;
    this.dropSocket();
    ws?.close();
    this.scheduleReconnect();
  };
  private readonly onOnline = () => this.reconnectNow();
  private readonly onVisible = () => {
    if (document.visibilityState === "visible" && this.state === "offline") this.reconnectNow();
  };
  private readonly onFocus = () => {
    if (this.state === "offline") this.reconnectNow();
  };

  start(): void {
    this.stopped = false;
    window.addEventListener("offline", this.onOffline);
    window.addEventListener("online", this.onOnline);
    window.addEventListener("focus", this.onFocus);
    window.addEventListener("pagehide", this.flushCopies);
    document.addEventListener("visibilitychange", this.onVisible);
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    window.removeEventListener("offline", this.onOffline);
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("focus", this.onFocus);
    window.removeEventListener("pagehide", this.flushCopies);
    document.removeEventListener("visibilitychange", this.onVisible);
    this.flushCopies();
    window.clearTimeout(this.reconnectTimer);
    const ws = this.ws;
    this.dropSocket();
    ws?.close(1000);
  }

  /** Opens a cart: subscribes now if connected, else on connect. */
  open(cartId: string): CartLive {
    let cart = this.carts.get(cartId);
    if (!cart) {
      cart = new CartLive(cartId);
      cart.replica.pending = loadPending(this.owner, cartId);
      loadCopy(this.owner, cart);
      this.carts.set(cartId, cart);
    }
    cart.ended = undefined;
    if (this.state === "online" && !cart.syncing) this.subscribe(cart);
    return cart;
  }

  /** Leaves a cart, unless it still has ops waiting to reach the server. */
  close(cartId: string): void {
    const cart = this.carts.get(cartId);
    if (!cart || cart.replica.pending.length > 0) return;
    this.carts.delete(cartId);
    this.send({ type: "unsubscribe", cart_id: cartId });
  }

  /** Makes an op: shown at once, sent now or replayed after reconnecting. */
  submit(cartId: string, op: Op): string {
    const cart = this.carts.get(cartId) ?? this.open(cartId);
    const op_id = `${clientId}-${Date.now().toString(36)}-${++opCounter}`;
    const pending: PendingOp = { op_id, op, at: Date.now() };
    cart.replica.pending.push(pending);
    savePending(this.owner, cart);
    if (this.state === "online" && cart.loaded && !cart.syncing) this.sendOp(cartId, pending);
    this.events.change(cartId);
    return op_id;
  }

  /** Says what this person is doing in a cart ("typing in chat"); dropped when offline. */
  presence(cartId: string, status: string): void {
    if (this.state !== "online" || !this.carts.get(cartId)?.loaded) return;
    this.send({ type: "presence", cart_id: cartId, ...(status ? { status } : {}) });
  }

  /** Sends a chat line; false when offline (chat is not queued). */
  chat(cartId: string, text: string): boolean {
    if (this.state !== "online" || !this.carts.get(cartId)?.loaded) return false;
    this.send({ type: "chat", cart_id: cartId, text });
    return true;
  }

  private sendOp(cartId: string, p: PendingOp): void {
    this.send({ type: "op", cart_id: cartId, op_id: p.op_id, op: p.op });
  }

  private send(msg: ClientMsg): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  /** Copies waiting to be written, by cart: a burst of changes is saved once. */
  private readonly copyTimers = new Map<string, number>();

  private keepCopy(cart: CartLive): void {
    if (this.copyTimers.has(cart.cartId)) return;
    this.copyTimers.set(
      cart.cartId,
      window.setTimeout(() => {
        this.copyTimers.delete(cart.cartId);
        saveCopy(this.owner, cart);
      }, COPY_DELAY_MS),
    );
  }

  /** Writes every copy still waiting (the page is going away). */
  private readonly flushCopies = () => {
    for (const [cartId, timer] of this.copyTimers) {
      window.clearTimeout(timer);
      const cart = this.carts.get(cartId);
      if (cart) saveCopy(this.owner, cart);
    }
    this.copyTimers.clear();
  };

  /** Tries to reach the server now (the banner's "Retry now"). */
  retryNow(): void {
    if (this.stopped) return;
    if (this.ws && this.ws.readyState === WebSocket.CONNECTING) return;
    if (this.ws) return;
    this.attempt = 0;
    this.connect();
  }

  private setState(s: ConnState): void {
    const reason = s === "offline" ? (navigator.onLine ? "server" : "network") : undefined;
    if (this.state === s && this.reason === reason) return;
    this.state = s;
    this.reason = reason;
    this.events.status(s);
  }

  private connect(): void {
    if (this.stopped) return;
    window.clearTimeout(this.reconnectTimer);
    this.nextTryAt = undefined;
    if (!navigator.onLine) {
      // No network at all: wait for the `online` event (or the next try).
      this.setState("offline");
      this.scheduleReconnect();
      return;
    }
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
    let ws: WebSocket;
    try {
      ws = new WebSocket(url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    let greeted = false;
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      if (typeof ev.data === "string") {
        let msg: ServerMsg;
        try {
          msg = JSON.parse(ev.data) as ServerMsg;
        } catch {
          return;
        }
        if (msg.type === "hello") greeted = true;
        this.onMessage(msg);
      } else {
        this.onBinary(new Uint8Array(ev.data as ArrayBuffer));
      }
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      this.dropSocket();
      if (ev.code === CLOSE_SESSION_ENDED) {
        this.stopped = true;
        this.events.signedOut();
        return;
      }
      if (!greeted) void this.checkSession();
      this.scheduleReconnect();
    };
  }

  /** A handshake refused with 401 looks like any failed connection. */
  private async checkSession(): Promise<void> {
    try {
      const res = await fetch("/api/me", { credentials: "same-origin" });
      if (res.status === 401) {
        this.stop();
        this.events.signedOut();
      }
    } catch {
      /* offline: keep retrying */
    }
  }

  private dropSocket(): void {
    const ws = this.ws;
    this.ws = undefined;
    if (ws) ws.onmessage = ws.onclose = null;
    window.clearInterval(this.pingTimer);
    window.clearTimeout(this.pongTimer);
    for (const cart of this.carts.values()) cart.syncing = false;
    this.setState("offline");
    for (const id of this.carts.keys()) this.events.change(id);
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    window.clearTimeout(this.reconnectTimer);
    // The reason may have changed (the network came back, the server did not).
    if (this.state === "offline") this.setState("offline");
    const delay = backoff(this.attempt++);
    this.nextTryAt = Date.now() + delay;
    this.reconnectTimer = window.setTimeout(() => this.connect(), delay);
    this.events.status(this.state);
  }

  private reconnectNow(): void {
    if (this.stopped || this.ws) return;
    this.attempt = 0;
    this.connect();
  }

  private subscribe(cart: CartLive): void {
    // Over 64 heads the server would refuse; the whole document is the fallback.
    let heads = cart.loaded ? cart.replica.heads() : [];
    if (heads.length > MAX_SUBSCRIBE_HEADS) heads = [];
    cart.syncing = true;
    this.send({ type: "subscribe", cart_id: cart.cartId, ...(heads.length ? { heads } : {}) });
  }

  private heartbeat(): void {
    window.clearInterval(this.pingTimer);
    this.pingTimer = window.setInterval(() => {
      this.send({ type: "ping", nonce: Date.now() });
      window.clearTimeout(this.pongTimer);
      this.pongTimer = window.setTimeout(() => {
        // No answer: the socket is dead even if the browser has not noticed.
        const ws = this.ws;
        this.dropSocket();
        ws?.close();
        this.scheduleReconnect();
      }, PONG_WAIT_MS);
    }, PING_EVERY_MS);
  }

  private onMessage(msg: ServerMsg): void {
    switch (msg.type) {
      case "hello":
        this.userId = msg.user_id;
        this.userName = msg.name;
        this.attempt = 0;
        this.setState("online");
        this.heartbeat();
        for (const cart of this.carts.values()) this.subscribe(cart);
        // Everything else the page fetches may try again at once.
        window.dispatchEvent(new Event(REACHABLE_EVENT));
        return;
      case "pong":
        window.clearTimeout(this.pongTimer);
        return;
      case "subscribed": {
        const cart = this.carts.get(msg.cart_id);
        if (!cart) return;
        cart.grant(msg.role, msg.capabilities);
        cart.presence = msg.presence;
        cart.activity = mergeActivity(cart.activity, msg.activity);
        this.events.change(cart.cartId);
        return;
      }
      case "unsubscribed": {
        const cart = this.carts.get(msg.cart_id);
        if (!cart) return;
        if (msg.reason === "unavailable") {
          window.setTimeout(() => this.carts.has(cart.cartId) && this.subscribe(cart), RETRY_OP_MS);
          return;
        }
        if (msg.reason === "requested") return;
        forgetCopy(this.owner, cart.cartId);
        cart.ended = msg.reason;
        cart.replica.pending = [];
        savePending(this.owner, cart);
        this.carts.delete(cart.cartId);
        this.events.change(cart.cartId);
        return;
      }
      case "ack": {
        const cart = this.carts.get(msg.cart_id);
        if (cart && cart.replica.settle([msg.op_id])) {
          savePending(this.owner, cart);
          this.events.change(cart.cartId);
        }
        return;
      }
      case "error":
        this.onError(msg);
        return;
      case "activity": {
        const cart = this.carts.get(msg.cart_id);
        if (!cart) return;
        cart.activity = mergeActivity(cart.activity, [msg.event]);
        if (msg.event.user_id !== this.userId) this.events.remote?.(cart.cartId, msg.event);
        this.events.change(cart.cartId);
        return;
      }
      case "presence": {
        const cart = this.carts.get(msg.cart_id);
        if (!cart) return;
        // Deltas: each entry replaces that user's; 0 connections means gone.
        const changed = new Map(msg.members.map((m) => [m.user_id, m]));
        const kept = cart.presence.filter((p) => !changed.has(p.user_id));
        const here = msg.members.filter((m) => m.connections > 0);
        cart.presence = [...kept, ...here].sort((a, b) => a.name.localeCompare(b.name));
        this.events.change(cart.cartId);
        return;
      }
      case "role_changed": {
        const cart = this.carts.get(msg.cart_id);
        if (!cart) return;
        cart.grant(msg.role, msg.capabilities);
        saveCopy(this.owner, cart);
        this.events.notice(`Your role in this cart is now ${msg.role}.`, "info");
        this.events.change(cart.cartId);
        return;
      }
      case "chat": {
        // Live chat comes as its own message; the feed's history has the
        // same line as an activity event of kind `chat` (same user and time).
        const cart = this.carts.get(msg.cart_id);
        if (!cart) return;
        const event: ActivityEvent = {
          seq: 0,
          at: msg.at,
          user_id: msg.user_id,
          user_name: msg.user_name,
          kind: "chat",
          text: `${msg.user_name}: ${msg.text}`,
          subtotal: 0,
          currency: "",
        };
        cart.activity = mergeActivity(cart.activity, [event]);
        if (msg.user_id !== this.userId) this.events.remote?.(cart.cartId, event);
        this.events.change(cart.cartId);
        return;
      }
    }
  }

  private onError(msg: Extract<ServerMsg, { type: "error" }>): void {
    const cart = msg.cart_id ? this.carts.get(msg.cart_id) : undefined;
    if (cart && msg.code === "not_subscribed") {
      // The server lost track of this subscription: subscribe again, and
      // the pending ops go out once the replica has caught up.
      if (!cart.syncing) this.subscribe(cart);
      return;
    }
    if (cart && msg.op_id) {
      const p = cart.replica.pending.find((x) => x.op_id === msg.op_id);
      if (!p) return;
      if (isRetryable(msg.code)) {
        window.setTimeout(() => {
          if (this.state === "online" && cart.replica.pending.includes(p)) this.sendOp(cart.cartId, p);
        }, RETRY_OP_MS);
        return;
      }
      cart.replica.settle([msg.op_id]);
      savePending(this.owner, cart);
      this.events.notice(humanError(msg.code, msg.message), "error");
      this.events.change(cart.cartId);
      return;
    }
    if (cart && msg.code === "cart_not_found") {
      forgetCopy(this.owner, cart.cartId);
      cart.ended = "not_found";
      cart.syncing = false;
      cart.replica.pending = [];
      savePending(this.owner, cart);
      this.carts.delete(cart.cartId);
      this.events.change(cart.cartId);
      return;
    }
    if (msg.code === "rate_limited") return;
    this.events.notice(humanError(msg.code, msg.message), "error");
  }

  private onBinary(frame: Uint8Array): void {
    if (frame.length < 17) return;
    const kind = frame[0]!;
    const cartId = uuidFromBytes(frame.subarray(1, 17));
    const cart = this.carts.get(cartId);
    if (!cart) return;
    let seen: string[];
    try {
      seen = cart.replica.apply(kind, frame.subarray(17));
    } catch (e) {
      console.error("cannot apply the server's Automerge bytes", e);
      this.events.notice("This cart could not be loaded. Please reload the page.", "error");
      return;
    }
    if (cart.replica.settle(seen)) savePending(this.owner, cart);
    cart.loaded = true;
    cart.fromCopy = false;
    this.keepCopy(cart);
    if (cart.syncing) {
      // This frame answered our subscribe: the replica is current, so ops
      // made while offline can go now, each with its original op_id.
      cart.syncing = false;
      for (const p of cart.replica.pending) this.sendOp(cart.cartId, p);
    }
    this.events.change(cartId);
  }
}

/** One feed without repeats: events by seq, chat lines by who and when. */
function mergeActivity(have: ActivityEvent[], more: ActivityEvent[], keep = Math.max(100, have.length)): ActivityEvent[] {
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

function uuidFromBytes(b: Uint8Array): string {
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// Ops not yet acked survive a reload: they are kept per cart in localStorage
// and replayed with the same op_id, which the server answers as a duplicate
// if it had applied them already.
const PENDING_KEY = (owner: string, cartId: string) => `cartroom.pending.${owner}.${cartId}`;

function loadPending(owner: string, cartId: string): PendingOp[] {
  try {
    const raw = localStorage.getItem(PENDING_KEY(owner, cartId));
    return raw ? (JSON.parse(raw) as PendingOp[]) : [];
  } catch {
    return [];
  }
}

function savePending(owner: string, cart: CartLive): void {
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

function loadCopy(owner: string, cart: CartLive): void {
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

function saveCopy(owner: string, cart: CartLive): void {
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

function forgetCopy(owner: string, cartId: string): void {
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
