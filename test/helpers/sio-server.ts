// A real socket.io server on 127.0.0.1 for integration tests of the socket.io transport.
// It records every namespace connection (with its handshake auth and whether the session was recovered),
// every event received and every disconnect reason, and can drop its clients in the ways socket.io knows:
// at the transport level (the client sees `transport close`), at the namespace level (`io server disconnect`),
// or by stopping (connections refused) and listening again on the same port.
import { createServer, type Server as HttpServer } from 'node:http';
import type { Socket as NetSocket } from 'node:net';
import { Server, type Namespace, type ServerOptions, type Socket } from 'socket.io';

/** One namespace connection the server accepted. */
export interface SioConnection {
  /** 1-based, in order of acceptance, across namespaces and restarts. */
  id: number;
  socket: Socket;
  nsp: string;
  /** `socket.handshake.auth`: what the client's `auth` sent. */
  auth: Record<string, unknown>;
  /** Whether socket.io restored the previous session (connection state recovery). */
  recovered: boolean;
  /** The server's disconnect reason, once disconnected (e.g. `'client namespace disconnect'`). */
  disconnected: string | undefined;
}

/** An event the server received: `args` without a trailing ack callback; `ack` says whether there was one. */
export interface SioReceived {
  conn: number;
  event: string;
  args: unknown[];
  ack: boolean;
}

export type SioSetup = (socket: Socket, conn: SioConnection, server: TestSioServer) => void;

export interface SioServerOptions {
  /** socket.io server options (`pingInterval`, `pingTimeout`, `connectionStateRecovery`, …). */
  io?: Partial<ServerOptions>;
  /** Namespaces served besides `/`. */
  namespaces?: string[];
  /** A middleware for every namespace (`next(err)` refuses the connection). */
  use?: (socket: Socket, next: (err?: Error) => void) => void;
  /** Called for every accepted connection, to add handlers. */
  onConnection?: SioSetup;
}

export class TestSioServer {
  port = 0;
  readonly connections: SioConnection[] = [];
  readonly received: SioReceived[] = [];
  /** TCP connections accepted (HTTP requests and WebSocket upgrades alike). */
  tcpConnections = 0;
  /** engine.io connections opened (one per connection attempt that reached the server). */
  engineConnections = 0;
  /** Namespace handshakes refused by the middleware. */
  refused = 0;
  io: Server | undefined;
  #http: HttpServer | undefined;
  #sockets = new Set<NetSocket>();
  readonly #o: SioServerOptions;

  constructor(o: SioServerOptions = {}) {
    this.#o = o;
  }

  /** `http://127.0.0.1:<port><nsp>` */
  url(nsp = '/'): string {
    return `http://127.0.0.1:${this.port}${nsp}`;
  }

  get last(): SioConnection | undefined {
    return this.connections[this.connections.length - 1];
  }

  /** Connections not disconnected yet. */
  get open(): SioConnection[] {
    return this.connections.filter((c) => c.disconnected === undefined);
  }

  /** Events received, as `[event, ...args]`, optionally from one connection only. */
  events(conn?: number): unknown[][] {
    return this.received.filter((r) => conn === undefined || r.conn == conn).map((r) => [r.event, ...r.args]);
  }

  async start(): Promise<this> {
    if (this.#http) return this;
    const http = createServer();
    http.on('connection', (s: NetSocket) => {
      this.tcpConnections++;
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
    const io = new Server(http, this.#o.io);
    io.engine.on('connection', () => this.engineConnections++);
    for (const name of ['/', ...(this.#o.namespaces ?? [])]) this.#serve(io.of(name));
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(this.port, '127.0.0.1', () => {
        http.off('error', reject);
        resolve();
      });
    });
    this.port = (http.address() as { port: number }).port;
    this.#http = http;
    this.io = io;
    return this;
  }

  /** Closes every client's engine.io connection (the client sees `transport close`). */
  dropTransports(): void {
    for (const c of this.open) c.socket.conn.close();
  }

  /** `socket.disconnect()` on every open connection (the client sees `io server disconnect`). */
  disconnectAll(): void {
    for (const c of this.open) c.socket.disconnect();
  }

  /** Resolves once `n` namespace connections have been accepted in total. */
  async waitForConnections(n: number, timeout = 2000): Promise<SioConnection> {
    const started = Date.now();
    while (this.connections.length < n) {
      if (Date.now() - started > timeout) throw new Error(`TestSioServer: ${this.connections.length} connection(s), expected ${n}, after ${timeout} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.connections[n - 1]!;
  }

  /** Stops listening and destroys every connection (clients see `transport close`); new ones are refused. */
  async stop(): Promise<void> {
    const http = this.#http;
    const io = this.io;
    this.#http = this.io = undefined;
    if (!http || !io) return;
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    await new Promise<void>((resolve) => void io.close(() => resolve()));
    if (http.listening) await new Promise<void>((resolve) => http.close(() => resolve()));
  }

  close(): Promise<void> {
    return this.stop();
  }

  #serve(nsp: Namespace): void {
    const { use, onConnection } = this.#o;
    if (use) nsp.use((socket, next) => use(socket, (err) => (err && this.refused++, next(err))));
    nsp.on('connection', (socket) => {
      const conn: SioConnection = {
        id: this.connections.length + 1,
        socket,
        nsp: nsp.name,
        auth: socket.handshake.auth,
        recovered: socket.recovered,
        disconnected: undefined,
      };
      this.connections.push(conn);
      socket.on('disconnect', (reason) => (conn.disconnected = reason));
      socket.onAny((event: string, ...args: unknown[]) => {
        const ack = typeof args[args.length - 1] == 'function';
        this.received.push({ conn: conn.id, event, args: ack ? args.slice(0, -1) : args, ack });
      });
      onConnection?.(socket, conn, this);
    });
  }
}

/** Starts a socket.io server on 127.0.0.1 (an ephemeral port). */
export function startSioServer(o: SioServerOptions = {}): Promise<TestSioServer> {
  return new TestSioServer(o).start();
}
