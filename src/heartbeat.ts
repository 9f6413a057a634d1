import { MAX_TIMER, type Rule } from './check';
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

/** Heartbeat options with every default filled in. */
export type HeartbeatConfig = Required<HeartbeatOptions>;

export const heartbeatDefaults: HeartbeatConfig = { interval: 25000, timeout: 10000, ping: 'ping', pong: 'pong' };

export const heartbeatRules: { [k: string]: Rule } = { interval: [1, MAX_TIMER], timeout: [1, MAX_TIMER], ping: [() => true, ''], pong: [() => true, ''] };

/** The heartbeat as the client drives it. */
export interface Heartbeat {
  /** Starts the ping timer for a freshly opened connection. */
  start(): void;
  /** Pings now and waits for any frame; what the client calls when the page or the network comes back. */
  check(): void;
  /** Any frame is a sign of life. Returns true when the frame was a pong, which the client then swallows. */
  seen(frame: unknown): boolean;
  stop(): void;
}

/**
 * Pings on a timer and watches for life. The timer re-arms itself after each ping, so when timers were
 * frozen (a hidden or suspended page) the late tick pings at once instead of trusting the old socket.
 */
export function heartbeat(o: HeartbeatConfig, send: (f: Frame) => void, dead: () => void, rtt: (ms: number) => void): Heartbeat {
  const { interval, timeout, ping, pong } = o;
  let tick: ReturnType<typeof setTimeout> | undefined;
  let watch: ReturnType<typeof setTimeout> | undefined;
  let sentAt = 0;
  const stop = (): void => {
    clearTimeout(tick);
    clearTimeout(watch);
    tick = watch = undefined;
  };
  const check = (): void => {
    clearTimeout(tick);
    tick = setTimeout(check, interval);
    watch ??= setTimeout(() => {
      stop();
      dead();
    }, timeout);
    sentAt = Date.now();
    send(typeof ping == 'function' ? ping() : ping);
  };
  return {
    start() {
      stop();
      tick = setTimeout(check, interval);
    },
    check,
    seen(frame) {
      clearTimeout(watch);
      watch = undefined;
      if (typeof pong == 'function' ? !pong(frame as Frame) : frame !== pong) return false;
      if (sentAt) rtt(Date.now() - sentAt);
      sentAt = 0;
      return true;
    },
    stop,
  };
}
