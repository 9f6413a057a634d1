// `surewire/server`: the server side of the reliable-delivery protocol (PROTOCOL.md) for `ws` and socket.io
// servers. It imports neither library: the app passes its own sockets in.
import type { IncomingMessage } from 'node:http';
import { jsonCodec, type Codec } from '../codec';
import { OptionError } from '../errors';
import { Engine, MAX_SEQ_JUMP } from './session';
import { memoryStore, type Store } from './store';
import { attachSocketIo, type SocketIoHandshake, type SocketIoSocket } from './socketio';
import { attachWs, type FrameInfo, type WsSocket } from './ws';

export { memoryStore, type Store, type StoredMessage, type SessionRecord, type MemoryStoreOptions, type MemoryStore, type StoreNews } from './store';
export { CloseCode } from '../close-codes';
export { SurewireError, OptionError, isSurewireError, type ErrorCode } from '../errors';
export type { WsSocket, FrameInfo } from './ws';
export type { SocketIoSocket, SocketIoHandshake } from './socketio';
export { MAX_SEQ_JUMP };

/** What `authenticate` is told of a `$hello`. */
export interface HelloInfo {
  /** The session id the client said `$hello` for. */
  session: string;
  /** ws: the HTTP upgrade request, as the app passed it to `server.ws(socket, request)`. */
  request?: IncomingMessage;
  /** socket.io: `socket.handshake` (headers, query, `auth`, address). */
  handshake?: SocketIoHandshake;
}

/** Options of `reliable()`. */
export interface ReliableServerOptions {
  /**
   * The app's handler of client messages: called **once** per message, in the order the client sent them,
   * one at a time per session (messages of different sessions are handled concurrently). It may be async:
   * the session's next message, and the `$ack` of this one, wait for it. If it throws or rejects, `onError`
   * hears of it and the message still counts as handled: it is not handed over again.
   */
  onMessage: (session: string, event: string, ...args: unknown[]) => unknown;
  /**
   * Who is saying `$hello`: called on every `$hello` (every connection) with the session id and the
   * connection's upgrade request (ws) or handshake (socket.io). Returns (or resolves with) the principal, a
   * non-empty string naming who the client is (a user id from a verified token or cookie); anything else
   * refuses the connection (1008, the client stops). If it throws or rejects, `onError` hears of it and the
   * connection closes with 1011 (the client tries again).
   *
   * A session is bound to the principal that opens it first; a `$hello` for it from another principal is
   * refused (1008) and changes nothing of the session. Without `authenticate`, every client is the same
   * principal: a session id is then a bearer secret (whoever knows it can take the session over, read what
   * it is sent and send as it), and ids shorter than 22 characters (128 bits) are refused. The limits below
   * count per principal, or without `authenticate` per remote address.
   * @default undefined (no principal: session ids are bearer secrets)
   */
  authenticate?: (hello: HelloInfo) => string | false | null | undefined | Promise<string | false | null | undefined>;
  /**
   * Answers requests (`client.request(event, ...args)`): over ws a frame with an id (the codec's request), over
   * socket.io an event with an acknowledgement. Its result (or what it resolves with) is the reply; if it throws
   * or rejects, the client's request rejects with a `RemoteError` whose `data` is the error's message (never its
   * stack; a thrown non-Error value is sent as is). Requests come after `$hello`, are not sequenced, and at most
   * `maxPending` per connection wait for an answer. Without it, requests go to `onFrame` (ws) or the
   * socket's listeners (socket.io). @default undefined
   */
  onRequest?: (session: string, event: string, ...args: unknown[]) => unknown;
  /** Where sessions live. @default memoryStore() */
  store?: Store;
  /**
   * The largest frame (ws) a client may send, in bytes: larger ones close the connection with 1009. Give it
   * to `ws` as `maxPayload` (`new WebSocketServer({ ...server.wsOptions })`), so that `ws` refuses a larger
   * frame from its header, before buffering it (`server.ws()` also lowers a larger `maxPayload` of the socket
   * it is given). Over socket.io the limit is socket.io's `maxHttpBufferSize` (default 1e6 bytes): `socketIo()`
   * throws an `OptionError` when it is larger. @default 1048576 (1 MiB)
   */
  maxFrame?: number;
  /**
   * Bytes waiting to be written towards one client (a client that stops reading): past this, the next frame
   * closes the connection with 1013 instead of being buffered; the client gets the server's messages from the
   * history when it comes back. A frame is always let through while less than this waits, whatever its size;
   * a replay is paced to half of it (and a client that takes none of it for `helloTimeout` is closed with
   * 1013). Over socket.io, the bytes engine.io holds are counted in UTF-16 units. @default 4194304 (4 MiB)
   */
  maxBuffered?: number;
  /**
   * Client messages received on one connection and not yet stored and handled (and as many requests waiting for
   * `onRequest`, and frames waiting for the `$welcome`). One more is a flood: the connection closes with 1013
   * (the client reconnects later and resends). A client's `reliable({ window })` (3600 by default) stays under it. @default 4000
   */
  maxPending?: number;
  /** Sessions of one principal connected to this server at once; one more `$hello` closes with 1013. @default 100 */
  maxSessionsPerPrincipal?: number;
  /**
   * New sessions (unknown to the store) one principal may open per second, on average, in bursts of up to ten
   * seconds' worth; beyond, the `$hello` closes with 1013 and nothing is created. @default 10
   */
  newSessionsPerSecond?: number;
  /**
   * Takeovers of one session per minute, on average, in bursts of up to 5: a `$hello` for a session that is
   * connected (a reload, a second tab, a connection the server has not seen die) closes the older
   * connection with 1001. Beyond the rate, the newer one closes with 1013 and the older one stays. @default 20
   */
  takeoversPerMinute?: number;
  /**
   * The longest wait between storing a message and acknowledging it; one `$ack` covers everything stored meanwhile.
   * Once 128 messages wait for one, the `$ack` goes at once (a client's window is 3600 by default). In ms. @default 5
   */
  ackDelay?: number;
  /**
   * A connection that has not said `$hello` after this many ms closes with 1008; one whose `$hello` is not
   * answered by then (a slow `authenticate` or store) with 1013. `false` waits forever. @default 10000
   */
  helloTimeout?: number | false;
  /** The codec (ws only: socket.io carries packets as they are). Must match the clients'. @default jsonCodec */
  codec?: Codec<unknown>;
  /** The heartbeat frames (ws only), answered at any time; `false` leaves the ping to `onFrame`. @default { ping: '["ping"]', pong: '["pong"]' } (the client's default) */
  heartbeat?: false | { ping: string; pong: string };
  /**
   * Frames (ws) that are not the protocol's, after the connection's `$welcome`: plain events, requests
   * (without `onRequest`), replies, binary. `info.packet` is the frame decoded by the codec (`undefined` if it
   * could not be). Over socket.io, such events simply reach the socket's own listeners.
   */
  onFrame?: (ws: WsSocket, frame: string | Buffer, info: FrameInfo) => void;
  /**
   * Errors of the store, of `onMessage`, `authenticate` and `onFrame`, and messages that could not be encoded
   * for a client (code `encode`: not sent), with the session they concern. @default console.error
   */
  onError?: (error: unknown, session: string | undefined) => void;
}

