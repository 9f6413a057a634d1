// A TCP proxy on 127.0.0.1 between a client and a real server, to make the network misbehave:
// - `cut()`: every current connection is destroyed at once (the client sees the socket drop);
// - `stall()`: every current connection stays open but forwards nothing, either way (a half-open link);
// - `mode`: what happens to NEW connections: 'forward' (normal), 'refuse' (accepted, then reset at once:
//   the client's attempt fails like a refused one, and the attempt is still counted), or 'stall'.
// It knows nothing about WebSocket or socket.io, so any transport can run through it.
import { createServer, connect, type Server, type Socket } from 'node:net';

export type ProxyMode = 'forward' | 'refuse' | 'stall';

interface Link {
  client: Socket;
  upstream: Socket | undefined;
  stalled: boolean;
}

export class TcpProxy {
  /** What happens to new connections. */
  mode: ProxyMode = 'forward';
  /** TCP connections accepted, refused ones included: one per connection attempt of the client. */
  accepted = 0;
  /** Connections refused because of `mode: 'refuse'`. */
  refused = 0;
  port = 0;
  readonly #target: { host: string; port: number };
  readonly #links = new Set<Link>();
  #server: Server | undefined;

  constructor(target: { port: number; host?: string }) {
    this.#target = { host: target.host ?? '127.0.0.1', port: target.port };
  }

  /** `ws://127.0.0.1:<proxy port><path>` */
  url(path = '/', scheme = 'ws'): string {
    return `${scheme}://127.0.0.1:${this.port}${path}`;
  }

  /** Connections currently open on the client side (stalled ones included). */
  get active(): number {
    return this.#links.size;
  }

  async start(): Promise<this> {
    const server = createServer((client) => this.#accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
    return this;
  }

  /** Destroys every current connection, both sides. New connections follow `mode`. */
  cut(): void {
    for (const l of this.#links) this.#drop(l);
  }

  /** Every current connection stops forwarding in both directions; the TCP connections stay open. */
  stall(): void {
    for (const l of this.#links) l.stalled = true;
  }

  /** Stalled connections forward again (what was sent meanwhile is lost). */
  resume(): void {
    for (const l of this.#links) l.stalled = false;
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.cut();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    this.accepted++;
    client.on('error', () => {});
    if (this.mode == 'refuse') {
      this.refused++;
      client.resetAndDestroy();
      return;
    }
    const link: Link = { client, upstream: undefined, stalled: this.mode == 'stall' };
    this.#links.add(link);
    const upstream = connect(this.#target.port, this.#target.host);
    link.upstream = upstream;
    upstream.on('error', () => {});
    client.on('data', (d) => void (link.stalled || upstream.write(d)));
    upstream.on('data', (d) => void (link.stalled || client.write(d)));
    // One side closing closes the other, unless the link is stalled: a stalled link shows the client nothing.
    client.on('close', () => this.#drop(link));
    upstream.on('close', () => link.stalled || this.#drop(link));
  }

  #drop(link: Link): void {
    this.#links.delete(link);
    link.client.destroy();
    link.upstream?.destroy();
  }
}

/** Starts a proxy on 127.0.0.1 (ephemeral port) to `target`. */
export function startTcpProxy(target: { port: number; host?: string }): Promise<TcpProxy> {
  return new TcpProxy(target).start();
}
