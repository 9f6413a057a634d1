// Types only: the app passes socket.io-client's `io` in, so surewire never bundles socket.io-client.
import type { ManagerOptions, Socket, SocketOptions } from 'socket.io-client';
import { isBinary, type Packet } from '../codec';
import type { Transport, TransportContext } from '../transport';

/** socket.io-client's `io` function, or anything with its signature. */
export type SocketIoFactory = (url: string, options: Partial<ManagerOptions & SocketOptions>) => Socket;

// socket.io-client's own event names, which `emit` refuses; made once, not per send.
const RESERVED = /^(connect(_error)?|disconnect(ing)?|newListener|removeListener)$/;

// Binary data anywhere in a value (socket.io sends it as attachments).
const hasBinary = (v: unknown): boolean =>
  isBinary(v) || (!!v && typeof v == 'object' && Object.values(v).some(hasBinary));

/**
 * The namespace handshake's `auth` payload: an object, socket.io-client's callback form `(cb) => cb(data)`,
 * or a function returning the object or a promise of it. A function runs before **every** attempt, so
 * each reconnect carries a fresh token. If it throws or rejects, the attempt fails (close code 1006) and
 * the backoff goes on.
 */
export type SocketIoAuth = SocketIoAuthData | ((cb: (data: SocketIoAuthData) => void) => SocketIoAuthData | Promise<SocketIoAuthData> | void);

/** The `auth` payload itself: a plain object (not a function or a promise). */
export type SocketIoAuthData = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [key: string]: any;
  /** Not allowed: a function is the other form of `auth`. */
  bind?: never;
  /** Not allowed: a promise is returned by the function form of `auth`. */
  then?: never;
};

/**
 * socket.io-client's options (`path`, `transports`, `query`, `extraHeaders`, `withCredentials`, `parser`, …),
 * without those surewire owns: reconnection and its backoff, the connect timeout, `autoConnect`, the
 * send buffer's `retries`/`ackTimeout` (use `request`'s timeout), and `forceNew`/`multiplex` (each
 * transport has its own Manager).
 */
export type SocketIoOptions = Omit<
  Partial<ManagerOptions & SocketOptions>,
  | 'auth'
  | 'autoConnect'
  | 'forceNew'
  | 'multiplex'
  | 'reconnection'
  | 'reconnectionAttempts'
  | 'reconnectionDelay'
  | 'reconnectionDelayMax'
  | 'randomizationFactor'
  | 'timeout'
  | 'retries'
  | 'ackTimeout'
> & {
  /** The namespace handshake's payload; a function runs before every attempt (a fresh token each time). */
  auth?: SocketIoAuth;
};

/**
 * The socket.io transport: the same typed client over socket.io-client (4.x), with surewire's backoff,
 * outbox and lifecycle. socket.io's own reconnection, connect timeout and send buffer are off: one owner.
 *
 * ```ts
 * import { io } from 'socket.io-client';
 * import { socketIo } from 'surewire/socket.io';
 * const chat = new Surewire<ServerToClientEvents, ClientToServerEvents>('https://chat.example/room', {
 *   transport: socketIo(io, { auth: async () => ({ token: await getToken() }) }),
 * });
 * ```
 *
 * - The URL's path is the namespace (`https://host/admin`); socket.io's `path` option is the endpoint.
 *   The `WebSocket` and `protocols` options of the client do not apply.
 * - `send(event, ...args)` is `socket.emit(event, ...args)`: several arguments and binary ones work as in
 *   socket.io (binary arrives as `ArrayBuffer` in browsers, `Buffer` in Node). socket.io's reserved names
 *   (`connect`, `disconnect`, …) make `send` throw an `encode` error. A message is handed to socket.io only
 *   while connected; otherwise it waits in surewire's outbox.
 * - `request(event, ...args)` emits with an acknowledgement callback and resolves with the ack's **first**
 *   argument; an ack of `{ $error: data }` (one own key, `$error`) rejects with a `RemoteError` carrying `data`. The client's timeout applies (socket.io's `ackTimeout` is not used); a late ack is ignored.
 * - A server event emitted with an ack reaches the listener with socket.io's ack function as its last
 *   argument: call it to answer, as in socket.io-client.
 * - Connection state recovery: `open` carries `recovered`. socket.io-client recovers only on the same Socket,
 *   so one Manager and Socket serve every attempt to the same URL (a URL that changes per attempt gets a new
 *   Socket and never recovers: pass tokens in `auth`, not in the URL). The server resumes from the offset of
 *   the last event received, so a client that got no event yet starts afresh; with recovery on, socket.io
 *   appends that offset to server events as an extra last argument, which listeners see as in socket.io-client.
 * - Liveness is engine.io's: the server pings, and the client closes with `ping timeout` when no ping came
 *   within `pingInterval + pingTimeout`. An engine.io v4 client cannot ping (the server rejects it as an
 *   "invalid heartbeat direction"), so no round trip can be timed on a quiet connection. Instead the
 *   `heartbeat` event and `snapshot.rtt` report, once per open, the time from the engine being open to the
 *   namespace's `connect`: one round trip of the CONNECT packet over the transport carrying it (HTTP
 *   long-polling by default, WebSocket with `transports: ['websocket']`), plus the server's middlewares.
 * - `close(code, reason)` disconnects (the server sees `client namespace disconnect`); socket.io cannot carry
 *   the code and reason. It releases the Socket, its Manager and engine, and their timers.
 * - `queue.storage` keeps queued packets as JSON, except those with binary data, which stay in memory only.
 *
 * How a socket.io end becomes a close code, which the close-code table (or `reconnect.shouldReconnect`) judges:
 *
 * | socket.io                                                        | code | close reason           | reconnects? |
 * |------------------------------------------------------------------|------|------------------------|-------------|
 * | `disconnect`: `io server disconnect` (the server's `socket.disconnect()`) | 1008 | `io server disconnect` | no |
 * | `connect_error` from a middleware (`next(err)`, e.g. auth refused) | 1008 | `err.message` (the `error` event's `cause` is `err`, with `err.data`) | no |
 * | `disconnect`: `ping timeout`                                     | 4000 | `ping timeout`         | yes         |
 * | `disconnect`: `transport close`, `transport error`, `parse error` | 1006 | the socket.io reason   | yes         |
 * | `connect_error` of the transport (refused, network, proxy)       | 1006 | `err.message`          | yes         |
 * | the `auth` function threw or rejected                            | 1006 | `auth failed`          | yes         |
 *
 * @param io socket.io-client's `io` (passed in, so surewire never bundles socket.io-client)
 * @param options socket.io-client's options; `auth` is evaluated before every attempt
 */
