import { Server, WebSocket as MockWebSocket, type Client } from 'mock-socket';
import type { WebSocketConstructor } from '../../src/transport';

/** The client's default heartbeat frames. */
export const PING = '["ping"]';
export const PONG = '["pong"]';

/** mock-socket's WebSocket, typed as the option expects it. */
export const WS = MockWebSocket as unknown as WebSocketConstructor;

let seq = 0;

/** A URL no other test uses. */
export const uniqueUrl = (name = 'test'): string => `ws://${name}-${++seq}.local/`;

/** A frame a mock server received, with the index of the connection it came on and the (fake) time it arrived. */
export interface Received {
  socket: number;
  data: unknown;
  at: number;
}

export interface MockServerOptions {
  /** Answer every heartbeat ping (`["ping"]`) with `["pong"]` (after `pongDelay` ms). */
  pong?: boolean;
  pongDelay?: number;
  /** Called for each accepted connection. */
  onConnection?: (socket: Client, index: number) => void;
}

/**
 * A mock-socket server on a unique URL that records what happens to it: every accepted connection
 * (with the time and URL it was opened with), every frame received and every close.
 * It does not replace the global WebSocket (`mock: false`): clients get mock-socket's through the option.
 */
export class MockServer {
  readonly url = uniqueUrl();
  readonly server: Server;
  readonly sockets: Client[] = [];
  /** `Date.now()` when each connection was accepted. */
  readonly connectedAt: number[] = [];
  readonly received: Received[] = [];
  /** Close events of accepted connections, as the server saw them, in order. */
  readonly closes: { socket: number; code: number; reason: string }[] = [];
  pong: boolean;
  pongDelay: number;
  onConnection: ((socket: Client, index: number) => void) | undefined;

  constructor(o: MockServerOptions = {}) {
    this.pong = o.pong ?? false;
    this.pongDelay = o.pongDelay ?? 0;
    this.onConnection = o.onConnection;
    this.server = new Server(this.url, { mock: false });
    this.server.on('connection', (socket) => {
      const index = this.sockets.push(socket) - 1;
      this.connectedAt.push(Date.now());
      socket.on('message', (data) => {
        this.received.push({ socket: index, data, at: Date.now() });
        if (this.pong && data === PING) {
          if (this.pongDelay) setTimeout(() => socket.send(PONG), this.pongDelay);
          else socket.send(PONG);
        }
      });
      socket.on('close', ((e: CloseEvent) => this.closes.push({ socket: index, code: e.code, reason: e.reason })) as never);
      this.onConnection?.(socket, index);
    });
  }

  /** How many connections the server accepted. */
  get connections(): number {
    return this.sockets.length;
  }

  /** The latest connection. */
  get socket(): Client {
    const s = this.sockets[this.sockets.length - 1];
    if (!s) throw new Error('no client connected');
    return s;
  }

  /** Frames received (pings left out unless asked), optionally only those of connection `socket`. */
  frames(socket?: number, { pings = false } = {}): unknown[] {
    return this.received
      .filter((r) => (socket === undefined || r.socket === socket) && (pings || r.data !== PING))
      .map((r) => r.data);
  }

  /** How many heartbeat pings arrived. */
  get pings(): number {
    return this.received.filter((r) => r.data === PING).length;
  }

  /** Sends a frame to the latest connection. */
  send(frame: string): void {
    this.socket.send(frame);
  }

  /** Closes the latest connection from the server's side; the client sees it 4 ms later (mock-socket's delay). */
  drop(code = 1000, reason = ''): void {
    this.socket.close({ code, reason, wasClean: true });
  }

  stop(): void {
    this.server.stop();
  }
}

/**
 * A WebSocket constructor for attempts that never complete: sockets to a URL starting with `blackhole`
 * (e.g. `ws://blackhole.local/`) stay CONNECTING forever, like a server that never accepts; every other
 * URL goes to mock-socket. `hanging` records the never-opening sockets and how the client closed them.
 */
export function blackholeWebSocket(): { WebSocket: WebSocketConstructor; hanging: HangingSocket[] } {
  const hanging: HangingSocket[] = [];
  function Route(url: string, protocols?: string | string[]): object {
    if (url.startsWith('ws://blackhole')) {
      const s = new HangingSocket(url);
      hanging.push(s);
      return s;
    }
    return new MockWebSocket(url, protocols);
  }
  return { WebSocket: Route as unknown as WebSocketConstructor, hanging };
}

export class HangingSocket {
  readyState = 0;
  binaryType = 'blob';
  onopen: unknown = null;
  onmessage: unknown = null;
  onclose: unknown = null;
  onerror: unknown = null;
  closedWith: [number | undefined, string | undefined] | undefined;
  constructor(readonly url: string) {}
  send(): void {
    throw new Error('still connecting');
  }
  close(code?: number, reason?: string): void {
    this.readyState = 3;
    this.closedWith = [code, reason];
  }
}
