// The `ws` adapter: a `ws` WebSocket (or anything shaped like one) becomes a protocol connection.
import type { IncomingMessage } from 'node:http';
import type { Codec, Packet } from '../codec';
import { CloseCode } from '../close-codes';
import { SurewireError } from '../errors';
import type { Conn, Engine } from './session';

/**
 * The part of a `ws` WebSocket the helper uses (structural, so surewire needs neither `ws` nor its types:
 * a `WebSocket` from `ws` fits as is).
 */
export interface WsSocket {
  readonly readyState: number;
  /** Bytes queued towards the peer and not yet written to the network (read to bound a slow reader). */
  readonly bufferedAmount?: number;
  send(data: string | ArrayBufferLike | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- `ws`'s own listener types
  on(event: string, listener: (...args: any[]) => void): unknown;
}

/** What the helper tells `onFrame` about a frame that is not the protocol's. */
export interface FrameInfo {
  /** The session the connection said `$hello` for. */
  session: string;
  /** The frame decoded by the codec, or `undefined` when the codec could not decode it. */
  packet: Packet | undefined;
}

export interface WsAdapterOptions {
  codec: Codec<unknown>;
  maxFrame: number;
  /** Set when requests go to `onRequest` rather than `onFrame`. */
  requests: boolean;
  heartbeat: false | { ping: string; pong: string };
  onFrame: ((ws: WsSocket, frame: string | Buffer, info: FrameInfo) => void) | undefined;
  onError: (error: unknown, session: string | undefined) => void;
}

const OPEN = 1;

/** What `ws` hands a 'message' listener (a Buffer, an ArrayBuffer, or an array of Buffers for fragments), as one Buffer. */
const toBuffer = (d: unknown): Buffer =>
  Buffer.isBuffer(d) ? d : Array.isArray(d) ? Buffer.concat(d as Uint8Array[]) : Buffer.from(d as ArrayBuffer);

/** The TCP socket under a `ws` WebSocket (its `_socket`), when it can be corked. */
interface Corkable {
  cork(): void;
  uncork(): void;
}

const corkable = (ws: WsSocket): Corkable | undefined => {
  const s = (ws as { _socket?: Partial<Corkable> })._socket;
  return typeof s?.cork == 'function' && typeof s.uncork == 'function' ? (s as Corkable) : undefined;
};

// After the current callback and its microtasks (Node), or after the current microtasks elsewhere.
const soon: (fn: () => void) => void =
  typeof process == 'object' && typeof process.nextTick == 'function' ? (fn) => process.nextTick(fn) : (fn) => queueMicrotask(fn);

/** Wires one `ws` socket to the engine. */
export function attachWs(engine: Engine, ws: WsSocket, request: IncomingMessage | undefined, o: WsAdapterOptions): Conn {
  const { codec } = o;
  // The frames sent in one go (the echoes and acknowledgements of the messages of one TCP chunk, a replay)
  // leave in one write: the socket is corked at the first and uncorked once the current callback and its
  // microtasks are done. Otherwise `ws` makes one write (one syscall) per frame.
  const socket = corkable(ws);
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket!.uncork();
  };
  const conn = engine.attach({
    // The address from the request, or else from the TCP socket under `ws` (an app that passes no request).
    peer: { request, address: request?.socket?.remoteAddress ?? (ws as { _socket?: { remoteAddress?: string } })._socket?.remoteAddress },
    buffered: () => ws.bufferedAmount ?? 0,
    send(event, args) {
      if (ws.readyState != OPEN) return;
      if (socket && !corked) {
        corked = true;
        socket.cork();
        soon(uncork);
      }
      let frame;
      try {
        frame = codec.encode({ event, args });
      } catch (e) {
        // An app message the codec cannot write (a cycle, nesting deeper than the stack): never sent, but said.
        return o.onError(new SurewireError('encode', `could not encode ${event} ${String(args[0])}: not sent`, e), conn.session?.id);
      }
      ws.send(frame as string);
    },
    close(code, reason) {
      // A close reason is at most 123 bytes.
      if (ws.readyState <= OPEN) ws.close(code, Buffer.byteLength(reason) > 123 ? Buffer.from(reason).subarray(0, 120).toString() : reason);
    },
  });
  ws.on('close', () => engine.detach(conn));
  // `ws` emits 'error' before closing on a bad frame; without a listener it would throw. 'close' follows.
  ws.on('error', () => {});
  ws.on('message', (data: unknown, isBinary: boolean) => {
    if (conn.closed) return;
    try {
      onData(data, isBinary);
    } catch (e) {
      // Not the client's fault as far as we know (a codec or a bug of ours): 1011, and the client retries.
      o.onError(e, conn.session?.id);
      engine.close(conn, CloseCode.internal, 'internal error');
    }
  });
  const onData = (data: unknown, isBinary: boolean): void => {
    const raw = toBuffer(data);
    if (raw.length > o.maxFrame) return engine.close(conn, CloseCode.tooBig, `frame too big (${raw.length} bytes, limit ${o.maxFrame})`);
    const frame: string | Buffer = isBinary ? raw : raw.toString('utf8');
    // The heartbeat is answered at any time, even before `$hello`.
    if (o.heartbeat && frame === o.heartbeat.ping) return void (ws.readyState == OPEN && ws.send(o.heartbeat.pong));
    let p: Packet | undefined;
    try {
      p = codec.decode(frame);
    } catch {
      p = undefined;
    }
    const event = p?.event;
    if (typeof event == 'string' && event[0] == '$') {
      // A `$` name is the protocol's: as a request (with an id), or without arguments, it is malformed.
      if (p!.id != null || !Array.isArray(p!.args)) return engine.close(conn, CloseCode.violation, `malformed ${event.slice(0, 40)}`);
      return engine.receive(conn, event, p!.args);
    }
    engine.admit(conn, () => {
      const session = conn.session!.id;
      if (o.requests && p?.id != null && typeof event == 'string')
        return engine.request(conn, event, p.args, (failed, value) => {
          if (ws.readyState == OPEN) ws.send(codec.encode(failed ? { id: p!.id!, args: [], error: value } : { id: p!.id!, args: [value] }) as string);
        });
      try {
        o.onFrame?.(ws, frame, { session, packet: p });
      } catch (e) {
        o.onError(e, session);
      }
    });
  };
  return conn;
}
