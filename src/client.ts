import { EventEmitter } from 'eventemitter3';
import { computeDelay, type BackoffOptions } from './backoff';
import { CloseCode, isStopCode } from './close-codes';
import { jsonCodec, type Codec, type Frame, type Packet } from './codec';
import { Connection, type ConnectionControl } from './connection';
import { ClosedError, ConnectionError, DecodeError, OptionError, OverflowError, RemoteError, SurewireError, TimeoutError } from './errors';
import { Heartbeat } from './heartbeat';
import { Outbox, type DropReason } from './outbox';
import { validate, type Provider, type ReconnectOptions, type SurewireOptions } from './options';
import { watchBrowser } from './browser';
import type { Transport, TransportConnection } from './transport';
import type { DefaultEvents, EventNames, EventsMap, ReplyOf, RequestOptions, SendArgs, Unsubscribe } from './types';
import { webSocket } from './transports/websocket';

/** What `send` did with a message: handed to the socket, held in the outbox, or dropped (and reported). */
export type SendResult = 'sent' | 'queued' | 'dropped';

type Reconnect = BackoffOptions & Required<Omit<ReconnectOptions, 'shouldReconnect'>> & ReconnectOptions;
type Pending = { resolve: (v: never) => void; reject: (e: unknown) => void; frame: Frame; timer: ReturnType<typeof setTimeout> };

const resolve = async <T>(p: Provider<T>): Promise<T> => (typeof p == 'function' ? (p as () => T | Promise<T>)() : p);

// The last argument of `request` is its options when it is an object with a `timeout` and nothing else.
const isRequestOptions = (v: unknown): v is RequestOptions =>
  typeof v == 'object' && v !== null && Object.keys(v).join() == 'timeout';

