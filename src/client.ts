import { computeDelay } from './backoff';
import { CloseCode, isStopCode } from './close-codes';
import { jsonCodec, type Codec, type Packet } from './codec';
import { connection, type Connection } from './connection';
import { ClosedError, ConnectionError, DecodeError, OptionError, OverflowError, RemoteError, SurewireError, TimeoutError } from './errors';
import { heartbeat } from './heartbeat';
import { outbox, type DropReason } from './outbox';
import { validate, type Provider, type SurewireOptions } from './options';
import { watchBrowser } from './browser';
import { emitter } from './emitter';
import { canStore, type TransportConnection } from './transport';
import type { DefaultEvents, EventNames, EventsMap, ReplyOf, RequestOptions, SendArgs, Unsubscribe } from './types';
import { webSocket } from './transports/websocket';

/** What `send` did with a message: handed to the socket, held in the outbox, or dropped (and reported). */
export type SendResult = 'sent' | 'queued' | 'dropped';

type Pending = { resolve: (v: never) => void; reject: (e: unknown) => void; frame: unknown; timer: ReturnType<typeof setTimeout> };

const resolve = async <T>(p: Provider<T>): Promise<T> => (typeof p == 'function' ? (p as () => T | Promise<T>)() : p);

// The last argument of `request` is its options when it is an object with a `timeout` and nothing else.
const isRequestOptions = (v: unknown): v is RequestOptions =>
  typeof v == 'object' && v !== null && Object.keys(v).join() == 'timeout';

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
   * Sends an event and waits for the server's reply. A last argument `{ timeout }` sets the timeout.
   * Rejects with a `TimeoutError`, a `ClosedError` when the connection closes first, or a `RemoteError`
   * when the server answers with an error.
   */
  declare readonly request: <E extends EventNames<Emit>>(
    event: E,
    ...args: SendArgs<Emit, E> | [...SendArgs<Emit, E>, RequestOptions]
  ) => Promise<ReplyOf<Emit, E>>;

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
    if (!o.transport && !(o.WebSocket ?? globalThis.WebSocket))
      throw new OptionError('WebSocket', undefined, 'a WebSocket constructor (this runtime has no global WebSocket)');
    let codec: Codec<unknown> = transport.codec ?? o.codec ?? jsonCodec;
    if (o.reliable) codec = (transport = o.reliable.wrap(transport, codec, queue)).codec!;
    const { connection: conn, set, emit } = connection();
    const ev = emitter();
    const reqs = new Map<number, Pending>();
    let socket: TransportConnection | undefined;
    // Identifies the current attempt: callbacks of an older attempt, and async providers that resolve late, are ignored.
    let gen = 0;
    let attempt = 0;
    // The backoff wait or the connect timeout: never both at once.
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stable: ReturnType<typeof setTimeout> | undefined;
    let nextId = 1;

    const error = (e: SurewireError): void => emit('error', e);
    const final = (): boolean => {
      const { state, reason } = conn.getSnapshot();
      return state == 'closed' && reason == 'close()';
    };
    const encode = (p: Packet): unknown => {
      try {
        return codec.encode(p);
      } catch (e) {
        throw new SurewireError('encode', `could not encode "${p.event}": ${e}`, e);
      }
    };
    const settle = (id: number): Pending | undefined => {
      const r = reqs.get(id);
      if (r) clearTimeout(r.timer), reqs.delete(id);
      return r;
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
      const err = reason == 'overflow' ? new OverflowError('overflow', 'the outbox is full') : new ClosedError('closed', `not sent (${reason})`);
      if (message.id != null) settle(message.id)?.reject(err);
      if (reason == 'overflow' && queue && queue.overflow == 'error') error(err);
    };
    const isRequest = (frame: unknown): boolean => {
      for (const r of reqs.values()) if (r.frame === frame) return true;
      return false;
    };
    // Storage errors can happen right here, before anyone listens: report them a tick later.
    const box = queue
      ? outbox(queue, dropped, (e) => queueMicrotask(() => error(new SurewireError('storage', 'outbox storage failed', e))), (f) => !isRequest(f) && canStore(transport, f))
      : undefined;
    const sync = (): void => {
      const queued = box?.length ?? 0;
      if (queued != conn.getSnapshot().queued) set({ queued });
    };
    const push = (frame: unknown): SendResult => {
      // Straight to the socket only when nothing older is waiting, so order holds.
      if (!box?.length && socket?.send(frame)) return 'sent';
      const f = final();
      if (!f && box && box.push(frame)) return sync(), 'queued';
      if (f || !box) dropped(frame, f ? 'closed' : 'offline');
      sync();
      return 'dropped';
    };
    const rtt = (rtt: number): void => {
      set({ rtt });
      emit('heartbeat', { rtt });
    };
    const hb =
      o.heartbeat && transport.heartbeat !== false
        ? heartbeat(
            o.heartbeat,
            (f) => socket?.send(f),
            () => lost(CloseCode.heartbeatTimeout, 'heartbeat timeout', new ConnectionError('heartbeat', 'no answer to the heartbeat ping')),
            rtt,
          )
        : undefined;
    const clearTimers = (): void => {
      clearTimeout(timer);
      clearTimeout(stable);
      hb?.stop();
    };

    const open = async (reason: string): Promise<void> => {
      clearTimers();
      const g = ++gen;
      const ms = o.connectTimeout;
      set({ state: 'connecting', reason, retryAt: null, attempt });
      timer = setTimeout(() => lost(CloseCode.connectTimeout, 'connect timeout', new ConnectionError('connect-timeout', `not open within ${ms} ms`)), ms);
      try {
        const href = String(await resolve(url));
        const protocols = await resolve(o.protocols);
        if (g != gen) return;
        // Callbacks of this attempt only; one fired from inside connect() waits until the socket is stored.
        // Every frame passes through here, so the common case allocates nothing.
        let held: (() => void)[] | undefined = [];
        const live = <F extends (a: never, b: never) => void>(fn: F): F =>
          ((a: never, b: never) => {
            if (held) held.push(() => g == gen && fn(a, b));
            else if (g == gen) fn(a, b);
          }) as F;
        socket = transport.connect({
          url: href,
          protocols,
          WebSocket: o.WebSocket,
          open: live(opened),
          frame: live(frame),
          close: live(closed),
          // A transport (or reliable()) that knows what failed says it with a surewire error of its own.
          error: live((e) => error(e instanceof SurewireError ? e : new ConnectionError('socket', 'socket error', e))),
          rtt: live(rtt),
        });
        const early = held;
        held = undefined;
        early.forEach((run) => run());
      } catch (e) {
        // A provider that threw or rejected, or a URL the WebSocket constructor refused: a failed attempt.
        if (g == gen) lost(1006, 'connect failed', new ConnectionError('url', 'could not start a connection attempt', e));
      }
    };

    const opened = (info?: { recovered?: boolean }): void => {
      clearTimeout(timer);
      if (rc)
        stable = setTimeout(() => {
          attempt = 0;
          set({ attempt });
        }, rc.stableAfter);
      box?.flush((f) => socket!.send(f));
      hb?.start();
      set({ state: 'open', reason: 'open', queued: box?.length ?? 0 });
      emit('open', { attempt, ...info });
    };

    const frame = (f: unknown): void => {
      if (hb?.seen(f)) return;
      let p: Packet;
      try {
        p = codec.decode(f);
        if (!Array.isArray(p.args)) throw new TypeError('the codec returned a packet without args');
      } catch (e) {
        return error(new DecodeError(f, e));
      }
      if (p.event != null) ev.emit(p.event, ...p.args);
      else if (p.id != null) {
        const r = settle(p.id);
        if (r) 'error' in p ? r.reject(new RemoteError(p.error)) : r.resolve(p.args[0] as never);
      }
    };

    // Gives up on the current socket or attempt from the client's side.
    const lost = (code: number, reason: string, e: SurewireError): void => {
      const g = gen;
      error(e);
      if (g != gen) return; // an error listener called close() or reconnect()
      const s = socket;
      socket = undefined;
      s?.close(code, reason);
      closed(code, reason);
    };

    // Requests already on the wire can no longer be answered; those still queued go out after the next open.
    const rejectInFlight = (code: number): void => {
      for (const [id, r] of reqs)
        if (!box?.has(r.frame)) settle(id)!.reject(new ClosedError('closed', `the connection closed (${code}) before a reply`));
    };

    const closed = (code: number, reason: string): void => {
      const g = ++gen;
      socket = undefined;
      clearTimers();
      rejectInFlight(code);
      const retry = !!rc && attempt < rc.maxRetries && (rc.shouldReconnect ? rc.shouldReconnect({ code, reason }) : !isStopCode(code, rc.stopCodes));
      emit('close', { code, reason, willReconnect: retry });
      if (g != gen) return; // a close listener called close() or reconnect()
      if (retry) {
        const delay = computeDelay(attempt++, rc);
        timer = setTimeout(() => open('retry'), delay);
        set({ state: 'reconnecting', reason: reason || `closed (${code})`, attempt, retryAt: Date.now() + delay });
        emit('reconnecting', { attempt, delay });
      } else {
        set({ state: 'closed', reason: !rc ? 'reconnect disabled' : attempt >= rc.maxRetries ? 'max retries' : `close code ${code}`, retryAt: null });
      }
    };

    const unwatch = watchBrowser((cause) => {
      const s = conn.state;
      if (s == 'open') hb?.check();
      else if (s == 'reconnecting' && cause != 'offline') open(cause);
    });

    Object.assign(this, {
      connection: conn,
      connect() {
        const s = conn.state;
        if (s == 'idle' || (s == 'closed' && !final())) {
          attempt = 0;
          open('connect()');
        }
      },
      reconnect() {
        if (final()) return;
        attempt = 0;
        const s = socket;
        if (s) {
          socket = undefined;
          s.close(CloseCode.reconnect, 'reconnect()');
          rejectInFlight(CloseCode.reconnect);
          emit('close', { code: CloseCode.reconnect, reason: 'reconnect()', willReconnect: true });
          if (final()) return; // a close listener called close()
        }
        open('reconnect()');
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
        for (const id of [...reqs.keys()]) settle(id)!.reject(new ClosedError('closed', 'the client was closed'));
        if (!(queue && queue.storage)) box?.clear('closed');
        set({ state: 'closed', reason: 'close()', retryAt: null, queued: box?.length ?? 0 });
        if (was != 'idle' && was != 'closed') emit('close', { code, reason, willReconnect: false });
      },
      on: ev.on,
      once: ev.once,
      off: ev.off,
      send: (event: string, ...args: unknown[]) => push(encode({ event, args })),
      request: (event: string, ...args: unknown[]) => {
        const opts = isRequestOptions(args[args.length - 1]) ? (args.pop() as RequestOptions) : {};
        return new Promise((resolve, reject) => {
          const id = nextId++;
          const frame = encode({ event, args, id });
          const ms = opts.timeout ?? o.requestTimeout;
          const timer = setTimeout(() => {
            settle(id);
            if (box?.remove(frame)) sync();
            reject(new TimeoutError('timeout', `no reply to "${event}" within ${ms} ms`));
          }, ms);
          reqs.set(id, { resolve, reject, frame, timer });
          push(frame);
        });
      },
    });

    if (debug) {
      const log = debug === true ? console.debug.bind(console, '[surewire]') : debug;
      for (const e of ['state', 'close', 'reconnecting', 'error', 'drop'] as const) conn.on(e, (d: unknown) => log(e, d));
    }
    sync();
    if (o.autoConnect !== false) this.connect();
  }
}
