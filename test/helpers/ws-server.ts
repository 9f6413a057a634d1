// A small real `ws` server on 127.0.0.1 for integration and browser tests.
// It records every frame it receives and every connection it accepts, answers the heartbeat ping,
// and can terminate its clients, go silent (TCP open, nothing answered), stop listening (connections are
// refused) and listen again on the same port.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';

/** A frame the server received. `data` is a string for text frames and a Buffer for binary ones. */
export interface ReceivedFrame {
  /** Which connection it came on (1 for the first connection the server accepted). */
  conn: number;
  data: string | Buffer;
  binary: boolean;
}

/** One WebSocket connection the server accepted. */
export interface ServerConnection {
  /** 1-based, in order of acceptance, across restarts. */
  id: number;
  socket: WebSocket;
  /** The request path and query, e.g. `/?token=2`. */
  url: string;
  /** The subprotocol the server selected ('' when none). */
  protocol: string;
  /** Set when the socket has closed: the code and reason the server saw. */
  closed: { code: number; reason: string } | undefined;
}

export type MessageHandler = (frame: ReceivedFrame, conn: ServerConnection, server: TestWsServer) => void;

export interface WsServerOptions {
  /** Port to listen on. @default 0 (an ephemeral port) */
  port?: number;
  /** The heartbeat ping frame the server answers. @default '["ping"]' */
  ping?: string;
  /** What the server answers to the ping. @default '["pong"]' */
  pong?: string;
  /** Called for every frame except the ping (see `onMessage`). */
  onMessage?: MessageHandler;
  /** Called for every connection the server accepts. */
  onConnection?: (conn: ServerConnection, req: IncomingMessage, server: TestWsServer) => void;
}

/** Parses a text frame as JSON, or returns undefined. */
export const parseJson = (frame: ReceivedFrame): unknown => {
  if (frame.binary || typeof frame.data != 'string') return undefined;
  try {
    return JSON.parse(frame.data);
  } catch {
    return undefined;
  }
};

/** A handler that answers `[event, ...args]` with `[rename(event), ...args]` on the same connection. */
export const echo =
  (rename: (event: string) => string = (e) => e): MessageHandler =>
  (frame, conn) => {
    const m = parseJson(frame);
    if (Array.isArray(m) && typeof m[0] == 'string') conn.socket.send(JSON.stringify([rename(m[0]), ...m.slice(1)]));
  };

export class TestWsServer {
  /** The port; stays the same across `stop()` / `start()`. */
  port: number;
  /** Every frame received (pings included), in order of arrival. */
  readonly frames: ReceivedFrame[] = [];
  /** Every WebSocket connection accepted, in order. */
  readonly connections: ServerConnection[] = [];
  /** TCP connections accepted, including ones that never completed a WebSocket handshake. */
  tcpConnections = 0;
  /** Pings received. */
  pings = 0;
  /** Answer the ping with the pong. Turn off to test the heartbeat. */
  answerPings = true;
  /** When true the server answers nothing (no pong, no handler); frames are still recorded. */
  silent = false;
  onMessage: MessageHandler | undefined;
  onConnection: WsServerOptions['onConnection'];

  #ping: string;
  #pong: string;
  #http: Server | undefined;
  #wss: WebSocketServer | undefined;
  #sockets = new Set<Socket>();

  constructor(o: WsServerOptions = {}) {
    this.port = o.port ?? 0;
    this.#ping = o.ping ?? '["ping"]';
    this.#pong = o.pong ?? '["pong"]';
    this.onMessage = o.onMessage;
    this.onConnection = o.onConnection;
  }

  /** `ws://127.0.0.1:<port><path>` */
  url(path = '/'): string {
    return `ws://127.0.0.1:${this.port}${path}`;
  }

  get listening(): boolean {
    return !!this.#http?.listening;
  }

  /** Connections whose socket is still open. */
  get open(): ServerConnection[] {
    return this.connections.filter((c) => c.socket.readyState == WebSocket.OPEN);
  }

  /** The last connection accepted. */
  get last(): ServerConnection | undefined {
    return this.connections[this.connections.length - 1];
  }

