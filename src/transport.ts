import type { Codec } from './codec';

/** Anything shaped like the browser's `WebSocket` constructor (the `ws` package's, jsdom's, mock-socket's). */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocket;

/** What the client gives a transport for one connection attempt. The transport reports back through the callbacks. */
export interface TransportContext {
  /** The URL of this attempt, from the client's `url` (a provider runs before every attempt). */
  url: string;
  /** The client's `protocols` option, resolved for this attempt. */
  protocols: string | string[] | undefined;
  /** The client's `WebSocket` option, if any. */
  WebSocket: WebSocketConstructor | undefined;
  /** The socket is open; `recovered` says that the server restored the previous session (socket.io). */
  open(info?: { recovered?: boolean }): void;
  /** A frame arrived; the client decodes it with the codec (the transport's own, when it has one). */
  frame(frame: unknown): void;
  /** The socket closed, or the attempt failed. Called at most once, and never after `close()`. */
  close(code: number, reason: string): void;
  /** A transport-level error; `close` follows when the socket is gone. */
  error(error: unknown): void;
  /** A transport with its own liveness check (`heartbeat: false`) reports each measured round trip here, in ms. */
  rtt(ms: number): void;
}

/** One live connection made by a transport. */
export interface TransportConnection {
  /** Sends a frame (what the codec made); false when the socket cannot take it now (the client then queues it). */
  send(frame: unknown): boolean;
  /** Closes the socket and detaches from it: no callback of its context fires afterwards. */
  close(code: number, reason: string): void;
}

/**
 * How the client reaches a server. It only opens, sends, closes and reports: reconnection, the queue
 * and the heartbeat stay with the client.
 */
export interface Transport {
  /** Starts one connection attempt; called again for each retry. */
  connect(ctx: TransportContext): TransportConnection;
  /** A transport with its own wire format sets this, replacing the `codec` option (socket.io passes packets as they are). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  codec?: Codec<any>;
  /** A transport with its own liveness check (socket.io's ping) sets this to turn the client's heartbeat off. */
  heartbeat?: false;
  /** Told of every frame the client made but will never hand to a socket (the outbox dropped it). */
  drop?(frame: unknown): void;
  /**
   * Whether a frame that is not text may be written to `queue.storage` as JSON and read back from it (text
   * frames always may). The socket.io transport says yes for packets without binary data, so they survive a
   * page reload too; it is also asked of every saved entry, so it must refuse anything else.
   */
  storable?(frame: unknown): boolean;
}

/** Whether `queue.storage` may keep a frame of this transport: text always, anything else when the transport says so. */
export const canStore = (t: Transport, frame: unknown): boolean => typeof frame == 'string' || !!t.storable?.(frame);
