// The rig of the hostile suite: `reliable()` behind a real `ws` or socket.io server on 127.0.0.1, raw
// attacker connections that say exactly what a test wants on the wire, and a well-behaved bystander (the
// real surewire client with `reliable()`) that sends both ways for the whole test and must see nothing
// lost, nothing twice, and no close.
import type { IncomingMessage } from 'node:http';
import { expect } from 'vitest';
import { WebSocketServer } from 'ws';
import { io, type Socket as ClientSocket } from 'socket.io-client';
import type { ServerOptions } from 'socket.io';
import { Surewire } from '../../src/client';
import { reliable as reliableClient } from '../../src/reliable';
import { socketIo } from '../../src/socket.io';
import { memoryStore, reliable, type HelloInfo, type ReliableServer, type ReliableServerOptions, type Store } from '../../src/server';
import { ProtocolClient, type Frame, type Welcome } from '../helpers/protocol-client';
import { startSioServer, type TestSioServer } from '../helpers/sio-server';
import { NodeWebSocket } from '../helpers/ws-client';
import { waitFor } from '../helpers/wait';
import { cleanup, type Handled } from './fixtures';

export type TransportName = 'ws' | 'socket.io';

/** A raw protocol connection, the same over both transports. */
export interface Raw {
  readonly frames: Frame[];
  send(event: string, ...args: unknown[]): void;
  of(event: string): unknown[][];
  messages(): unknown[][];
  acks(): number[];
  welcome(): Promise<Welcome>;
  until<T>(check: () => T, what?: string, timeout?: number): Promise<NonNullable<T>>;
  /** How it closed: the code over ws; over socket.io, 1008 for a namespace disconnect and 1006 for a transport close. */
  closeOf(timeout?: number): Promise<{ code: number; reason: string }>;
  readonly open: boolean;
  kill(): void;
}

/** socket.io-client as a raw protocol client. */
class SioRaw implements Raw {
  readonly frames: Frame[] = [];
  closedWith: { code: number; reason: string } | undefined;
  #waiters = new Set<() => void>();
  constructor(readonly socket: ClientSocket) {
    socket.onAny((event: string, ...args: unknown[]) => {
      this.frames.push([event, ...args]);
      this.#waiters.forEach((w) => w());
    });
    socket.on('disconnect', (reason) => {
      this.closedWith = { code: reason == 'io server disconnect' ? 1008 : 1006, reason };
      this.#waiters.forEach((w) => w());
    });
    cleanup(() => socket.disconnect());
  }
  get open(): boolean {
    return this.socket.connected;
  }
  send(event: string, ...args: unknown[]): void {
    this.socket.emit(event, ...args);
  }
  of(event: string): unknown[][] {
    return this.frames.filter((f) => f[0] == event).map((f) => f.slice(1));
  }
  messages(): unknown[][] {
    return this.of('$m');
  }
  acks(): number[] {
    return this.of('$ack').map((a) => a[0] as number);
  }
  until<T>(check: () => T, what = 'condition', timeout = 3000): Promise<NonNullable<T>> {
    return new Promise((resolve, reject) => {
      const done = (): void => (clearTimeout(timer), void this.#waiters.delete(poll));
      const poll = (): void => {
        const v = check();
        if (v) return done(), resolve(v as NonNullable<T>);
        if (this.closedWith) done(), reject(new Error(`SioRaw: closed (${this.closedWith.reason}) while waiting for ${what}`));
      };
      const timer = setTimeout(() => (done(), reject(new Error(`SioRaw: no ${what} within ${timeout} ms`))), timeout);
      this.#waiters.add(poll);
      poll();
    });
  }
  async welcome(): Promise<Welcome> {
    const [seq, offset, resumed] = await this.until(() => this.of('$welcome')[0], '$welcome');
    return { seq: seq as number | null, offset: offset as number, resumed: resumed as boolean };
  }
  async closeOf(timeout = 3000): Promise<{ code: number; reason: string }> {
    await waitFor(() => this.closedWith, timeout, 'socket.io disconnect');
    return this.closedWith!;
  }
  kill(): void {
    // Drops the engine.io connection without a namespace disconnect (like a network drop).
    (this.socket.io.engine as unknown as { close(): void }).close();
  }
}

export interface RigOptions extends Partial<ReliableServerOptions> {
  /** Principals from a `token` (URL query over ws, `auth` over socket.io); 'nobody' is refused. */
  auth?: boolean;
  /** socket.io server options. */
  io?: Partial<ServerOptions>;
  /** `new WebSocketServer` options (the helper's `wsOptions` are not given when this is set). */
  wss?: ConstructorParameters<typeof WebSocketServer>[0];
}

/** The token of a connection, from its request (ws) or handshake (socket.io). */
const tokenOf = ({ request, handshake }: HelloInfo): string | null | undefined =>
  request ? new URL(request.url ?? '/', 'http://x').searchParams.get('token') : (handshake?.auth.token as string | undefined);

export class Rig {
  readonly handled: Handled[] = [];
  readonly errors: unknown[] = [];
  server!: ReliableServer;
  store!: Store & { size?: number };
  url = '';
  sio: TestSioServer | undefined;
  wss: WebSocketServer | undefined;
  bystander!: Bystander;

  constructor(readonly transport: TransportName) {}

