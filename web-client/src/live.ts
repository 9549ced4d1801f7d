// The carts of this page over its one WebSocket (src/socket.ts keeps the
// socket alive): resubscribes with the replica's heads (so only missing
// changes come), sends ops, keeping the ones not yet acked (with their op_id)
// to replay, and applies what the server says about each open cart.
// Subscriptions ask for the `compact` stream when the server has it: one
// kind-3 frame per change (or per burst) carries the change and its activity
// event, instead of a change frame and an `activity` message.
// Each open cart is a `CartLive` (src/cart-live.ts); what the device keeps
// of it across reloads is in src/device-copy.ts.

import { humanError, isRetryable } from "./errors";
import { CartLive, mergeActivity } from "./cart-live";
import { forgetCopy, loadCopy, loadPending, saveCopy, savePending } from "./device-copy";
import { FRAME_CHANGE, FRAME_CHANGES, FRAME_DOCUMENT, readFrame, readRecords } from "./frames";
import type { PendingOp } from "./replica";
import { CARTS_CHANGED_EVENT, REACHABLE_EVENT } from "./retry";
import { LiveSocket, type LiveEvents } from "./socket";
import type { ActivityEvent, Op, ServerMsg } from "./types";

export type { CartLive } from "./cart-live";
export { forgetCopies } from "./device-copy";
export type { ConnState, DownReason, LiveEvents } from "./socket";

const RETRY_OP_MS = 1_000;
const MAX_SUBSCRIBE_HEADS = 64;
/** A cart's copy on this device is written this long after its last change. */
const COPY_DELAY_MS = 250;

const clientId = Math.random().toString(36).slice(2, 10);
let opCounter = 0;

export class Live extends LiveSocket {
  userId = "";
  userName = "";
  /** The server takes `subscribe.stream` (its `hello` lists `streams`). */
  private streams = false;
  readonly carts = new Map<string, CartLive>();
  /** Everyone else who reads the socket's text frames (the support desk: src/support-api.ts). */
  readonly listeners = new Set<(msg: ServerMsg) => void>();

  constructor(
    events: LiveEvents,
    /** Whose queue this is: pending ops are kept per user and cart. */
    private readonly owner: string,
  ) {
    super(events);
  }

  override start(): void {
    window.addEventListener("pagehide", this.flushCopies);
    super.start();
  }

  override stop(): void {
    window.removeEventListener("pagehide", this.flushCopies);
    this.flushCopies();
    super.stop();
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

  protected onDropped(): void {
    for (const cart of this.carts.values()) cart.syncing = false;
    for (const id of this.carts.keys()) this.events.change(id);
  }

  private subscribe(cart: CartLive): void {
    // Over 64 heads the server would refuse; the whole document is the fallback.
    let heads = cart.loaded ? cart.replica.heads() : [];
    if (heads.length > MAX_SUBSCRIBE_HEADS) heads = [];
    cart.syncing = true;
    this.send({
      type: "subscribe",
      cart_id: cart.cartId,
      ...(heads.length ? { heads } : {}),
      ...(this.streams ? { stream: "compact" as const } : {}),
    });
  }

  protected onMessage(msg: ServerMsg): void {
    for (const listen of this.listeners) listen(msg);
    switch (msg.type) {
      case "hello":
        this.userId = msg.user_id;
        this.userName = msg.name;
        this.streams = msg.features.includes("streams");
        this.greeted();
        for (const cart of this.carts.values()) this.subscribe(cart);
        // Everything else the page fetches may try again at once.
        window.dispatchEvent(new Event(REACHABLE_EVENT));
        return;
      case "pong":
        return; // taken by the heartbeat (src/socket.ts)
      case "carts_changed":
        // The lists of carts on the page (my carts, the switcher) load again.
        window.dispatchEvent(new Event(CARTS_CHANGED_EVENT));
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
      case "epoch":
        // The cart's document restarted from its current state: the next
        // binary frame for it is the new document, which replaces the
        // replica (onBinary). Ops not yet acked stay pending.
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

  protected onBinary(bytes: Uint8Array): void {
    const frame = readFrame(bytes);
    const cart = frame && this.carts.get(frame.cartId);
    if (!frame || !cart) return;
    let seen: string[];
    try {
      switch (frame.kind) {
        case FRAME_DOCUMENT:
          // A whole document always replaces the replica (after an `epoch`
          // message it shares no history with the one held).
          cart.replica.load(frame.payload);
          seen = [];
          break;
        case FRAME_CHANGES:
          seen = cart.replica.applyChanges(frame.payload);
          break;
        case FRAME_CHANGE: {
          const records = readRecords(frame.payload);
          seen = cart.replica.applyRecords(records, this.userId);
          const events = records.map((r) => r.activity);
          cart.activity = mergeActivity(cart.activity, events);
          for (const e of events) if (e.user_id !== this.userId) this.events.remote?.(cart.cartId, e);
          break;
        }
        default:
          return;
      }
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
    this.events.change(cart.cartId);
  }
}
