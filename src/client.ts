import { computeDelay } from './backoff';
import { CloseCode, isStopCode } from './close-codes';
import { jsonCodec, type Codec, type Packet } from './codec';
import { connection, type Connection, type ConnectionSnapshot, type StateReason } from './connection';
import { ClosedError, ConnectionError, DecodeError, isSurewireError, OptionError, OverflowError, RemoteError, SurewireError, TimeoutError } from './errors';
import { heartbeat, type Heartbeat } from './heartbeat';
import { outbox, type DropReason, type Outbox, type QueueConfig } from './outbox';
import { check, MAX_TIMER } from './check';
import { parseUrl, redact, validate, type Provider, type SurewireOptions } from './options';
import { watchBrowser } from './browser';
import { emitter } from './emitter';
import { canStore, type TransportConnection } from './transport';
import type { DefaultEvents, EventNames, EventsMap, ReplyOf, SendArgs, Unsubscribe } from './types';
import { webSocket } from './transports/websocket';

/** What `send` did with a message: handed to the socket, held in the outbox, or dropped (and reported). */
export type SendResult = 'sent' | 'queued' | 'dropped';

// A request waiting for its reply: its frame, and `done`, which forgets it and settles it: rejects it with an
// error, or resolves it with `value` (a tuple: its keys would survive minification).
type Pending = [frame: unknown, done: (error: unknown, value?: unknown) => void];

const resolve = async <T>(p: Provider<T>): Promise<T> => (typeof p == 'function' ? (p as () => T | Promise<T>)() : p);

/**
 * `request`, typed by the client's `Emit` map.
 * @inline
 */
export type RequestFn<Emit extends EventsMap> = <E extends EventNames<Emit>>(event: E, ...args: SendArgs<Emit, E>) => Promise<ReplyOf<Emit, E>>;

// Why a socket failed, in words, from the message of its error event (Node's \`ws\` says a lot, browsers nothing).
const describe = (cause: unknown): string | undefined => {
  const m = /(REFUSED)|(NOTFOUND|EAI_AGAIN)|(CERT|TLS|SSL)|response: (\d+)/.exec((cause as Error)?.message);
  return m
    ? m[1]
      ? 'connection refused (is the server up, on that port?)'
      : m[2]
        ? 'host not found (DNS)'
        : m[3]
          ? 'TLS failed (certificate)'
          : `the server answered HTTP ${m[4]}, not a WebSocket upgrade (check the path)`
    : undefined;
};

/**
 * A typed real-time client that keeps its connection alive.
 *
 * Its methods are bound to it, so they can be passed around (`button.onclick = chat.reconnect`).
 *
 * @typeParam Listen events the server sends (socket.io's `ServerToClientEvents`)
 * @typeParam Emit events the client sends (socket.io's `ClientToServerEvents`)
 * @example
 * const chat = new Surewire<ServerEvents, ClientEvents>('wss://chat.example/ws');
 * chat.on('message', (m) => render(m));
 * chat.send('message', 'hi');
 */
export class Surewire<Listen extends EventsMap = DefaultEvents, Emit extends EventsMap = DefaultEvents> {
  /** The connection's lifecycle: state, events (`open`, `close`, `reconnecting`, …) and a store. */
  declare readonly connection: Connection;

  /** Starts connecting: needed only with `autoConnect: false`, or to start again after reconnection gave up. */
  declare readonly connect: () => void;

  /** Reconnects now, skipping any backoff wait and resetting the retry counter. Does nothing after `close()`. */
  declare readonly reconnect: () => void;

  /**
   * Closes for good: no reconnection follows, pending requests reject with a `ClosedError`, queued messages are
   * dropped and reported (kept in `queue.storage` when there is one), and every timer and listener is released.
   */
  declare readonly close: (code?: number, reason?: string) => void;

  /** Listens to an event from the server; returns a function that stops listening. */
  declare readonly on: <E extends EventNames<Listen>>(event: E, listener: Listen[E]) => Unsubscribe;

  /** Like `on`, for the next occurrence only. */
  declare readonly once: <E extends EventNames<Listen>>(event: E, listener: Listen[E]) => Unsubscribe;

  /** Removes a listener, or every listener of `event`. */
  declare readonly off: <E extends EventNames<Listen>>(event: E, listener?: Listen[E]) => void;

  /**
   * Sends an event. While the connection is not open it waits in the outbox and goes out, in order, right
   * after the next open.
   * @returns `'sent'`, `'queued'`, or `'dropped'` (the `drop` event says why)
   * @throws {SurewireError} code `'encode'` when the codec cannot encode the arguments
   */
  declare readonly send: <E extends EventNames<Emit>>(event: E, ...args: SendArgs<Emit, E>) => SendResult;