export function socketIo(io: SocketIoFactory, options: SocketIoOptions = {}): Transport {
  const { auth, ...o } = options;
  let url: string | undefined;
  let s: Socket;
  // The attempt that owns the socket; undefined once it ended or was closed.
  let cur: TransportContext | undefined;
  let t0 = 0;
  const end = (code: number, reason: string): void => {
    const c = cur;
    cur = undefined;
    s.disconnect();
    c?.close(code, reason);
  };
  return {
    codec: {
      encode(p) {
        if (RESERVED.test(p.event!)) throw Error(`reserved event "${p.event}"`);
        return p;
      },
      decode: (f: Packet) => f,
    },
    // A packet goes to `queue.storage` as JSON, which would turn binary data into `{}`: those stay in memory.
    // Also asked of what storage holds, so anything but a packet is refused.
    storable: (p: Packet) => typeof p?.event == 'string' && Array.isArray(p.args) && !hasBinary(p.args),
    heartbeat: false,
    connect(ctx) {
      if (ctx.url != url) {
        // One Socket per URL, kept across attempts: socket.io-client recovers a session only on the same Socket.
        const k = (s = io((url = ctx.url), { ...o, reconnection: false, autoConnect: false, forceNew: true, timeout: false as never }));
        k.io.on('open', () => (t0 = Date.now()));
        k.on('connect', () => {
          const rtt = Date.now() - t0;
          cur?.open({ recovered: !!k.recovered });
          cur?.rtt(rtt);
        });
        k.onAny((event: string, ...args: unknown[]) => cur?.frame({ event, args }));
        k.on('disconnect', (r) => cur && end(r == 'io server disconnect' ? 1008 : r == 'ping timeout' ? 4000 : 1006, r));
        // A middleware's refusal destroys the socket (not active); a transport failure leaves it active.
        k.on('connect_error', (e) => (cur?.error(e), cur && end(k.active ? 1006 : 1008, e.message)));
      }
      const k = s;
      cur = ctx;
      new Promise<unknown>((r) => {
        // A function may answer through socket.io's callback (returning nothing) or return the data.
        const v = typeof auth == 'function' ? auth(r) : auth || {};
        if (v) r(v);
      }).then(
        (a) => cur == ctx && ((k.auth = a as SocketIoAuthData), k.connect()),
        (e) => cur == ctx && (ctx.error(e), end(1006, 'auth failed')),
      );
      return {
        send(f) {
          const { event, args, id } = f as Packet;
          if (!k.connected) return false;
          // An ack of `{ $error }` (what `surewire/server` answers when `onRequest` throws) rejects with a RemoteError.
          const reply = (r: unknown): unknown =>
            r && typeof r == 'object' && Object.keys(r).join() == '$error' ? { id, args: [], error: (r as { $error: unknown }).$error } : { id, args: [r] };
          if (id == null) k.emit(event!, ...args);
          else k.emit(event!, ...args, (r: unknown) => cur == ctx && ctx.frame(reply(r)));
          // socket.io buffers an emit when its ping has just expired: take it back, the outbox keeps it
          // (emptied in place: no new array per send).
          const b = k.sendBuffer;
          return !b.length || ((b.length = 0), false);
        },
        close() {
          if (cur == ctx) (cur = undefined), k.disconnect();
        },
      };
    },
  };
}