/** The server side of the protocol, made by `reliable()`. */
export interface ReliableServer {
  /**
   * Speaks the protocol on a `ws` WebSocket: call it from `wss.on('connection', (socket, request) => …)` with
   * both (the request is what `authenticate` reads, and required with it). Answers the client's heartbeat ping.
   * Brings the socket's `maxPayload` down to `maxFrame` when it is larger (see `wsOptions`).
   */
  ws(socket: WsSocket, request?: IncomingMessage): void;
  /** Options to give `new WebSocketServer()`: `maxPayload` set to `maxFrame`, so that `ws` never buffers a larger frame. */
  readonly wsOptions: {
    /** The largest frame `ws` accepts, in bytes: `maxFrame`. */
    maxPayload: number;
  };
  /**
   * Speaks the protocol on a socket.io server `Socket`: call it from `io.on('connection')`, before adding
   * middlewares of your own with `socket.use`. Replaces socket.io's connection state recovery (which must be
   * off) and per-message acknowledgements for these messages.
   */
  socketIo(socket: SocketIoSocket): void;
  /**
   * The session a socket was welcomed for (also after it closed), or `undefined` (not yet, refused, or not a
   * socket of this server).
   */
  session(socket: WsSocket | SocketIoSocket): string | undefined;
  /** The principal of a session that has a connection or work in progress on this server (`''` without `authenticate`). */
  principal(session: string): string | undefined;
  /**
   * Sends a message reliably to a session: appends it to the session's history with the next offset, and
   * delivers it now if the session is connected to this server (otherwise on its next `$hello`, from the
   * history). Resolves with the offset; rejects if the store fails. Event names starting with `$` are refused.
   */
  send(session: string, event: string, ...args: unknown[]): Promise<number>;
  /**
   * `send` to every session the store knows (`store.sessions()`; without it, the sessions connected to this
   * process). Resolves with the number of sessions it was sent to.
   */
  broadcast(event: string, ...args: unknown[]): Promise<number>;
  /**
   * Final: closes every connection with 1001 (the clients reconnect, to another process or later), releases
   * every timer, and resolves once the handlers and store calls in progress have settled.
   */
  close(): Promise<void>;
}

const count = (name: string, v: unknown, min: number, finite = false): number => {
  if (typeof v == 'number' && v >= min && (finite ? v < 2 ** 31 : !Number.isNaN(v))) return v;
  throw new OptionError(name, v, `a ${finite ? 'finite ' : ''}number >= ${min}`);
};

