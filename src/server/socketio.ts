// The socket.io adapter: a socket.io server `Socket` becomes a protocol connection. Protocol frames are
// events (`socket.emit('$m', n, event, ...args)`), taken by a `socket.use` middleware before the app's
// listeners; everything else passes on to them.
import { CloseCode } from '../close-codes';
import type { Conn, Engine } from './session';

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
  readonly conn: { close(): unknown };
  /** Read to refuse a server with connection state recovery on (see `socketIo`). */
  readonly nsp?: { readonly server?: { readonly _opts?: { readonly connectionStateRecovery?: unknown } } };
}

/** Wires one socket.io socket to the engine. */
export function attachSocketIo(engine: Engine, socket: SocketIoSocket): Conn {
  if (socket.nsp?.server?._opts?.connectionStateRecovery)
    throw new TypeError(
      'surewire: reliable().socketIo: turn socket.io\'s `connectionStateRecovery` off: the protocol replaces it, and it appends an offset to every event the server emits',
    );
  let gone = false;
  const conn = engine.attach({
    send(event, args) {
      if (!gone) socket.emit(event, ...args);
    },
    close(code, reason) {
      if (gone) return;
      gone = true;
      // socket.io carries no close code. A namespace disconnect reaches the client as `io server disconnect`,
      // which surewire's transport reads as 1008 (do not reconnect); closing the engine.io connection reaches
      // it as `transport close` (1006: reconnect). So 1008 and 1009 disconnect, 1001 and 1013 close the transport.
      if (code == CloseCode.violation || code == CloseCode.tooBig) socket.disconnect();
      else socket.conn.close();
    },
  });
  socket.on('disconnect', () => {
    gone = true;
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
    if (!engine.greeted(conn)) return engine.close(conn, CloseCode.violation, 'expected $hello first');
    next();
  });
  return conn;
}
