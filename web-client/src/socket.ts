// The life of the page's one WebSocket, apart from what travels over it:
// connect, tell `network` from `server` trouble, reconnect with jittered
// back-off (src/retry.ts) and at once on `online`, focus or "Retry now",
// drop the socket on `offline`, and an app-level ping that catches dead
// sockets. What the messages mean for the open carts is src/live.ts, which
// extends this class.

import { backoff } from "./retry";
import type { ActivityEvent, ClientMsg, ServerMsg } from "./types";

export type ConnState = "connecting" | "online" | "offline";

/**
 * Why the socket is not open: the device has no network (`network`), or the
 * network is fine and Cartroom does not answer (`server`).
 */
export type DownReason = "network" | "server";

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
const CLOSE_SESSION_ENDED = 4001;

export abstract class LiveSocket {
  state: ConnState = "connecting";
  /** Why the socket is down, while `state` is `offline`. */
  reason: DownReason | undefined;
  /** When the next reconnection attempt is due (ms since epoch), while waiting for one. */
  nextTryAt: number | undefined;

  private ws: WebSocket | undefined;
  private attempt = 0;
  private reconnectTimer: number | undefined;
  private pingTimer: number | undefined;
  private pongTimer: number | undefined;
  private stopped = false;

  constructor(protected readonly events: LiveEvents) {}

  /** A text message from the server (all but `pong`, which the heartbeat takes). */
  protected abstract onMessage(msg: ServerMsg): void;
  /** A binary frame from the server. */
  protected abstract onBinary(frame: Uint8Array): void;
  /** The socket is gone (state is `offline` now): nothing is subscribed any more. */
  protected abstract onDropped(): void;

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
    document.addEventListener("visibilitychange", this.onVisible);
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    window.removeEventListener("offline", this.onOffline);
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("focus", this.onFocus);
    document.removeEventListener("visibilitychange", this.onVisible);
    window.clearTimeout(this.reconnectTimer);
    const ws = this.ws;
    this.dropSocket();
    ws?.close(1000);
  }

  /** Tries to reach the server now (the banner's "Retry now"). */
  retryNow(): void {
    if (this.stopped) return;
    if (this.ws && this.ws.readyState === WebSocket.CONNECTING) return;
    if (this.ws) return;
    this.attempt = 0;
    this.connect();
  }

  protected send(msg: ClientMsg): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  /** The server said `hello`: the socket is up, the back-off starts over. */
  protected greeted(): void {
    this.attempt = 0;
    this.setState("online");
    this.heartbeat();
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
        if (msg.type === "pong") window.clearTimeout(this.pongTimer);
        else this.onMessage(msg);
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
    this.setState("offline");
    this.onDropped();
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
}
