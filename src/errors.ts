const brand = Symbol.for('surewire.error');

/**
 * What failed, as data to switch on (the message is for people):
 * - `option`: an invalid option or argument (an `OptionError`, thrown at once);
 * - `url`: the URL (or what a URL provider returned) cannot work, or the provider failed;
 * - `socket`: the socket failed or closed before it opened (refused, DNS, TLS, a close code);
 * - `connect-timeout`: an attempt was not open within `connectTimeout`;
 * - `heartbeat`: no answer to a ping within `heartbeat.timeout`;
 * - `protocol`: the peer broke the reliable protocol (or does not speak it);
 * - `timeout`: a request got no reply in time;
 * - `closed`: the connection or the client closed first;
 * - `decode` / `encode`: the codec failed on a frame or a message;
 * - `remote`: the server answered a request with an error;
 * - `overflow`: the queue was full with `overflow: 'error'`;
 * - `storage`: `queue.storage` failed, or held something unreadable;
 * - `store`: (server) the store failed.
 */
export type ErrorCode =
  | 'option'
  | 'url'
  | 'socket'
  | 'connect-timeout'
  | 'heartbeat'
  | 'protocol'
  | 'timeout'
  | 'closed'
  | 'decode'
  | 'encode'
  | 'remote'
  | 'overflow'
  | 'storage'
  | 'store';

/**
 * Base class of every error surewire throws or reports.
 * `code` says what failed; `cause` holds the underlying error, if any.
 */
export class SurewireError extends Error {
  /** The class's name, e.g. `'TimeoutError'`: what the console shows before the message. */
  override name = 'SurewireError';
  /** A stable, machine-readable code, e.g. `'timeout'` or `'decode'`. */
  declare readonly code: ErrorCode;
  /** @param message what failed, without the `surewire: ` prefix, which is added */
  constructor(code: ErrorCode, message: string, cause?: unknown) {
    super('surewire: ' + message);
    this.code = code;
    if (cause !== undefined) this.cause = cause;
  }
  // Cross-realm guard: instanceof fails across iframes and duplicate bundles.
  /** @internal */
  get [brand](): true {
    return true;
  }
}

/** An option was invalid. Thrown at once by the constructor; `option` names it. */
export class OptionError extends SurewireError {
  override name = 'OptionError';
  /** Dotted path of the option, e.g. `'reconnect.maxDelay'`. */
  declare readonly option: string;
  /** The value given. */
  declare readonly value: unknown;
  constructor(option: string, value: unknown, expected: string) {
    super('option', `invalid option \`${option}\`: expected ${expected}, got ${show(value)}`);
    this.option = option;
    this.value = value;
  }
}

/** A connection attempt or an open connection failed (`code`: `'url'`, `'socket'`, `'connect-timeout'`, `'heartbeat'`). */
export class ConnectionError extends SurewireError {
  override name = 'ConnectionError';
}

/** A request got no reply in time. */
export class TimeoutError extends SurewireError {
  override name = 'TimeoutError';
}

/** The operation needs a connection that is closed, or the client was closed. */
export class ClosedError extends SurewireError {
  override name = 'ClosedError';
}

/** A frame the codec could not decode; `frame` holds it. */
export class DecodeError extends SurewireError {
  override name = 'DecodeError';
  /** The frame as it arrived. */
  declare readonly frame: unknown;
  constructor(frame: unknown, cause: unknown) {
    super('decode', 'could not decode a frame', cause);
    this.frame = frame;
  }
}

/** The server answered a request with an error; `data` is what it sent. */
export class RemoteError extends SurewireError {
  override name = 'RemoteError';
  /** What the server sent as the error. */
  declare readonly data: unknown;
  constructor(data: unknown) {
    super('remote', `the server answered with an error: ${show(data)}`);
    this.data = data;
  }
}

/** The outbox was full and its `overflow` policy is `'error'`. */
export class OverflowError extends SurewireError {
  override name = 'OverflowError';
}

/** True for any surewire error, even one from another realm or another copy of the library. */
// The brand alone: every SurewireError has it, from this copy of the library or another.
export const isSurewireError = (e: unknown): e is SurewireError => !!(e as Record<symbol, unknown> | undefined)?.[brand];

/** A value as an error message shows it: short, and never throwing. */
export function show(v: unknown): string {
  let s: string | false | undefined;
  try {
    // JSON for most; a number as String writes it (NaN, Infinity); what JSON cannot write (undefined, a symbol,
    // a bigint, a cycle) falls back to String.
    s = typeof v == 'function' ? 'a function' : typeof v != 'number' && JSON.stringify(v)?.slice(0, 80);
  } catch {
    // a bigint or a cycle
  }
  return s || String(v);
}
