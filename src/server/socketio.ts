// The socket.io adapter: a socket.io server `Socket` becomes a protocol connection. Protocol frames are
// events (`socket.emit('$m', n, event, ...args)`), taken by a `socket.use` middleware before the app's
// listeners; everything else passes on to them.
import { CloseCode } from '../close-codes';
import { OptionError, SurewireError } from '../errors';
import type { Conn, Engine } from './session';

/** What socket.io tells of the handshake that opened a socket (its `socket.handshake`). */
export interface SocketIoHandshake {
  headers: Record<string, string | string[] | undefined>;
  query: Record<string, unknown>;
  /** What the client's `auth` option sent. */
  auth: Record<string, unknown>;
  address: string;
}

/** The engine.io connection under a socket, as far as the helper reads it. */
interface EngineIoConn {
  close(discard?: boolean): unknown;
  on?(event: string, listener: (...args: any[]) => void): unknown; // eslint-disable-line @typescript-eslint/no-explicit-any
  off?(event: string, listener: (...args: any[]) => void): unknown; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly transport?: { readonly socket?: { readonly bufferedAmount?: number } };
}

/**
 * The part of a socket.io server `Socket` the helper uses (structural, so surewire needs neither
 * `socket.io` nor its types: a `Socket` from `socket.io` fits as is).
 */
export interface SocketIoSocket {
  emit(event: string, ...args: unknown[]): unknown;
  use(fn: (packet: unknown[], next: (err?: Error) => void) => void): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- socket.io's own listener types
  on(event: 'disconnect', listener: (...args: any[]) => void): unknown;
  disconnect(close?: boolean): unknown;
  /** The engine.io connection under the socket. */
  readonly conn: { close(discard?: boolean): unknown };
  readonly handshake?: SocketIoHandshake;
  /** Read to refuse a server with connection state recovery on, or a packet limit above `maxFrame` (see `socketIo`). */
  readonly nsp?: {
    readonly server?: {
      readonly _opts?: { readonly connectionStateRecovery?: unknown };
      readonly engine?: { readonly opts?: { readonly maxHttpBufferSize?: number } };
    };
  };
}

export interface SocketIoAdapterOptions {
  onError: (error: unknown, session: string | undefined) => void;
  maxFrame: number;
  /** Set when events with an acknowledgement go to `onRequest` rather than the socket's listeners. */
  requests: boolean;
}

const size = (d: unknown): number => (typeof d == 'string' ? d.length : ((d as { byteLength?: number } | undefined)?.byteLength ?? 0));

/** Wires one socket.io socket to the engine. */
export function attachSocketIo(engine: Engine, socket: SocketIoSocket, o: SocketIoAdapterOptions): Conn {
  const { onError } = o;
  const server = socket.nsp?.server;
  if (server?._opts?.connectionStateRecovery)
    throw new OptionError(
      'connectionStateRecovery',
      server._opts.connectionStateRecovery,
      "false: surewire's protocol replaces socket.io's connection state recovery, which appends an offset to every event the server emits",
    );
  const limit = server?.engine?.opts?.maxHttpBufferSize;
  if (typeof limit == 'number' && limit > o.maxFrame)
    throw new OptionError(
      'maxHttpBufferSize',
      limit,
      `at most reliable()'s maxFrame (${o.maxFrame}), so that no larger packet is buffered: new Server(http, { maxHttpBufferSize: ${o.maxFrame} })`,
    );
  let gone = false;
  // Bytes waiting towards the client: packets engine.io holds while its transport is busy (a reader that does
  // not read keeps it busy), counted as they are made and cleared as they leave, plus what the WebSocket under
  // it buffers.
  const eio = socket.conn as EngineIoConn;
  let queued = 0;
  const made = (p: { data?: unknown }): void => void (queued += size(p.data));
  const flushed = (): void => void (queued = 0);
  eio.on?.('packetCreate', made);
  eio.on?.('flush', flushed);
  const conn = engine.attach({
    peer: { handshake: socket.handshake, address: socket.handshake?.address },
    buffered: () => queued + (eio.transport?.socket?.bufferedAmount ?? 0),
    send(event, args) {
      if (gone) return;
      try {
        socket.emit(event, ...args);
      } catch (e) {
        // An app message socket.io cannot write (nesting deeper than the stack): never sent, but said.
        onError(new SurewireError('encode', `could not encode ${event} ${String(args[0])}: not sent`, e), conn.session?.id);
      }
    },
    close(code, reason) {
      if (gone) return;
      gone = true;
      // socket.io carries no close code. A namespace disconnect reaches the client as `io server disconnect`,
      // which surewire's transport reads as 1008 (do not reconnect); closing the engine.io connection reaches
      // it as `transport close` (1006: reconnect). So 1008 and 1009 disconnect, 1001 and 1013 close the transport.
      // 1013 discards what engine.io still holds (it would wait for a slow reader to take it first); the
      // client gets it again from the history.
      if (code == CloseCode.violation || code == CloseCode.tooBig) socket.disconnect();
      else socket.conn.close(code == CloseCode.tryAgain);
    },
  });
  socket.on('disconnect', () => {
    gone = true;
    eio.off?.('packetCreate', made);
    eio.off?.('flush', flushed);
    engine.detach(conn);
  });
  socket.use((packet, next) => {
    if (conn.closed) return;
    const [event, ...args] = packet;
    if (typeof event == 'string' && event[0] == '$') {
      // Protocol frames carry no socket.io acknowledgement, and never reach the app's listeners.
      if (typeof args[args.length - 1] == 'function') return engine.close(conn, CloseCode.violation, `malformed ${event}: with an acknowledgement`);
      return engine.receive(conn, event, args);
    }
    const ack = args[args.length - 1];
    engine.admit(conn, () => {
      if (!(o.requests && typeof ack == 'function' && typeof event == 'string')) return next();
      // A throw reaches the client as `{ $error: message }`, which its transport turns into a RemoteError.
      engine.request(conn, event, args.slice(0, -1), (failed, value) => void (ack as (v: unknown) => void)(failed ? { $error: value } : value));
    });
  });
  return conn;
}
