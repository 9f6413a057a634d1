import { OptionError } from './errors';
import { check, isObj, MAX_TIMER, type Rule } from './check';
import type { Codec } from './codec';
import type { CloseInfo } from './connection';
import { heartbeatDefaults, heartbeatRules, type HeartbeatConfig, type HeartbeatOptions } from './heartbeat';
import { queueDefaults, queueRules, type QueueConfig, type QueueOptions } from './outbox';
import type { Transport, WebSocketConstructor } from './transport';
import type { BackoffOptions } from './backoff';
import type { Reliable } from './reliable';

/** A value, or a function (sync or async) that returns it; functions run before every connection attempt. */
export type Provider<T> = T | (() => T | Promise<T>);

/** Reconnection policy. */
export interface ReconnectOptions extends Partial<BackoffOptions> {
  /** Retries before giving up and closing with reason `'max retries'`. @default Infinity */
  maxRetries?: number;
  /** How long a connection must stay open before the retry counter resets, in ms. @default 5000 */
  stableAfter?: number;
  /** Extra close codes, or `[from, to]` ranges, that stop reconnection (beside 1002, 1003, 1007, 1008, 1010). @default [] */
  stopCodes?: readonly (number | readonly [number, number])[];
  /** Decides, for each close, whether to retry; overrides the close-code table. */
  shouldReconnect?: (close: Pick<CloseInfo, 'code' | 'reason'>) => boolean;
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
  /** The queue for messages sent while not open, or `false` to drop them (reported) instead. @default {} */
  queue?: QueueOptions | false;
  /** Dead-connection detection, harmless to a server that does not answer (see `HeartbeatOptions`), or `false`. @default {} (on) */
  heartbeat?: HeartbeatOptions | false;
  /** How events become frames and frames events. @default JSON `[event, ...args]` */
  codec?: Codec;
  /** Default timeout of `request()`, in ms. @default 10000 */
  requestTimeout?: number;
  /** Connect as soon as the client is made; otherwise call `connect()`. @default true */
  autoConnect?: boolean;
  /**
   * Logging. By default, when nothing listens to `connection.on('error')`, the first error of each `code` is
   * written once to `console.warn`, so a client that fails is never silent (and never floods the console on
   * every retry). `true` also logs every lifecycle event to `console.debug`; a function receives those lines
   * and the errors instead; `false` logs nothing at all. URLs in logs and errors never show credentials or
   * the query string. @default undefined (first error of each kind)
   */
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
  /** Returns the object that stands in for the client being constructed. */
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
  if (typeof url != 'function') parseUrl(url);
  if (!isObj(o)) throw new OptionError('options', o, 'an object');
  return check(o, '', rules, defaults) as Config;
}

/**
 * Parses a server URL: absolute with a `ws:`, `wss:`, `http:` or `https:` scheme, or relative to the page in a
 * browser. Throws an `OptionError` naming `url` otherwise: a URL that can never work is a mistake, not a
 * network failure to retry.
 */
export function parseUrl(url: unknown): URL {
  let u: URL | undefined;
  try {
    if (typeof url == 'string' || url instanceof URL) u = new URL(url, globalThis.location?.href);
  } catch {
    // not a URL
  }
  if (!/^(ws|http)s?:$/.test(u?.protocol as string))
    throw new OptionError('url', url, `a ws, wss, http or https URL${typeof url == 'string' && /^\w[\w.-]*[:/]/.test(url) && !url.includes('//') ? ` (did you mean "ws://${url}"?)` : ''}`);
  return u!;
}

/** The URL as logs and errors show it: no credentials, no query string (which often carries a token). */
export const redact = (u: URL): string => u.origin + u.pathname + (u.search && '?…');

const rules: { [k: string]: Rule } = {
  transport: ['connect'],
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
  codec: ['encode', 'decode'],
  requestTimeout: [1, MAX_TIMER],
  autoConnect: 'boolean',
  debug: [(v) => typeof v == 'boolean' || typeof v == 'function', 'a boolean or a function'],
  reliable: ['wrap'],
  share: ['attach'],
};

