// Back-off for everything the page fetches or connects to: exponential with
// a cap and jitter, and an immediate retry when the browser says the network
// is back (`online`), when the person comes back to the tab (`focus`), or
// when the socket reaches the server again (the `cartroom:reachable` event),
// which is the earliest sign that a restarted server answers.

/** First retry after about this long. */
export const BACKOFF_MIN_MS = 250;
/**
 * Retries never wait longer than this: a restarted server is noticed within
 * about this long even if nothing else says so (the product target is 2 s);
 * the jitter spreads the reconnections of many pages after a restart.
 */
export const BACKOFF_MAX_MS = 2_000;

/** The wait before retry number `attempt` (0-based): in [base/2, base]. */
export function backoff(attempt: number): number {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(attempt, 16));
  return base / 2 + Math.random() * (base / 2);
}

/** Fired on `window` when the live socket has reached the server again. */
export const REACHABLE_EVENT = "cartroom:reachable";
/** Fired on `window` when the server says this user's carts changed (`carts_changed`). */
export const CARTS_CHANGED_EVENT = "cartroom:carts-changed";

/** What to do once: true when done, false to try again later. */
export type Attempt = () => Promise<boolean>;

/**
 * Runs `attempt` until it reports success, backing off between tries and
 * trying again at once when the connection comes back. `again()` asks for a
 * fresh run (a new search, a change elsewhere); `stop()` ends it.
 */
export class Retrier {
  private attempt = 0;
  private timer: number | undefined;
  private running = false;
  private queued = false;
  private done = false;
  private stopped = false;
  /** When the next try is due (ms since epoch), while one is waiting. */
  nextAt: number | undefined;

  /** `refreshOn`: window events that ask for a fresh run, like `again()`. */
  constructor(
    private readonly run: Attempt,
    private readonly refreshOn: string[] = [],
  ) {
    window.addEventListener("online", this.wake);
    window.addEventListener("focus", this.wake);
    window.addEventListener(REACHABLE_EVENT, this.wake);
    for (const type of refreshOn) window.addEventListener(type, this.refresh);
  }

  /** Starts (or restarts) now, whether or not the last run succeeded. */
  again(): void {
    this.done = false;
    this.attempt = 0;
    void this.go();
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.timer);
    window.removeEventListener("online", this.wake);
    window.removeEventListener("focus", this.wake);
    window.removeEventListener(REACHABLE_EVENT, this.wake);
    for (const type of this.refreshOn) window.removeEventListener(type, this.refresh);
  }

  private readonly refresh = () => this.again();

  /** A sign that the connection is back: a failed load tries again now. */
  private readonly wake = () => {
    if (this.done || this.stopped) return;
    this.attempt = 0;
    void this.go();
  };

  private async go(): Promise<void> {
    if (this.stopped) return;
    window.clearTimeout(this.timer);
    this.nextAt = undefined;
    if (this.running) {
      this.queued = true;
      return;
    }
    this.running = true;
    let ok = false;
    try {
      ok = await this.run();
    } catch (e) {
      console.warn("retrying after", e);
    } finally {
      this.running = false;
    }
    if (this.stopped) return;
    if (this.queued) {
      this.queued = false;
      void this.go();
      return;
    }
    if (ok) {
      this.done = true;
      this.attempt = 0;
      return;
    }
    const wait = backoff(this.attempt++);
    this.nextAt = Date.now() + wait;
    this.timer = window.setTimeout(() => void this.go(), wait);
  }
}
