import type { Frame } from './codec';

/** Dead-connection detection: a ping every `interval`, and any frame within `timeout` as the answer. */
export interface HeartbeatOptions {
  /** Time between pings, in ms. @default 25000 */
  interval?: number;
  /** How long to wait for any frame after a ping before the connection counts as dead, in ms. @default 10000 */
  timeout?: number;
  /** The ping frame, or a function that makes one. Sent as is, past the codec. @default 'ping' */
  ping?: Frame | (() => Frame);
  /** The pong frame, or a predicate that recognises one. Pongs are consumed, not dispatched. @default 'pong' */
  pong?: Frame | ((frame: Frame) => boolean);
}

/**
 * Pings on a timer and watches for life. The timer re-arms itself after each ping, so when timers were
 * frozen (a hidden or suspended page) the late tick pings at once instead of trusting the old socket.
 */
export class Heartbeat {
  #o: Required<HeartbeatOptions>;
  #send: (f: Frame) => void;
  #dead: () => void;
  #rtt: (ms: number) => void;
  #tick: ReturnType<typeof setTimeout> | undefined;
  #watch: ReturnType<typeof setTimeout> | undefined;
  #sentAt = 0;

  constructor(o: HeartbeatOptions, send: (f: Frame) => void, dead: () => void, rtt: (ms: number) => void) {
    this.#o = { interval: 25000, timeout: 10000, ping: 'ping', pong: 'pong', ...o };
    this.#send = send;
    this.#dead = dead;
    this.#rtt = rtt;
  }

  /** Starts the ping timer for a freshly opened connection. */
  start(): void {
    this.stop();
    this.#tick = setTimeout(() => this.check(), this.#o.interval);
  }

  /** Pings now and waits for any frame; what the browser calls when the page or the network comes back. */
  check(): void {
    const { ping, timeout } = this.#o;
    clearTimeout(this.#tick);
    this.#tick = setTimeout(() => this.check(), this.#o.interval);
    if (this.#watch === undefined) {
      this.#watch = setTimeout(() => {
        this.stop();
        this.#dead();
      }, timeout);
    }
    this.#sentAt = Date.now();
    this.#send(typeof ping == 'function' ? ping() : ping);
  }

  /** Any frame is a sign of life. Returns true when the frame was a pong, which the client then swallows. */
  seen(frame: Frame): boolean {
    clearTimeout(this.#watch);
    this.#watch = undefined;
    const { pong } = this.#o;
    if (typeof pong == 'function' ? !pong(frame) : frame !== pong) return false;
    if (this.#sentAt) this.#rtt(Date.now() - this.#sentAt);
    this.#sentAt = 0;
    return true;
  }

  stop(): void {
    clearTimeout(this.#tick);
    clearTimeout(this.#watch);
    this.#tick = this.#watch = undefined;
  }
}