  /** Text frames received (pings left out), optionally from one connection only. */
  texts(conn?: number): string[] {
    return this.frames
      .filter((f) => !f.binary && f.data !== this.#ping && (conn === undefined || f.conn === conn))
      .map((f) => f.data as string);
  }

  /** Text frames received (pings left out), parsed as JSON. */
  messages(conn?: number): unknown[] {
    return this.texts(conn).map((t) => JSON.parse(t));
  }

  /** Starts listening (again, on the same port after `stop()`). */
  async start(): Promise<this> {
    if (this.#http) return this;
    const http = createServer((_req, res) => res.writeHead(426).end());
    const wss = new WebSocketServer({ server: http });
    http.on('connection', (s: Socket) => {
      this.tcpConnections++;
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
    wss.on('connection', (socket, req) => this.#accept(socket, req));
    wss.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(this.port, '127.0.0.1', () => {
        http.off('error', reject);
        resolve();
      });
    });
    this.port = (http.address() as { port: number }).port;
    this.#http = http;
    this.#wss = wss;
    return this;
  }

  /** Sends a frame to one connection (the last one by default). */
  send(data: string | Buffer | ArrayBuffer | Uint8Array, conn: ServerConnection | undefined = this.last): void {
    if (!conn) throw new Error('TestWsServer.send: no connection');
    conn.socket.send(data);
  }

  /** Sends a frame to every open connection. */
  broadcast(data: string | Buffer | ArrayBuffer | Uint8Array): void {
    for (const c of this.open) c.socket.send(data);
  }

  /** Kills every open connection without a close frame (`socket.terminate()`): the client sees 1006. */
  terminateAll(): void {
    for (const c of this.open) c.socket.terminate();
  }

  /** Closes every open connection with a close frame. */
  closeAll(code = 1000, reason = ''): void {
    for (const c of this.open) c.socket.close(code, reason);
  }

  /** From now on answer nothing, not even the ping; TCP connections stay open. */
  goSilent(): void {
    this.silent = true;
  }

  /** Resolves once `n` WebSocket connections have been accepted in total. */
  async waitForConnections(n: number, timeout = 2000): Promise<ServerConnection> {
    const started = Date.now();
    while (this.connections.length < n) {
      if (Date.now() - started > timeout) throw new Error(`TestWsServer: ${this.connections.length} connection(s), expected ${n}, after ${timeout} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.connections[n - 1]!;
  }

  /** Stops listening and destroys every connection (clients see 1006); new connections are refused. */
  async stop(): Promise<void> {
    const http = this.#http;
    const wss = this.#wss;
    this.#http = this.#wss = undefined;
    if (!http || !wss) return;
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await new Promise<void>((resolve) => http.close(() => resolve()));
  }

  /** Final: same as `stop()`. */
  close(): Promise<void> {
    return this.stop();
  }

  #accept(socket: WebSocket, req: IncomingMessage): void {
    const conn: ServerConnection = {
      id: this.connections.length + 1,
      socket,
      url: req.url ?? '',
      protocol: socket.protocol,
      closed: undefined,
    };
    this.connections.push(conn);
    socket.on('error', () => {});
    socket.on('close', (code, reason) => (conn.closed = { code, reason: reason.toString() }));
    socket.on('message', (raw: RawData, binary: boolean) => {
      const frame: ReceivedFrame = { conn: conn.id, data: binary ? toBuffer(raw) : toBuffer(raw).toString('utf8'), binary };
      this.frames.push(frame);
      if (!binary && frame.data === this.#ping) {
        this.pings++;
        if (this.answerPings && !this.silent) socket.send(this.#pong);
      } else if (!this.silent) this.onMessage?.(frame, conn, this);
    });
    this.onConnection?.(conn, req, this);
  }
}

const toBuffer = (raw: RawData): Buffer =>
  Buffer.isBuffer(raw) ? raw : Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw as ArrayBuffer);

/** Starts a server on 127.0.0.1 (an ephemeral port unless `port` is given). */
export function startWsServer(o: WsServerOptions = {}): Promise<TestWsServer> {
  return new TestWsServer(o).start();
}