  /**
   * Sends an event and waits for the server's reply, for at most `requestTimeout` ms. Every argument goes to
   * the server: for another timeout, use `timeout(ms).request(...)`. Rejects with a `TimeoutError`, a
   * `ClosedError` when the connection closes first, or a `RemoteError` when the server answers with an error.
   */
  declare readonly request: RequestFn<Emit>;

  /**
   * The same `request`, with its own timeout (like socket.io's `timeout(ms).emitWithAck()`).
   * @example const page = await chat.timeout(5000).request('history', before);
   * @throws {OptionError} when `ms` is not a number from 1 to 2^31 - 1
   */
  declare readonly timeout: (ms: number) => {
    /** `request`, with this timeout. */
    request: RequestFn<Emit>;
  };

  /**
   * @param url where to connect: a string, a `URL`, or a function (sync or async) called before every attempt
   * @throws {OptionError} when an option is invalid, naming it
   */
  constructor(url: Provider<string | URL>, options: SurewireOptions = {}) {
    // The client is one closure: its state lives in local variables, which keeps it private and small.
    const o = validate(url, options);
    if (o.share) {
      const { share, ...rest } = options;
      // A class constructor may return another object: the shared client stands in for this one.
      return share!.attach(url, rest, Surewire) as this;
    }
    const { reconnect: rc, queue, debug } = o;
    let transport = o.transport ?? webSocket;
    let codec: Codec<unknown> = transport.codec ?? o.codec ?? jsonCodec;
    if (o.reliable) codec = (transport = o.reliable.wrap(transport, codec, queue)).codec!;
    const { connection: conn, set, emit } = connection();
    const { emit: dispatch, ...app } = emitter();
    const reqs = new Map<number, Pending>();
    const warned: { [code: string]: 1 } = {};
    const log = debug === true ? console.debug.bind(console, '[surewire]') : debug;
    let socket: TransportConnection | undefined;
    // Identifies the current attempt: callbacks of an older attempt, and async providers that resolve late, are ignored.
    let gen = 0;
    let attempt = 0;
    // The connect timeout, the backoff wait, or (while open) the wait until the connection counts as stable:
    // one at a time.
    let timer: ReturnType<typeof setTimeout> | undefined;
    let nextId = 1;
    // The current attempt's URL as errors show it ("the url" until a URL provider gave one), and what the socket
    // said went wrong.
    let where = 'the url';
    let cause: unknown;

    // Nobody listens: the first error of each kind goes to the console, so a failing client is never silent.
    const error = (e: SurewireError): void => {
      if (!emit('error', e) && debug !== false && !warned[e.code]) (warned[e.code] = 1), console.warn(e);
    };
    const final = (): boolean => conn.getSnapshot().final;
    const encode = (p: Packet): unknown => {
      try {
        return codec.encode(p);
      } catch (e) {
        throw isSurewireError(e) ? e : new SurewireError('encode', `could not encode "${p.event}": ${(e as Error)?.message ?? e}`, e);
      }
    };
    const dropped = (frame: unknown, reason: DropReason): void => {
      transport.drop?.(frame);
      let message: Packet;
      try {
        message = codec.decode(frame);
      } catch {
        message = { args: [frame] };
      }
      emit('drop', { message, frame, reason });
      const err = reason == 'overflow' ? new OverflowError('overflow', 'the queue is full') : new ClosedError('closed', `not sent (${reason})`);
      reqs.get(message.id!)?.[1](err);
      if (reason == 'overflow' && (queue as QueueConfig).overflow == 'error') error(err);
    };
    // Storage errors can happen right here, before anyone listens: report them a tick later.
    const [queued, enqueue, flush, unqueue, clear]: Partial<Outbox> = queue
      ? outbox(queue, dropped, (e) => queueMicrotask(() => error(new SurewireError('storage', 'queue.storage failed', e))), (f) => ![...reqs.values()].some((r) => r[0] === f) && canStore(transport, f))
      : [];
    const sync = (): void => {
      const n = queued?.length ?? 0;
      if (n != conn.getSnapshot().queued) set({ queued: n });
    };
    const push = (frame: unknown): SendResult => {
      // Straight to the socket only when nothing older is waiting, so order holds.
      if (!queued?.length && socket?.send(frame)) return 'sent';
      const f = final();
      if (!f && enqueue?.(frame)) return sync(), 'queued';
      if (f || !enqueue) dropped(frame, f ? 'closed' : 'offline');
      sync();
      return 'dropped';
    };
    const rtt = (rtt: number): void => {
      set({ rtt });
      emit('heartbeat', { rtt });
    };
    const [ping, seen, unping]: Partial<Heartbeat> =
      o.heartbeat && transport.heartbeat !== false
        ? heartbeat(
            o.heartbeat,
            (f) => socket?.send(f),
            (ms) => lost(CloseCode.heartbeatTimeout, 'heartbeat timeout', new ConnectionError('heartbeat', `no answer from ${where} within ${ms} ms of a ping: replacing the connection`)),
            rtt,
          )
        : [];
    const clearTimers = (): void => {
      clearTimeout(timer);
      unping?.();
    };
    // Closed without reconnecting, for a reason that is not `close()`.
    const stop = (reason: StateReason, patch: Partial<ConnectionSnapshot>): void => set({ state: 'closed', reason, retryAt: null, ...patch });

    const open = async (reason: StateReason): Promise<void> => {
      clearTimers();
      const g = ++gen;
      cause = undefined;
      set({ state: 'connecting', reason, retryAt: null, attempt });
      timer = setTimeout(() => lost(CloseCode.connectTimeout, 'connect timeout', new ConnectionError('connect-timeout', `could not connect to ${where}: not open within ${o.connectTimeout} ms (connectTimeout)`)), o.connectTimeout);
      let u: URL;
      try {
        const given = await resolve(url);
        if (g != gen) return;
        try {
          u = parseUrl(given);
        } catch (e) {
          // A URL that can never work: retrying would fail the same way.
          gen++;
          clearTimers();
          error(new ConnectionError('url', `bad url from the url provider: ${(e as Error).message.slice(10)}`, e));
          return stop('bad url', { code: null });
        }
        where = redact(u);
        const protocols = await resolve(o.protocols);
        if (g != gen) return;
        // Callbacks of this attempt only; one fired from inside connect(), before the socket is stored (it is
        // unset until then: a new attempt starts only once the last socket was let go), waits until it is.
        // Every frame passes through here, so the common case allocates nothing.
        const held: (() => void)[] = [];
        const live = <F extends (a: never, b: never) => void>(fn: F): F =>
          ((a: never, b: never) => {
            if (g == gen) socket ? fn(a, b) : held.push(() => live(fn)(a, b));
          }) as F;
        socket = transport.connect({
          url: u.href,
          protocols,
          WebSocket: o.WebSocket,
          open: live(opened),
          frame: live(frame),
          close: live(closed),
          // A transport's own surewire error (the reliable layer's) is reported as it is; the socket's is kept
          // for the error its close reports, which can then say why in one message.
          error: live((e) => (isSurewireError(e) && error(e), (cause = e))),
          rtt: live(rtt),
        });
        held.forEach((run) => run());
      } catch (e) {
        // A provider that threw or rejected, or a URL the WebSocket constructor refused: a failed attempt.
        if (g == gen) lost(1006, 'connect failed', new ConnectionError('url', `could not connect to ${where}: ${(e as Error)?.message ?? e}`, e));
      }
    };

    const opened = (info?: { recovered?: boolean }): void => {
      clearTimeout(timer);
      if (rc)
        timer = setTimeout(() => {
          set({ attempt: (attempt = 0) });
        }, rc.stableAfter);
      flush?.((f) => socket!.send(f));
      set({ state: 'open', reason: 'open', queued: queued?.length ?? 0 });
      emit('open', { attempt, ...info });
      // After the open listeners, so that a greeting they send (a server that wants a hello first) goes first.
      if (socket) ping?.();
    };

    const frame = (f: unknown): void => {
      if (seen?.(f)) return;
      let p: Packet;
      try {
        p = codec.decode(f);
        if (!Array.isArray(p.args)) throw new TypeError('the codec returned no args');
      } catch (e) {
        return error(new DecodeError(f, e));
      }
      if (p.event != null) dispatch(p.event, ...p.args);
      else {
        // A reply: to a pending request, or to nothing (no id, or one that timed out).
        reqs.get(p.id!)?.[1]('error' in p && new RemoteError(p.error), p.args[0]);
      }
    };

    // Gives up on the current socket or attempt from the client's side, with the error that says why (none for `reconnect()`).
    const lost = (code: number, reason: StateReason, e?: SurewireError): void => {
      const g = gen;
      if (e) error(e);
      if (g != gen) return; // an error listener called close() or reconnect()
      const s = socket;
      socket = undefined;
      s?.close(code, reason);
      closed(code, reason, reason);
    };

    // Rejects the requests that can no longer be answered: every one, or (`all` unset) those on the wire, since
    // those still queued go out after the next open.
    const reject = (why: string, all?: boolean): void => {
      for (const [f, done] of reqs.values()) if (all || !queued?.includes(f)) done(new ClosedError('closed', why));
    };

    const closed = (code: number, reason: string, why: StateReason = 'socket closed'): void => {
      const g = ++gen;
      socket = undefined;
      clearTimers();
      reject(`the connection closed (${code}) before a reply`);
      // A socket that failed before it opened, or one the network cut: say where and why, once. The state is
      // still that of the attempt: open, or connecting.
      const up = conn.state == 'open';
      if (why == 'socket closed' && (!up || cause) && !isSurewireError(cause))
        error(new ConnectionError('socket', `${up ? 'lost the connection to' : 'could not connect to'} ${where}: ${describe(cause) ?? `closed${up ? '' : ' before open'} with code ${code}`}${reason ? ` (${reason})` : ''}`, cause));
      if (g != gen) return; // an error listener called close() or reconnect()
      const again = why == 'reconnect()';
      // Why there is no retry ('' when there is one).
      const no: StateReason | '' = again
        ? ''
        : !rc
          ? 'reconnect disabled'
          : attempt >= rc.maxRetries
            ? 'max retries'
            : (rc.shouldReconnect ?? ((c) => !isStopCode(c.code, rc.stopCodes)))({ code, reason })
              ? ''
              : 'stop code';
      emit('close', { code, reason, willReconnect: !no });
      if (g != gen) return; // a close listener called close() or reconnect()
      if (again) open(why);
      else if (!no) {
        const delay = computeDelay(attempt++, rc);
        timer = setTimeout(() => open('retry'), delay);
        set({ state: 'reconnecting', reason: why, code, attempt, retryAt: Date.now() + delay });
        emit('reconnecting', { attempt, delay });
      } else stop(no, { code });
    };

    const unwatch = watchBrowser((cause) => {
      const s = conn.state;
      if (s == 'open') ping?.();
      else if (s == 'reconnecting' && cause != 'offline') open(cause);
    });

    const request =
      (ms: number) =>
      (event: string, ...args: unknown[]): Promise<unknown> =>
        new Promise((resolve, reject) => {
          const id = nextId++;
          const frame = encode({ event, args, id });
          const timer = setTimeout(() => {
            done(new TimeoutError('timeout', `no reply to "${event}" from ${where} within ${ms} ms`));
            if (unqueue?.(frame)) sync();
          }, ms);
          const done = (e: unknown, value?: unknown): void => {
            clearTimeout(timer);
            reqs.delete(id);
            e ? reject(e) : resolve(value);
          };
          reqs.set(id, [frame, done]);
          push(frame);
        });

    Object.assign(this, {
      connection: conn,
      connect() {
        const s = conn.state;
        if (s == 'idle' || (s == 'closed' && !final())) {
          // Here, not in the constructor: a client made with `autoConnect: false` during server rendering is fine.
          if (!o.transport && !(o.WebSocket ?? globalThis.WebSocket))
            throw new OptionError('WebSocket', undefined, 'a WebSocket constructor (none here; in Node, pass ws\'s)');
          attempt = 0;
          open('connect()');
        }
      },
      reconnect() {
        // A socket goes the way of any other the client gives up on (closed with 4002), then a new attempt starts at once.
        if (!final()) (attempt = 0), socket ? lost(CloseCode.reconnect, 'reconnect()') : open('reconnect()');
      },
      close(code = 1000, reason = '') {
        if (final()) return;
        const was = conn.state;
        const s = socket;
        gen++;
        socket = undefined;
        clearTimers();
        unwatch();
        s?.close(code, reason);
        reject('the client was closed', true);
        if (!(queue as QueueConfig).storage) clear?.('closed');
        stop('close()', { final: true, queued: queued?.length ?? 0 });
        if (was != 'idle' && was != 'closed') emit('close', { code, reason, willReconnect: false });
      },
      ...app,
      send: (event: string, ...args: unknown[]) => push(encode({ event, args })),
      request: request(o.requestTimeout),
      timeout(ms: number) {
        check({ timeout: ms ?? null }, '', { timeout: [1, MAX_TIMER] }, {});
        return { request: request(ms) };
      },
    });

    if (log) for (const e of ['state', 'close', 'reconnecting', 'error', 'drop'] as const) conn.on(e, (d: unknown) => log(e, d));
    sync();
    if (o.autoConnect !== false) this.connect();
  }
}
