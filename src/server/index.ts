// `surewire/server`: the server side of the reliable-delivery protocol (PROTOCOL.md) for `ws` and socket.io
// servers. It imports neither library: the app passes its own sockets in.
import { jsonCodec, type Codec } from '../codec';
import { Engine } from './session';
import { memoryStore, type Store } from './store';
import { attachSocketIo, type SocketIoSocket } from './socketio';
import { attachWs, type FrameInfo, type WsSocket } from './ws';

export { memoryStore, type Store, type StoredMessage, type SessionRecord, type MemoryStoreOptions, type StoreNews } from './store';
export { CloseCode } from '../close-codes';
export type { WsSocket, FrameInfo } from './ws';
export type { SocketIoSocket } from './socketio';

/** Options of `reliable()`. */
export interface ReliableServerOptions {
  /**
   * The app's handler of client messages: called **once** per message, in the order the client sent them,
   * one at a time per session (messages of different sessions are handled concurrently). It may be async:
   * the session's next message, and the `$ack` of this one, wait for it. If it throws or rejects, `onError`
   * hears of it and the message still counts as handled: it is not handed over again.
   */
  onMessage: (session: string, event: string, ...args: unknown[]) => unknown;
  /** Where sessions live. @default memoryStore() */
  store?: Store;
  /** Frames (ws) larger than this many bytes close the connection with 1009. @default 1048576 (1 MiB) */
  maxFrame?: number;
  /**
   * Client messages received on one connection and not yet stored and handled. One more is a flood: the
   * connection closes with 1013 (the client reconnects later and resends). @default 1000
   */
  maxPending?: number;
  /** The longest wait between storing a message and acknowledging it; one `$ack` covers everything stored meanwhile. In ms. @default 5 */
  ackDelay?: number;
  /** A connection that has not said `$hello` after this many ms closes with 1008; `false` waits forever. @default 10000 */
  helloTimeout?: number | false;
  /** The codec (ws only: socket.io carries packets as they are). Must match the clients'. @default jsonCodec */
  codec?: Codec<unknown>;
  /** The heartbeat frames (ws only), answered at any time; `false` leaves `ping` to `onFrame`. @default { ping: 'ping', pong: 'pong' } */
  heartbeat?: false | { ping: string; pong: string };
  /**
   * Frames (ws) that are not the protocol's, after the connection's `$hello`: plain events, requests,
   * replies, binary. `info.packet` is the frame decoded by the codec (`undefined` if it could not be).
   * Over socket.io, such events simply reach the socket's own listeners.
   */
  onFrame?: (ws: WsSocket, frame: string | Buffer, info: FrameInfo) => void;
  /** Errors of the store, of `onMessage` and of `onFrame`, with the session they concern. @default console.error */
  onError?: (error: unknown, session: string | undefined) => void;
}

/** The server side of the protocol, made by `reliable()`. */
export interface ReliableServer {
  /** Speaks the protocol on a `ws` WebSocket: call it from `wss.on('connection')`. Answers `ping` with `pong`. */
  ws(socket: WsSocket): void;
  /**
   * Speaks the protocol on a socket.io server `Socket`: call it from `io.on('connection')`, before adding
   * middlewares of your own with `socket.use`. Replaces socket.io's connection state recovery (which must be
   * off) and per-message acknowledgements for these messages.
   */
  socketIo(socket: SocketIoSocket): void;
  /** The session a socket said `$hello` for (also after it closed), or `undefined` (not yet, or not a socket of this server). */
  session(socket: WsSocket | SocketIoSocket): string | undefined;
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
  throw new TypeError(`surewire: reliable: \`${name}\` must be a ${finite ? 'finite ' : ''}number >= ${min}, got ${String(v)}`);
};

/**
 * The server side of surewire's reliable delivery (PROTOCOL.md): every client message handed to
 * `onMessage` once and in order, deduplicated across reconnects, acknowledged in batches; server messages
 * kept per session and replayed after a reconnect.
 *
 * @example
 * import { WebSocketServer } from 'ws';
 * import { reliable } from 'surewire/server';
 * const server = reliable({ onMessage: async (session, event, ...args) => save(session, event, args) });
 * new WebSocketServer({ port: 8080 }).on('connection', (ws) => server.ws(ws));
 * await server.send(session, 'notice', 'hello');
 *
 * @example
 * // socket.io (connectionStateRecovery off: the protocol replaces it)
 * io.on('connection', (socket) => server.socketIo(socket));
 */
export function reliable(options: ReliableServerOptions): ReliableServer {
  if (typeof options?.onMessage != 'function') throw new TypeError('surewire: reliable: `onMessage` must be a function');
  const onError = options.onError ?? ((e: unknown, session: string | undefined) => console.error(`surewire/server${session ? ` (session ${session})` : ''}:`, e));
  const helloTimeout = options.helloTimeout ?? 10_000;
  const engine = new Engine({
    store: options.store ?? memoryStore(),
    onMessage: options.onMessage,
    onError,
    ackDelay: count('ackDelay', options.ackDelay ?? 5, 0, true),
    maxPending: count('maxPending', options.maxPending ?? 1000, 1),
    helloTimeout: helloTimeout === false ? false : count('helloTimeout', helloTimeout, 1, true),
  });
  const ws = {
    codec: options.codec ?? jsonCodec,
    maxFrame: count('maxFrame', options.maxFrame ?? 1 << 20, 1),
    heartbeat: options.heartbeat ?? { ping: 'ping', pong: 'pong' },
    onFrame: options.onFrame,
    onError,
  };
  const conns = new WeakMap<object, ReturnType<typeof attachWs>>();
  return {
    ws: (socket) => void conns.set(socket, attachWs(engine, socket, ws)),
    socketIo: (socket) => void conns.set(socket, attachSocketIo(engine, socket)),
    session: (socket) => conns.get(socket)?.session?.id,
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

