import { OptionError } from './errors';
import { check, has, isObj, MAX_TIMER, type Rule } from './check';
import type { Codec } from './codec';
import { heartbeatDefaults, heartbeatRules, type HeartbeatConfig, type HeartbeatOptions } from './heartbeat';
import { queueDefaults, queueRules, type QueueConfig, type QueueOptions } from './outbox';
import type { Transport, WebSocketConstructor } from './transport';
import type { BackoffOptions } from './backoff';
import type { Reliable } from './reliable';

/** A value, or a function (sync or async) that returns it; functions run before every connection attempt. */
export type Provider<T> = T | (() => T | Promise<T>);

/** How a socket closed, as `shouldReconnect` sees it. */
export interface CloseEventInfo {
  code: number;
  reason: string;
}

/** Reconnection policy. */
export interface ReconnectOptions extends Partial<BackoffOptions> {
  /** Retries before giving up and closing with reason `'max retries'`. @default Infinity */
  maxRetries?: number;
  /** How long a connection must stay open before the retry counter resets, in ms. @default 5000 */
  stableAfter?: number;
  /** Extra close codes, or `[from, to]` ranges, that stop reconnection (beside 1002, 1003, 1007, 1008, 1010). @default [] */
  stopCodes?: readonly (number | readonly [number, number])[];
  /** Decides, for each close, whether to retry; overrides the close-code table. */
  shouldReconnect?: (close: CloseEventInfo) => boolean;
}

/** Options of `new Surewire(url, options)`. */
export interface SurewireOptions {
  /** How to reach the server. @default the native WebSocket transport */
  transport?: Transport;
  /** A WebSocket constructor, for Node (the `ws` package) and tests. @default globalThis.WebSocket */
  WebSocket?: WebSocketConstructor;
  /** WebSocket subprotocols, or a function returning them, called before every attempt. */
  protocols?: Provider<string | string[] | undefined>;
  /** Reconnection with exponential backoff and jitter, or `false` for none. @default {} (on, with the defaults) */
  reconnect?: ReconnectOptions | false;
  /** An attempt not open within this many ms is aborted and counts as failed. @default 10000 */
  connectTimeout?: number;
  /** The outbox for messages sent while not open, or `false` to drop them (reported) instead. @default {} */
  queue?: QueueOptions | false;
  /** Dead-connection detection; the server must answer the ping, or pass `false`. @default {} (on) */
  heartbeat?: HeartbeatOptions | false;
  /** How events become frames and frames events. @default JSON `[event, ...args]` */
  codec?: Codec;
  /** Default timeout of `request()`, in ms. @default 10000 */
  requestTimeout?: number;
  /** Connect as soon as the client is made; otherwise call `connect()`. @default true */
  autoConnect?: boolean;
  /** `true` logs to `console.debug`; a function receives every log line instead. @default false */
  debug?: boolean | ((message: string, ...data: unknown[]) => void);
  /** Exactly-once delivery with a server that speaks PROTOCOL.md: a `reliable()` from `surewire`, one per client. @default off */
  reliable?: Reliable;
  /** One connection for the tabs of an origin: a `shareTabs(name)` from `surewire/share`. @default off (a socket per tab) */
  share?: Share;
}

/**
 * The hook behind the `share` option. The constructor validates its options, then hands them (without
 * `share`) to `attach` with the client class, and returns what `attach` returns as the new client.
 */
export interface Share {
  attach(url: Provider<string | URL>, options: SurewireOptions, Client: new (url: Provider<string | URL>, options: SurewireOptions) => object): object;
}

/** Reconnect options with every default filled in. */
export type ReconnectConfig = BackoffOptions & Required<Omit<ReconnectOptions, 'shouldReconnect'>> & ReconnectOptions;

/** The client's defaults; the queue and the heartbeat own theirs. */
export const defaults: {
  reconnect: ReconnectConfig;
  queue: QueueConfig;
  heartbeat: HeartbeatConfig;
  connectTimeout: number;
  requestTimeout: number;
} = {
  reconnect: { initialDelay: 1000, maxDelay: 30000, factor: 2, jitter: 0.5, maxRetries: Infinity, stableAfter: 5000, stopCodes: [] },
  queue: queueDefaults,
  heartbeat: heartbeatDefaults,
  connectTimeout: 10000,
  requestTimeout: 10000,
};

/** The options as the client uses them: validated, with the defaults filled in. */
export type Config = Omit<SurewireOptions, keyof typeof defaults> & typeof defaults & {
  reconnect: ReconnectConfig | false;
  queue: QueueConfig | false;
  heartbeat: HeartbeatConfig | false;
};

/**
 * Checks the options and fills in the defaults. Throws an `OptionError` naming the first option that is
 * wrong; unknown keys are errors too, since they are typos.
 */
export function validate(url: unknown, o: unknown): Config {
  const t = typeof url;
  if (!(t == 'string' || t == 'function' || url instanceof URL)) throw new OptionError('url', url, 'a string, a URL or a function');
  if (!isObj(o)) throw new OptionError('options', o, 'an object');
  return check(o, '', rules, defaults) as Config;
}

const rules: { [k: string]: Rule } = {
  transport: has('connect'),
  WebSocket: 'function',
  protocols: [(v) => typeof v == 'string' || typeof v == 'function' || Array.isArray(v), 'a string, an array or a function'],
  reconnect: {
    initialDelay: [0, MAX_TIMER],
    maxDelay: [0, MAX_TIMER],
    factor: 1,
    jitter: [0, 1],
    maxRetries: 0,
    stableAfter: [0, MAX_TIMER],
    stopCodes: [
      (v) => Array.isArray(v) && v.every((c) => typeof c == 'number' || (Array.isArray(c) && c.length == 2 && c[0] <= c[1])),
      'an array of close codes and [from, to] ranges',
    ],
    shouldReconnect: 'function',
  },
  connectTimeout: [1, MAX_TIMER],
  queue: queueRules,
  heartbeat: heartbeatRules,
  codec: has('encode', 'decode'),
  requestTimeout: [1, MAX_TIMER],
  autoConnect: 'boolean',
  debug: [(v) => typeof v == 'boolean' || typeof v == 'function', 'a boolean or a function'],
  reliable: has('wrap'),
  share: has('attach'),
};