/** A part of a `ws` socket with a payload limit (0: none). */
interface Limited {
  _maxPayload?: unknown;
}

const limit = (o: Limited | undefined, max: number): void => {
  if (o && typeof o._maxPayload == 'number' && (o._maxPayload <= 0 || o._maxPayload > max)) o._maxPayload = max;
};

const fn = <T>(name: string, v: T): T => {
  if (v === undefined || typeof v == 'function') return v;
  throw new OptionError(name, v, 'a function');
};

/**
 * The server side of surewire's reliable delivery (PROTOCOL.md): every client message handed to
 * `onMessage` once and in order, deduplicated across reconnects, acknowledged in batches; server messages
 * kept per session and replayed after a reconnect.
 *
 * @example
 * import { WebSocketServer } from 'ws';
 * import { reliable } from 'surewire/server';
 * const server = reliable({
 *   authenticate: ({ request }) => userOf(request), // a verified token or cookie → a user id
 *   onMessage: async (session, event, ...args) => save(server.principal(session), event, args),
 *   onRequest: (session, event, ...args) => answer(event, args),
 * });
 * new WebSocketServer({ port: 8080, ...server.wsOptions }).on('connection', (ws, req) => server.ws(ws, req));
 * await server.send(session, 'notice', 'hello');
 *
 * @example
 * // socket.io (connectionStateRecovery off: the protocol replaces it; maxHttpBufferSize at most maxFrame)
 * io.on('connection', (socket) => server.socketIo(socket));
 */
export function reliable(options: ReliableServerOptions): ReliableServer {
  if (typeof options?.onMessage != 'function') throw new OptionError('onMessage', options?.onMessage, 'a function');
  const onError =
    fn('onError', options.onError) ??
    ((e: unknown, session: string | undefined) => console.error(`surewire/server${session ? ` (session ${session})` : ''}:`, e));
  const authenticate = fn('authenticate', options.authenticate);
  const onRequest = fn('onRequest', options.onRequest);
  const helloTimeout = options.helloTimeout ?? 10_000;
  const maxFrame = count('maxFrame', options.maxFrame ?? 1 << 20, 1);
  const engine = new Engine({
    store: options.store ?? memoryStore(),
    onMessage: options.onMessage,
    onRequest,
    onError,
    authenticate: authenticate && ((session, peer) => authenticate({ session, ...(peer as Omit<HelloInfo, 'session'>) })),
    ackDelay: count('ackDelay', options.ackDelay ?? 5, 0, true),
    maxPending: count('maxPending', options.maxPending ?? 4000, 1),
    maxBuffered: count('maxBuffered', options.maxBuffered ?? 4 << 20, 0),
    helloTimeout: helloTimeout === false ? false : count('helloTimeout', helloTimeout, 1, true),
    maxSessionsPerPrincipal: count('maxSessionsPerPrincipal', options.maxSessionsPerPrincipal ?? 100, 1),
    newSessionsPerSecond: count('newSessionsPerSecond', options.newSessionsPerSecond ?? 10, 0),
    takeoversPerMinute: count('takeoversPerMinute', options.takeoversPerMinute ?? 20, 0),
  });
  const ws = {
    codec: options.codec ?? jsonCodec,
    maxFrame,
    requests: !!onRequest,
    heartbeat: options.heartbeat ?? { ping: '["ping"]', pong: '["pong"]' },
    onFrame: fn('onFrame', options.onFrame),
    onError,
  };
  const sio = { maxFrame, requests: !!onRequest, onError };
  const conns = new WeakMap<object, ReturnType<typeof attachWs>>();
  return {
    ws(socket, request) {
      // `ws` refuses a frame over its `maxPayload` from the frame's header, before buffering it; the helper's own
      // check comes after. So a larger (or unlimited) `maxPayload` is brought down to `maxFrame`, on the
      // receiver and on the decompressor (which would inflate that much first).
      const raw = socket as { _receiver?: Limited; _extensions?: Record<string, Limited | undefined> };
      limit(raw._receiver, maxFrame);
      limit(raw._extensions?.['permessage-deflate'], maxFrame);
      if (authenticate && !request)
        throw new OptionError('request', request, 'the upgrade request, which authenticate reads: server.ws(socket, request)');
      conns.set(socket, attachWs(engine, socket, request, ws));
    },
    wsOptions: { maxPayload: maxFrame },
    socketIo: (socket) => void conns.set(socket, attachSocketIo(engine, socket, sio)),
    session: (socket) => {
      const c = conns.get(socket);
      return c && engine.sessionOf(c);
    },
    principal: (session) => engine.principal(session),
    send: (session, event, ...args) => engine.send(session, event, args),
    async broadcast(event, ...args) {
      let n = 0;
      const sent: Promise<number>[] = [];
      for (const id of await engine.ids()) sent.push(engine.send(id, event, args)), n++;
      await Promise.all(sent);
      return n;
    },
    close: () => engine.shutdown(),
  };
}
