import { MAX_TIMER, type Rule } from './check';
import type { Frame } from './codec';

/**
 * Dead-connection detection. The rule, chosen so that it cannot break or loop a server that knows nothing of it:
 * - the first ping goes out as soon as the connection opens (so `rtt` is known at once), then one every `interval`;
 * - the default ping is `["ping"]`, valid JSON in the default codec's own format, so a server that only parses
 *   JSON never throws on it; its answer is `["pong"]` (a bare-text server's chat line `pong` is not one);
 * - any frame counts as a sign of life; the ping itself coming back (an echo server) is swallowed, never
 *   dispatched, and is not an answer;
 * - a connection is declared dead (closed with 4000 and replaced) when nothing arrives within `timeout` after a
 *   ping, but only once this client has seen a pong: a server that never answers is never declared dead, so it
 *   cannot cause a reconnect loop. Against a server that answers, half-open connections are found as before.
 */
export interface HeartbeatOptions {
  /** Time between pings, in ms. @default 25000 */
  interval?: number;
  /** How long to wait for any frame after a ping before the connection counts as dead, in ms. @default 10000 */
  timeout?: number;
  /** The ping frame, or a function that makes one. Sent as is, past the codec. @default '["ping"]' */
  ping?: Frame | (() => Frame);
  /** The pong frame, or a predicate that recognises one. Pongs are consumed, not dispatched. @default '["pong"]' */
  pong?: Frame | ((frame: Frame) => boolean);
}

/** Heartbeat options with every default filled in. */
export type HeartbeatConfig = Required<HeartbeatOptions>;

export const heartbeatDefaults: HeartbeatConfig = {
  interval: 25000,
  timeout: 10000,
  ping: '["ping"]',
  pong: '["pong"]',
};

export const heartbeatRules: { [k: string]: Rule } = { interval: [1, MAX_TIMER], timeout: [1, MAX_TIMER], ping: [() => true, ''], pong: [() => true, ''] };

/**
 * The heartbeat as the client drives it, a tuple (names in an object would survive minification):
 * - `check()` pings now and then on the timer, and waits for any frame: for a freshly opened connection (the
 *   client stops the heartbeat whenever a connection ends), and when the page or the network comes back;
 * - `seen(frame)`: any frame is a sign of life; true when the frame was a pong or the ping's echo, which the
 *   client then swallows;
 * - `stop()`.
 */
export type Heartbeat = [check: () => void, seen: (frame: unknown) => boolean, stop: () => void];

/**
 * Pings on a timer and watches for life. The timer re-arms itself after each ping, so when timers were
 * frozen (a hidden or suspended page) the late tick pings at once instead of trusting the old socket.
 */
export function heartbeat(o: HeartbeatConfig, send: (f: Frame) => void, dead: (timeout: number) => void, rtt: (ms: number) => void): Heartbeat {
  const { interval, timeout, ping, pong } = o;
  let tick: ReturnType<typeof setTimeout> | undefined;
  let watch: ReturnType<typeof setTimeout> | undefined;
  let sentAt = 0;
  let last: Frame | undefined;
  // Set by the first pong: from then on this client knows its server answers, and silence means death.
  let answers = false;
  const stop = (): void => {
    clearTimeout(tick);
    clearTimeout(watch);
    watch = undefined;
  };
  const check = (): void => {
    clearTimeout(tick);
    tick = setTimeout(check, interval);
    if (answers)
      watch ??= setTimeout(() => {
        stop();
        dead(timeout);
      }, timeout);
    sentAt = Date.now();
    send((last = typeof ping == 'function' ? ping() : ping));
  };
  return [
    check,
    (frame) => {
      clearTimeout(watch);
      watch = undefined;
      if (frame === last) return true;
      if (typeof pong == 'function' ? !pong(frame as Frame) : frame !== pong) return false;
      answers = true;
      if (sentAt) rtt(Date.now() - sentAt);
      sentAt = 0;
      return true;
    },
    stop,
  ];
}