  /** Calls of `onMessage` for one session, as `[event, ...args]`. */
  of(session: string): unknown[][] {
    return this.handled.filter((h) => h[0] == session).map((h) => h.slice(1));
  }

  /** The close code a test expects over this transport (socket.io carries none: see `Raw.closeOf`). */
  code(code: number): number {
    return this.transport == 'ws' ? code : code == 1008 || code == 1009 ? 1008 : 1006;
  }

  /** A raw connection, with a token (the principal, with `auth`). */
  async raw(token = 'mallory'): Promise<Raw> {
    if (this.transport == 'ws') {
      const c = await ProtocolClient.open(`${this.url}/?token=${encodeURIComponent(token)}`);
      cleanup(() => c.kill());
      return c;
    }
    const socket = io(this.url, { forceNew: true, reconnection: false, transports: ['websocket'], auth: { token } });
    const c = new SioRaw(socket);
    await new Promise<void>((resolve, reject) => (socket.once('connect', () => resolve()), socket.once('connect_error', reject)));
    return c;
  }

  /** A raw connection that says `$hello` and waits for the `$welcome`. */
  async hello(session: string, token = 'mallory', offset = 0, resuming?: boolean): Promise<{ c: Raw; welcome: Welcome }> {
    const c = await this.raw(token);
    if (resuming === undefined) c.send('$hello', session, offset);
    else c.send('$hello', session, offset, resuming);
    return { c, welcome: await c.welcome() };
  }
}

/**
 * Starts `reliable()` behind a real server of `transport`, and a bystander on it that sends both ways until
 * `rig.bystander.check()`.
 */
export async function startRig(transport: TransportName, o: RigOptions = {}): Promise<Rig> {
  const rig = new Rig(transport);
  const { auth, io: ioOptions, wss: wssOptions, ...options } = o;
  rig.store = options.store ?? memoryStore();
  const server = reliable({
    onError: (e) => void rig.errors.push(e),
    ...(auth ? { authenticate: (h: HelloInfo) => (tokenOf(h) == 'nobody' ? undefined : (tokenOf(h) ?? undefined)) } : {}),
    ...options,
    store: rig.store,
    onMessage: (s, e, ...a) => (rig.handled.push([s, e, ...a]), options.onMessage?.(s, e, ...a)),
  });
  rig.server = server;
  if (transport == 'ws') {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...(wssOptions ?? server.wsOptions) });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    wss.on('connection', (ws, req: IncomingMessage) => server.ws(ws, req));
    rig.wss = wss;
    rig.url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;
    cleanup(async () => {
      await server.close();
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    });
  } else {
    const sio = await startSioServer({ io: ioOptions ?? {}, onConnection: (socket) => server.socketIo(socket) });
    rig.sio = sio;
    rig.url = sio.url();
    cleanup(async () => {
      await server.close();
      await sio.close();
    });
  }
  rig.bystander = await startBystander(rig);
  return rig;
}

/** The well-behaved session: the real client with `reliable()`, sending and receiving every 10 ms. */
export class Bystander {
  readonly got: number[] = [];
  readonly gaps: unknown[] = [];
  closes: unknown[] = [];
  opens = 0;
  sent = 0;
  pushed = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly delivery = reliableClient();
  readonly client: Surewire;

  constructor(readonly rig: Rig) {
    const token = 'bystander';
    const retry = { reconnect: { initialDelay: 10, maxDelay: 50, jitter: 0 } } as const;
    this.client =
      rig.transport == 'ws'
        ? new Surewire(`${rig.url}/?token=${token}`, { WebSocket: NodeWebSocket, reliable: this.delivery, ...retry })
        : new Surewire(rig.url, { transport: socketIo(io, { transports: ['websocket'], auth: { token } }), reliable: this.delivery, ...retry });
    cleanup(() => this.stop());
    this.client.on('by', (n: unknown) => void this.got.push(n as number));
    this.delivery.on('discontinuity', (d) => void this.gaps.push(d));
    this.client.connection.on('open', () => void this.opens++);
    this.client.connection.on('close', (info) => void this.closes.push(info));
  }

  start(): void {
    const both = (): void => {
      this.client.send('by', ++this.sent);
      void this.rig.server.send(this.delivery.session!, 'by', ++this.pushed);
    };
    both();
    this.#timer = setInterval(both, 10);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.client.close();
  }

  /** Stops sending, and checks it saw every message once, in order, both ways, on one connection. */
  async check(): Promise<void> {
    clearInterval(this.#timer);
    await this.delivery.delivered();
    await waitFor(() => this.got.length >= this.pushed, 5000, `the bystander's ${this.pushed} server messages`);
    const session = this.delivery.session!;
    expect(this.rig.of(session).map((m) => m[1]), 'bystander → server').toEqual(Array.from({ length: this.sent }, (_, i) => i + 1));
    expect(this.got, 'server → bystander').toEqual(Array.from({ length: this.pushed }, (_, i) => i + 1));
    expect(this.sent, 'the bystander sent throughout').toBeGreaterThan(0);
    expect({ opens: this.opens, closes: this.closes, gaps: this.gaps }).toEqual({ opens: 1, closes: [], gaps: [] });
  }
}

async function startBystander(rig: Rig): Promise<Bystander> {
  const b = new Bystander(rig);
  await waitFor(() => b.opens == 1, 3000, 'the bystander open');
  b.start();
  return b;
}