/**
 * A typed real-time client that keeps its connection alive.
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
  readonly connection: Connection;
  #ctl!: ConnectionControl;
  #url: Provider<string | URL>;
  #o: SurewireOptions;
  #rc: Reconnect | false;
  #transport: Transport;
  #codec: Codec;
  #ev = new EventEmitter();
  #outbox: Outbox | undefined;
  #hb: Heartbeat | undefined;
  #conn: TransportConnection | undefined;
  // Identifies the current attempt: callbacks of an older attempt, and async providers that resolve late, are ignored.
  #gen = 0;
  #attempt = 0;
  // The backoff wait or the connect timeout: never both at once.
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stable: ReturnType<typeof setTimeout> | undefined;
  #reqs = new Map<number, Pending>();
  #nextId = 1;
  #unwatch: () => void;

  /**
   * @param url where to connect: a string, a `URL`, or a function (sync or async) called before every attempt
   * @throws {OptionError} when an option is invalid, naming it
   */
  constructor(url: Provider<string | URL>, options: SurewireOptions = {}) {
    validate(url, options);
    this.connection = new Connection((c) => (this.#ctl = c));
    this.#url = url;
    this.#o = options;
    const { reconnect: rc, queue, heartbeat, debug } = options;
    this.#rc = rc !== false && {
      initialDelay: 1000, maxDelay: 30000, factor: 2, jitter: 0.5, maxRetries: Infinity, stableAfter: 5000, stopCodes: [], ...rc,
    };
    this.#transport = options.transport ?? webSocket;
    if (!options.transport && !(options.WebSocket ?? globalThis.WebSocket))
      throw new OptionError('WebSocket', undefined, 'a WebSocket constructor (this runtime has no global WebSocket)');
    this.#codec = this.#transport.codec ?? options.codec ?? jsonCodec;
    if (debug) {
      const log = debug === true ? console.debug.bind(console, '[surewire]') : debug;
      for (const e of ['state', 'close', 'reconnecting', 'error', 'drop'] as const) this.connection.on(e, (d: unknown) => log(e, d));
    }
    if (queue !== false) {
      // Storage errors can happen right here, before anyone listens: report them a tick later.
      const fail = (e: unknown) => queueMicrotask(() => this.#error(new SurewireError('storage', 'surewire: outbox storage failed', e)));
      this.#outbox = new Outbox(queue ?? {}, (f, why) => this.#dropped(f, why), fail, (f) => !this.#isRequest(f));
      this.#sync();
    }
    if (heartbeat !== false && this.#transport.heartbeat !== false) {
      this.#hb = new Heartbeat(
        heartbeat ?? {},
        (f) => this.#conn?.send(f),
        () => this.#lost(CloseCode.heartbeatTimeout, 'heartbeat timeout', new ConnectionError('heartbeat', 'surewire: no answer to the heartbeat ping')),
        (rtt) => this.#rtt(rtt),
      );
    }
    this.#unwatch = watchBrowser((cause) => {
      const s = this.connection.state;
      if (s == 'open') this.#hb?.check();
      else if (s == 'reconnecting' && cause != 'offline') this.#open(cause);
    });
    if (options.autoConnect !== false) this.connect();
  }

  /** Starts connecting: needed only with `autoConnect: false`, or to start again after reconnection gave up. */
  connect(): void {
    const s = this.connection.state;
    if (s == 'idle' || (s == 'closed' && !this.#final())) {
      this.#attempt = 0;
      this.#open('connect()');
    }
  }

  /** Reconnects now, skipping any backoff wait and resetting the retry counter. Does nothing after `close()`. */
  reconnect(): void {
    if (this.#final()) return;
    this.#attempt = 0;
    const c = this.#conn;
    if (c) {
      this.#conn = undefined;
      c.close(CloseCode.reconnect, 'reconnect()');
      this.#rejectInFlight(CloseCode.reconnect);
      this.#ctl.emit('close', { code: CloseCode.reconnect, reason: 'reconnect()', willReconnect: true });
      if (this.#final()) return; // a close listener called close()
    }
    this.#open('reconnect()');
  }

  /**
   * Closes for good: no reconnection follows, pending requests reject with a `ClosedError`, queued messages are
   * dropped and reported (kept in `queue.storage` when there is one), and every timer and listener is released.
   */
  close(code = 1000, reason = ''): void {
    if (this.#final()) return;
    const was = this.connection.state;
    const c = this.#conn;
    this.#gen++;
    this.#conn = undefined;
    this.#clearTimers();
    this.#unwatch();
    c?.close(code, reason);
    for (const id of [...this.#reqs.keys()]) this.#settle(id)!.reject(new ClosedError('closed', 'surewire: the client was closed'));
    if (!(this.#o.queue && this.#o.queue.storage)) this.#outbox?.clear('closed');
    this.#ctl.set({ state: 'closed', reason: 'close()', retryAt: null, queued: this.#outbox?.length ?? 0 });
    if (was != 'idle' && was != 'closed') this.#ctl.emit('close', { code, reason, willReconnect: false });
  }

  /** Listens to an event from the server; returns a function that stops listening. */
  on<E extends EventNames<Listen>>(event: E, listener: Listen[E]): Unsubscribe {
    this.#ev.on(event, listener);
    return () => this.#ev.off(event, listener);
  }

  /** Like `on`, for the next occurrence only. */
  once<E extends EventNames<Listen>>(event: E, listener: Listen[E]): Unsubscribe {
    this.#ev.once(event, listener);
    return () => this.#ev.off(event, listener);
  }

  /** Removes a listener, or every listener of `event`. */
  off<E extends EventNames<Listen>>(event: E, listener?: Listen[E]): void {
    this.#ev.off(event, listener);
  }

  /**
   * Sends an event. While the connection is not open it waits in the outbox and goes out, in order, right
   * after the next open.
   * @returns `'sent'`, `'queued'`, or `'dropped'` (the `drop` event says why)
   * @throws {SurewireError} code `'encode'` when the codec cannot encode the arguments
   */
  send<E extends EventNames<Emit>>(event: E, ...args: SendArgs<Emit, E>): SendResult {
    return this.#push(this.#encode({ event, args }));
  }

  /**
   * Sends an event and waits for the server's reply. A last argument `{ timeout }` sets the timeout.
   * Rejects with a `TimeoutError`, a `ClosedError` when the connection closes first, or a `RemoteError`
   * when the server answers with an error.
   */
  request<E extends EventNames<Emit>>(
    event: E,
    ...args: SendArgs<Emit, E> | [...SendArgs<Emit, E>, RequestOptions]
  ): Promise<ReplyOf<Emit, E>> {
    const a: unknown[] = args;
    const o = isRequestOptions(a[a.length - 1]) ? (a.pop() as RequestOptions) : {};
    return new Promise((resolve, reject) => {
      const id = this.#nextId++;
      const frame = this.#encode({ event, args: a, id });
      const ms = o.timeout ?? this.#o.requestTimeout ?? 10000;
      const timer = setTimeout(() => {
        this.#settle(id);
        if (this.#outbox?.remove(frame)) this.#sync();
        reject(new TimeoutError('timeout', `surewire: no reply to "${event}" within ${ms} ms`));
      }, ms);
      this.#reqs.set(id, { resolve, reject, frame, timer });
      this.#push(frame);
    });
  }

  #encode(p: Packet): Frame {
    try {
      return this.#codec.encode(p);
    } catch (e) {
      throw new SurewireError('encode', `surewire: could not encode "${p.event}"`, e);
    }
  }

  #push(frame: Frame): SendResult {
    const box = this.#outbox;
    // Straight to the socket only when nothing older is waiting, so order holds.
    if (!box?.length && this.#conn?.send(frame)) return 'sent';
    if (this.#final()) this.#dropped(frame, 'closed');
    else if (!box) this.#dropped(frame, 'offline');
    else if (box.push(frame)) return this.#sync(), 'queued';
    this.#sync();
    return 'dropped';
  }

  #sync(): void {
    const queued = this.#outbox?.length ?? 0;
    if (queued != this.connection.getSnapshot().queued) this.#ctl.set({ queued });
  }

  #final(): boolean {
    const { state, reason } = this.connection.getSnapshot();
    return state == 'closed' && reason == 'close()';
  }

  #isRequest(frame: Frame): boolean {
    for (const r of this.#reqs.values()) if (r.frame === frame) return true;
    return false;
  }

  #settle(id: number): Pending | undefined {
    const r = this.#reqs.get(id);
    if (r) clearTimeout(r.timer), this.#reqs.delete(id);
    return r;
  }

  #error(e: SurewireError): void {
    this.#ctl.emit('error', e);
  }

  #dropped(frame: Frame, reason: DropReason): void {
    let message: Packet;
    try {
      message = this.#codec.decode(frame);
    } catch {
      message = { args: [frame] };
    }
    this.#ctl.emit('drop', { message, frame, reason });
    const err =
      reason == 'overflow'
        ? new OverflowError('overflow', 'surewire: the outbox is full')
        : new ClosedError(reason, `surewire: not sent (${reason})`);
    if (message.id != null) this.#settle(message.id)?.reject(err);
    if (reason == 'overflow' && this.#o.queue && this.#o.queue.overflow == 'error') this.#error(err);
  }

  #clearTimers(): void {
    clearTimeout(this.#timer);
    clearTimeout(this.#stable);
    this.#hb?.stop();
  }

  async #open(reason: string): Promise<void> {
    this.#clearTimers();
    const gen = ++this.#gen;
    const ms = this.#o.connectTimeout ?? 10000;
    this.#ctl.set({ state: 'connecting', reason, retryAt: null, attempt: this.#attempt });
    this.#timer = setTimeout(
      () => this.#lost(CloseCode.connectTimeout, 'connect timeout', new ConnectionError('connect-timeout', `surewire: not open within ${ms} ms`)),
      ms,
    );
    try {
      const url = String(await resolve(this.#url));
      const protocols = await resolve(this.#o.protocols);
      if (gen != this.#gen) return;
      // Callbacks of this attempt only; one fired from inside connect() waits until the connection is stored.
      // Every frame passes through here, so the common case allocates nothing.
      let held: (() => void)[] | undefined = [];
      const live = <F extends (a: never, b: never) => void>(fn: F): F =>
        ((a: never, b: never) => {
          if (held) held.push(() => gen == this.#gen && fn(a, b));
          else if (gen == this.#gen) fn(a, b);
        }) as F;
      this.#conn = this.#transport.connect({
        url,
        protocols,
        WebSocket: this.#o.WebSocket,
        open: live((info) => this.#opened(info?.recovered)),
        frame: live((f) => this.#frame(f as Frame)),
        close: live((code, why) => this.#closed(code, why)),
        error: live((e) => this.#error(new ConnectionError('socket', 'surewire: socket error', e))),
        rtt: live((rtt) => this.#rtt(rtt)),
      });
      const early = held;
      held = undefined;
      early.forEach((run) => run());
    } catch (e) {
      // A provider that threw or rejected, or a URL the WebSocket constructor refused: a failed attempt.
      if (gen == this.#gen) this.#lost(1006, 'connect failed', new ConnectionError('url', 'surewire: could not start a connection attempt', e));
    }
  }

  #rtt(rtt: number): void {
    this.#ctl.set({ rtt });
    this.#ctl.emit('heartbeat', { rtt });
  }

  #opened(recovered?: boolean): void {
    clearTimeout(this.#timer);
    const rc = this.#rc;
    if (rc) {
      this.#stable = setTimeout(() => {
        this.#attempt = 0;
        this.#ctl.set({ attempt: 0 });
      }, rc.stableAfter);
    }
    this.#outbox?.flush((f) => this.#conn!.send(f));
    this.#hb?.start();
    this.#ctl.set({ state: 'open', reason: 'open', queued: this.#outbox?.length ?? 0 });
    this.#ctl.emit('open', recovered === undefined ? { attempt: this.#attempt } : { attempt: this.#attempt, recovered });
  }

  #frame(f: Frame): void {
    if (this.#hb?.seen(f)) return;
    let p: Packet;
    try {
      p = this.#codec.decode(f);
      if (!Array.isArray(p.args)) throw new TypeError('the codec returned a packet without args');
    } catch (e) {
      return this.#error(new DecodeError(f, e));
    }
    if (p.event != null) this.#ev.emit(p.event, ...p.args);
    else if (p.id != null) {
      const r = this.#settle(p.id);
      if (r) 'error' in p ? r.reject(new RemoteError(p.error)) : r.resolve(p.args[0] as never);
    }
  }

  /** Gives up on the current socket or attempt from the client's side. */
  #lost(code: number, reason: string, error: SurewireError): void {
    const gen = this.#gen;
    this.#error(error);
    if (gen != this.#gen) return; // an error listener called close() or reconnect()
    const c = this.#conn;
    this.#conn = undefined;
    c?.close(code, reason);
    this.#closed(code, reason);
  }

  // Requests already on the wire can no longer be answered; those still queued go out after the next open.
  #rejectInFlight(code: number): void {
    for (const [id, r] of this.#reqs) {
      if (!this.#outbox?.has(r.frame)) this.#settle(id)!.reject(new ClosedError('closed', `surewire: the connection closed (${code}) before a reply`));
    }
  }

  #closed(code: number, reason: string): void {
    const gen = ++this.#gen;
    this.#conn = undefined;
    this.#clearTimers();
    this.#rejectInFlight(code);
    const rc = this.#rc;
    const retry =
      !!rc &&
      this.#attempt < rc.maxRetries &&
      (rc.shouldReconnect ? rc.shouldReconnect({ code, reason }) : !isStopCode(code, rc.stopCodes));
    this.#ctl.emit('close', { code, reason, willReconnect: retry });
    if (gen != this.#gen) return; // a close listener called close() or reconnect()
    if (retry) {
      const delay = computeDelay(this.#attempt++, rc);
      this.#timer = setTimeout(() => this.#open('retry'), delay);
      this.#ctl.set({ state: 'reconnecting', reason: reason || `closed (${code})`, attempt: this.#attempt, retryAt: Date.now() + delay });
      this.#ctl.emit('reconnecting', { attempt: this.#attempt, delay });
    } else {
      const why = !rc ? 'reconnect disabled' : this.#attempt >= rc.maxRetries ? 'max retries' : `close code ${code}`;
      this.#ctl.set({ state: 'closed', reason: why, retryAt: null });
    }
  }
}
