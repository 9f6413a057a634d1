// Integration: surewire over socket.io-client against a real socket.io server on loopback, through a real
// TCP proxy when the network has to misbehave. Real sockets, real timers; waits on events, never on fixed
// sleeps (`delay` is only an observation window for things that must NOT happen).
// The behaviours shared with the native transport are in behaviour.ts (behaviour-socketio.test.ts).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket as ClientSocket } from 'socket.io-client';
import { Surewire } from '../../src/client';
import type { Provider, SurewireOptions } from '../../src/options';
import type { DefaultEvents, EventsMap } from '../../src/types';
import { ClosedError, ConnectionError, SurewireError, TimeoutError } from '../../src/errors';
import { socketIo, type SocketIoFactory, type SocketIoOptions } from '../../src/socket.io';
import type { TransportContext } from '../../src/transport';
import { delay, deferred, once, record, waitFor } from '../helpers/wait';
import { activeResources, watchTimers } from '../helpers/leaks';
import { startSioServer, type SioServerOptions, type TestSioServer } from '../helpers/sio-server';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';
import UMD from '../../src/umd-socket.io';

// ---------------------------------------------------------------------------------------------------------
// Set-up: everything a test makes is closed after it, clients first, then proxies, then servers.

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  const errors: unknown[] = [];
  for (const fn of cleanups.splice(0).reverse()) await Promise.resolve().then(fn).catch((e: unknown) => errors.push(e));
  if (errors.length) throw errors[0];
});

async function server(o: SioServerOptions = {}): Promise<TestSioServer> {
  const s = await startSioServer(o);
  cleanups.push(() => s.close());
  return s;
}

async function proxy(target: { port: number }): Promise<TcpProxy> {
  const p = await startTcpProxy(target);
  cleanups.push(() => p.close());
  return p;
}

/** socket.io-client's `io`, keeping every Socket it makes so a test can look at them. */
function recordingIo(): { io: SocketIoFactory; sockets: ClientSocket[] } {
  const sockets: ClientSocket[] = [];
  return { io: (url, o) => (sockets.push(io(url, o)), sockets[sockets.length - 1]!), sockets };
}

function client<L extends EventsMap = DefaultEvents, E extends EventsMap = DefaultEvents>(
  url: Provider<string | URL>,
  options: SurewireOptions & { sio?: SocketIoOptions; io?: SocketIoFactory } = {},
): Surewire<L, E> {
  const { sio, io: factory = io, ...rest } = options;
  const c = new Surewire<L, E>(url, { transport: socketIo(factory, sio), ...rest });
  cleanups.push(() => c.close());
  return c;
}

/** Small delays, no jitter. */
const fast = { reconnect: { initialDelay: 20, jitter: 0 } } as const satisfies SurewireOptions;
/** socket.io-client straight to WebSocket: fewer round trips, and what the TCP proxy tests need. */
const ws: SocketIoOptions = { transports: ['websocket'] };

const isOpen = (c: Surewire<EventsMap, EventsMap>) => () => c.connection.state == 'open';

// The whole file must leave no socket or server behind.
let baseline: { sockets: number; servers: number };
beforeAll(() => {
  baseline = { sockets: activeResources('TCPSocketWrap'), servers: activeResources('TCPServerWrap') };
});
afterAll(async () => {
  await waitFor(
    () => activeResources('TCPSocketWrap') <= baseline.sockets && activeResources('TCPServerWrap') <= baseline.servers,
    3000,
    'no TCP socket or server left open by the tests',
  );
});

// ---------------------------------------------------------------------------------------------------------
// Event maps written for socket.io-client, used unchanged.

interface ServerToClientEvents {
  news: (title: string, n: number, tags: string[], meta: { ok: boolean } | null) => void;
  blob: (data: ArrayBuffer | Uint8Array, nested: { name: string; bytes: ArrayBuffer | Uint8Array }) => void;
  question: (q: string, ack: (answer: string) => void) => void;
  missed: (n: number) => void;
  hello: (nsp: string) => void;
}

interface ClientToServerEvents {
  news: (title: string, n: number, tags: string[], meta: { ok: boolean } | null) => void;
  upload: (name: string, data: ArrayBuffer | Uint8Array, more: { part: Uint8Array }) => void;
  add: (a: number, b: number, ack: (sum: number) => void) => void;
  pair: (ack: (first: string, second: string) => void) => void;
  slow: (ms: number, ack: (r: string) => void) => void;
  ignore: (ack: (r: unknown) => void) => void;
  n: (i: number | string) => void;
}

/** The handlers most tests use. */
const handlers: SioServerOptions['onConnection'] = (socket, conn) => {
  socket.on('news', (...args) => socket.emit('news', ...args));
  socket.on('add', (a: number, b: number, ack: (sum: number) => void) => ack(a + b));
  socket.on('pair', (ack: (a: string, b: string) => void) => ack('first', 'second'));
  socket.on('slow', (ms: number, ack: (r: string) => void) => void setTimeout(() => ack(`after ${ms}`), ms));
  socket.on('upload', (name: string, data: Buffer, more: { part: Buffer }) =>
    socket.emit('blob', Buffer.concat([data, more.part]), { name, bytes: Buffer.from([9, 9]) }),
  );
  socket.emit('hello', conn.nsp);
};

const bytes = (b: unknown): number[] => [...new Uint8Array(b as ArrayBuffer)];

// ---------------------------------------------------------------------------------------------------------

describe('events and requests', () => {
  it('round-trips multi-argument events, typed with socket.io-client maps, over polling and WebSocket', async () => {
    const s = await server({ onConnection: handlers });
    for (const sio of [{ transports: ['polling'] }, ws, {}]) {
      const c = client<ServerToClientEvents, ClientToServerEvents>(s.url(), { ...fast, sio });
      const got: unknown[][] = [];
      c.on('news', (...args) => got.push(args));
      await waitFor(isOpen(c));
      expect(c.send('news', 'a', 1, ['x', 'ü'], { ok: true })).toBe('sent');
      expect(c.send('news', 'b', 2, [], null)).toBe('sent');
      await waitFor(() => got.length >= 2);
      expect(got).toEqual([
        ['a', 1, ['x', 'ü'], { ok: true }],
        ['b', 2, [], null],
      ]);
      c.close();
    }
    expect(s.events()).toEqual(Array(3).fill([['news', 'a', 1, ['x', 'ü'], { ok: true }], ['news', 'b', 2, [], null]]).flat());

    // Compile-time only (checked by tsc, never run).
    const typeChecks = (c: Surewire<ServerToClientEvents, ClientToServerEvents>): void => {
      // @ts-expect-error 'news' takes (string, number, string[], meta)
      c.send('news', 'a', 1);
      // @ts-expect-error the ack is left out of send()
      c.send('add', 1, 2, () => {});
      // @ts-expect-error listener args must match the server map
      c.on('news', (title: number) => title);
    };
    void typeChecks;
  });

  it('resolves a request with the first argument of the ack, times out without one, and ignores a late ack', async () => {
    const s = await server({ onConnection: handlers });
    const c = client<ServerToClientEvents, ClientToServerEvents>(s.url(), { ...fast, sio: ws });
    const errors: unknown[] = [];
    c.connection.on('error', (e) => errors.push(e));
    await waitFor(isOpen(c));

    const sum: number = await c.request('add', 2, 3);
    expect(sum).toBe(5);
    expect(await c.request('pair')).toBe('first'); // an ack with several arguments: the first is the reply
    expect(await Promise.all([c.request('slow', 60), c.request('add', 1, 1), c.request('slow', 0)])).toEqual(['after 60', 2, 'after 0']);

    let started = Date.now();
    const e = await c.timeout(150).request('ignore').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(149);

    // The ack comes after the timeout: it is ignored, and the connection carries on.
    started = Date.now();
    await expect(c.timeout(50).request('slow', 200)).rejects.toBeInstanceOf(TimeoutError);
    await waitFor(() => Date.now() - started > 250);
    expect(await c.request('add', 20, 22)).toBe(42);
    expect(errors).toEqual([]);
    expect(s.received.map((r) => [r.event, r.ack])).toEqual([
      ['add', true],
      ['pair', true],
      ['slow', true],
      ['add', true],
      ['slow', true],
      ['ignore', true],
      ['slow', true],
      ['add', true],
    ]);
  });

  it('passes socket.io\'s ack function to the listener of a server event emitted with one', async () => {
    const answers = deferred<string>();
    const s = await server({
      onConnection: (socket) => socket.emit('question', 'name?', (answer: string) => answers.resolve(answer)),
    });
    const c = client<ServerToClientEvents, ClientToServerEvents>(s.url(), { ...fast, sio: ws });
    c.on('question', (q, ack) => {
      expect(q).toBe('name?');
      ack('surewire');
    });
    expect(await answers.promise).toBe('surewire');
  });

  it('sends and receives binary arguments, also nested, as socket.io does', async () => {
    const s = await server({ onConnection: handlers });
    const c = client<ServerToClientEvents, ClientToServerEvents>(s.url(), { ...fast, sio: ws });
    const got = deferred<[unknown, { name: string; bytes: unknown }]>();
    c.on('blob', (data, nested) => got.resolve([data, nested]));
    await waitFor(isOpen(c));
    const backing = new Uint8Array([9, 8, 7, 6, 5, 4]);
    expect(c.send('upload', 'file.bin', new Uint8Array([0, 1, 127, 128, 255]).buffer, { part: new Uint8Array(backing.buffer, 2, 3) })).toBe('sent');
    const [data, nested] = await got.promise;
    // Node's socket.io-client gives Buffers (browsers: ArrayBuffers): compare the bytes.
    expect(bytes(data)).toEqual([0, 1, 127, 128, 255, 7, 6, 5]);
    expect(nested.name).toBe('file.bin');
    expect(bytes(nested.bytes)).toEqual([9, 9]);
    const [, , more] = s.received[0]!.args as [string, Buffer, { part: Buffer }];
    expect(Buffer.isBuffer(more.part) && bytes(more.part)).toEqual([7, 6, 5]);
  });

  it('refuses socket.io\'s reserved event names at send(), with an encode error', async () => {
    const s = await server();
    const c = client(s.url(), { ...fast, sio: ws });
    for (const name of ['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']) {
      let thrown: unknown;
      try {
        c.send(name);
      } catch (e) {
        thrown = e;
      }
      expect(thrown, name).toBeInstanceOf(SurewireError);
      expect((thrown as SurewireError).code).toBe('encode');
      expect(String((thrown as SurewireError).cause)).toContain(`reserved event "${name}"`);
    }
    expect(c.send('connected', 1)).toBe('queued'); // only the exact names
    await waitFor(() => s.events().length == 1);
    expect(s.events()).toEqual([['connected', 1]]);
  });

  it('connects to a namespace given in the URL', async () => {
    const s = await server({ namespaces: ['/admin'], onConnection: handlers });
    const c = client<ServerToClientEvents, ClientToServerEvents>(s.url('/admin?room=7'), { ...fast, sio: ws });
    const hello = new Promise((resolve) => c.on('hello', resolve));
    expect(await hello).toBe('/admin');
    expect(await c.request('add', 1, 2)).toBe(3);
    expect(s.connections.map((x) => [x.nsp, x.socket.handshake.query.room])).toEqual([['/admin', '7']]);
  });
});

describe('the CDN entry', () => {
  it('is the client class carrying the whole API, socketIo and socket.io-client\'s io', async () => {
    expect(UMD).toBe(Surewire);
    expect([UMD.socketIo, UMD.io, UMD.ClosedError, UMD.jsonCodec]).toEqual([socketIo, io, ClosedError, expect.any(Object)]);
    const s = await server({ onConnection: handlers });
    const c = new UMD(s.url(), { transport: UMD.socketIo(UMD.io, ws), ...fast });
    cleanups.push(() => c.close());
    expect(await c.request('add', 40, 2)).toBe(42);
  });
});

describe('how socket.io ends map onto close codes', () => {
  it('a middleware refusal stops at once (1008) with its message as the reason and its data on the error', async () => {
    const s = await server({
      use: (_socket, next) => next(Object.assign(new Error('not authorized'), { data: { retry: false } })),
    });
    const c = client(s.url(), fast);
    const errors: SurewireError[] = [];
    c.connection.on('error', (e) => errors.push(e));
    const life = record(c.connection, ['close', 'reconnecting']);
    await waitFor(() => c.connection.state == 'closed');
    expect(c.connection.getSnapshot()).toMatchObject({ reason: 'stop code', code: 1008 });
    expect(life.log).toEqual([['close', { code: 1008, reason: 'not authorized', willReconnect: false }]]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ConnectionError);
    expect(errors[0]!.cause).toMatchObject({ message: 'not authorized', data: { retry: false } });
    await delay(200);
    expect([s.refused, s.engineConnections, s.connections.length]).toEqual([1, 1, 0]);
  });

  it('shouldReconnect overrides the table: a refused client retries, and gets in with a fresh token', async () => {
    let n = 0;
    const s = await server({ use: (socket, next) => next(socket.handshake.auth.token == 3 ? undefined : new Error('expired')) });
    const seen: unknown[] = [];
    const c = client(s.url(), {
      reconnect: { initialDelay: 20, jitter: 0, shouldReconnect: (close) => (seen.push(close), close.reason == 'expired') },
      sio: { ...ws, auth: () => ({ token: ++n }) },
    });
    await waitFor(isOpen(c));
    expect(seen).toEqual([
      { code: 1008, reason: 'expired' },
      { code: 1008, reason: 'expired' },
    ]);
    expect(s.connections.map((x) => x.auth)).toEqual([{ token: 3 }]);
  });

  it('a disconnect by the server (io server disconnect) stops (1008)', async () => {
    const s = await server();
    const c = client(s.url(), { ...fast, sio: ws });
    await waitFor(isOpen(c));
    const life = record(c.connection, ['close', 'reconnecting']);
    s.disconnectAll();
    await waitFor(() => c.connection.state == 'closed');
    expect(life.log).toEqual([['close', { code: 1008, reason: 'io server disconnect', willReconnect: false }]]);
    await delay(200);
    expect(s.engineConnections).toBe(1);
  });

  it('a transport close retries (1006) after the backoff; what was sent meanwhile goes first, in order', async () => {
    const s = await server();
    const c = client<DefaultEvents, ClientToServerEvents>(s.url(), { reconnect: { initialDelay: 150, jitter: 0 }, sio: ws });
    await waitFor(isOpen(c));
    c.send('n', 0);
    await waitFor(() => s.events().length == 1);
    const life = record(c.connection, ['close', 'reconnecting', 'open']);
    s.dropTransports();
    await once(c.connection, 'reconnecting');
    const sent = Array.from({ length: 50 }, (_, i) => c.send('n', i + 1));
    expect(sent).toEqual(Array(50).fill('queued'));
    await waitFor(isOpen(c));
    expect(c.send('n', 'after')).toBe('sent');
    await waitFor(() => s.events().length == 52);
    expect(s.events(1)).toEqual([['n', 0]]);
    expect(s.events(2)).toEqual([...Array.from({ length: 50 }, (_, i) => ['n', i + 1]), ['n', 'after']]);
    expect(life.log).toEqual([
      ['close', { code: 1006, reason: 'transport close', willReconnect: true }],
      ['reconnecting', { attempt: 1, delay: 150 }],
      ['open', { attempt: 1, recovered: false }],
    ]);
  });

  it('a stalled link is found by engine.io\'s ping timeout (4000) and replaced through the proxy', async () => {
    const s = await server({ io: { pingInterval: 100, pingTimeout: 100 }, onConnection: handlers });
    const p = await proxy(s);
    const c = client<ServerToClientEvents, ClientToServerEvents>(p.url('/', 'http'), { ...fast, sio: ws });
    await waitFor(isOpen(c));
    await delay(250); // a few pings went through: the link is alive
    expect(c.connection.state).toBe('open');
    const life = record(c.connection, ['close', 'reconnecting', 'open']);

    p.stall();
    const stalledAt = Date.now();
    const close = await once(c.connection, 'close', 2000);
    expect(Date.now() - stalledAt).toBeLessThanOrEqual(100 + 100 + 150);
    expect(close).toEqual({ code: 4000, reason: 'ping timeout', willReconnect: true });
    await waitFor(isOpen(c));
    expect(life.log.map(([e]) => e)).toEqual(['close', 'reconnecting', 'open']);
    expect(p.accepted).toBe(2);
    expect(await c.request('add', 2, 2)).toBe(4); // the new link works
  });

  it('an emit that socket.io would buffer (its ping just expired) is left to the outbox, and sent once', async () => {
    const s = await server();
    const rec = recordingIo();
    const c = client(s.url(), { ...fast, sio: ws, io: rec.io });
    await waitFor(isOpen(c));
    const sock = rec.sockets[0]!;
    // What a page frozen past its ping deadline sees: the engine's timer has expired but has not fired yet.
    (sock.io.engine as unknown as { _pingTimeoutTime: number })._pingTimeoutTime = 1;
    expect(c.send('after-freeze', 1)).toBe('queued');
    expect(sock.sendBuffer).toEqual([]);
    await once(c.connection, 'close');
    await waitFor(() => s.events().length >= 1);
    await delay(50);
    expect(s.events()).toEqual([['after-freeze', 1]]);
    expect(s.received[0]!.conn).toBe(2);
  });
});

describe('connection state recovery', () => {
  const recovery = { connectionStateRecovery: { maxDisconnectionDuration: 5000 } };

  it('reports recovered: true when the server restored the session, with the events missed meanwhile', async () => {
    const s = await server({ io: recovery, onConnection: (socket) => socket.emit('hello', 'hi') });
    const rec = recordingIo();
    const c = client<ServerToClientEvents, DefaultEvents>(s.url(), { reconnect: { initialDelay: 100, jitter: 0 }, sio: ws, io: rec.io });
    const missed: unknown[][] = [];
    c.on('missed', (...args) => missed.push(args));
    const opens = record(c.connection, ['open']);
    // socket.io recovers from the offset of the last event received: the client needs one first.
    const hello = await new Promise<unknown[]>((resolve) => c.once('hello', (...args) => resolve(args)));
    // socket.io appends that offset to every event when recovery is on, as socket.io-client's listeners see it.
    expect(hello).toEqual(['hi', expect.any(String)]);
    const id = s.last!.socket.id;

    s.dropTransports();
    await once(c.connection, 'reconnecting');
    s.io!.to(id).emit('missed', 1); // while the client is away
    await waitFor(() => opens.log.length == 2);
    await waitFor(() => missed.length == 1);

    expect(opens.log).toEqual([
      ['open', { attempt: 0, recovered: false }],
      ['open', { attempt: 1, recovered: true }],
    ]);
    expect(s.connections.map((x) => x.recovered)).toEqual([false, true]);
    expect(s.last!.socket.id).toBe(id);
    expect(missed).toEqual([[1, expect.any(String)]]);
    expect(rec.sockets).toHaveLength(1); // one Socket across attempts: what recovery needs
  });

  it('reports recovered: false when the server has recovery off, after reconnect(), and when the URL changes', async () => {
    const plain = await server();
    const c1 = client(plain.url(), { ...fast, sio: ws });
    const opens1 = record(c1.connection, ['open']);
    await waitFor(isOpen(c1));
    plain.dropTransports();
    await waitFor(() => opens1.log.length == 2);
    expect(opens1.log.map(([, x]) => x)).toEqual([
      { attempt: 0, recovered: false },
      { attempt: 1, recovered: false },
    ]);

    // reconnect() disconnects on purpose: socket.io discards a session ended by the client.
    const s = await server({ io: recovery, onConnection: (socket) => socket.emit('hello', 'hi') });
    const c2 = client(s.url(), { ...fast, sio: ws });
    const opens2 = record(c2.connection, ['open']);
    await new Promise((resolve) => c2.once('hello', resolve)); // an offset to recover from
    c2.reconnect();
    await waitFor(() => opens2.log.length == 2);
    expect(opens2.log[1]![1]).toEqual({ attempt: 0, recovered: false });

    // A URL that changes per attempt gets a new Socket each time: nothing to recover.
    let k = 0;
    const rec = recordingIo();
    const c3 = client(() => s.url(`/?k=${++k}`), { ...fast, sio: ws, io: rec.io });
    const opens3 = record(c3.connection, ['open']);
    await new Promise((resolve) => c3.once('hello', resolve));
    s.dropTransports();
    await waitFor(() => opens3.log.length == 2);
    expect(opens3.log[1]![1]).toEqual({ attempt: 1, recovered: false });
    expect(rec.sockets).toHaveLength(2);
  });
});

describe('auth and liveness', () => {
  it('evaluates auth before every attempt: async, sync, socket.io\'s callback form; a failing one retries', async () => {
    const s = await server();
    let n = 0;
    const c = client(s.url(), {
      ...fast,
      sio: {
        ...ws,
        auth: async () => {
          await delay(5); // like fetching a token
          if (++n == 2) throw new Error('token service down');
          return { token: `t${n}` };
        },
      },
    });
    const errors: SurewireError[] = [];
    c.connection.on('error', (e) => errors.push(e));
    const closes = record(c.connection, ['close']);
    await waitFor(isOpen(c));
    s.dropTransports();
    await waitFor(() => s.connections.length == 2 && isOpen(c)());
    s.dropTransports();
    await waitFor(() => s.connections.length == 3 && isOpen(c)());
    expect(s.connections.map((x) => x.auth)).toEqual([{ token: 't1' }, { token: 't3' }, { token: 't4' }]);
    expect(closes.log.map(([, x]) => x)).toEqual([
      { code: 1006, reason: 'transport close', willReconnect: true },
      { code: 1006, reason: 'auth failed', willReconnect: true },
      { code: 1006, reason: 'transport close', willReconnect: true },
    ]);
    expect(errors.map((e) => (e.cause as Error).message)).toEqual(['token service down']);

    let m = 0;
    const byCallback = client(s.url(), { ...fast, sio: { ...ws, auth: (cb) => void setTimeout(() => cb({ cb: ++m }), 5) } });
    const plainObject = client(s.url(), { ...fast, sio: { ...ws, auth: { fixed: true } } });
    await waitFor(() => isOpen(byCallback)() && isOpen(plainObject)());
    expect(s.connections.slice(3).map((x) => x.auth)).toEqual(expect.arrayContaining([{ cb: 1 }, { fixed: true }]));
  });

  it('reports the namespace CONNECT round trip as rtt at each open', async () => {
    const s = await server({ use: (_socket, next) => void setTimeout(next, 60) }); // a slow middleware is part of it
    const c = client(s.url(), { ...fast, sio: ws });
    const beats: number[] = [];
    c.connection.on('heartbeat', ({ rtt }) => beats.push(rtt));
    await waitFor(() => beats.length == 1);
    expect(beats[0]).toBeGreaterThanOrEqual(59);
    expect(beats[0]).toBeLessThan(1000);
    expect(c.connection.getSnapshot().rtt).toBe(beats[0]);
    s.dropTransports();
    await waitFor(() => beats.length == 2);
    expect(beats[1]).toBeGreaterThanOrEqual(59);
  });
});

describe('close()', () => {
  it('is final and releases everything: socket.io Socket, Manager, engine, timers and TCP sockets', async () => {
    const s = await server({ onConnection: handlers });
    const rec = recordingIo();
    await delay(150); // let the test runner's own throttled timer run out: a steady baseline
    const socketsBefore = activeResources('TCPSocketWrap');
    const timers = watchTimers();
    try {
      const c = client<ServerToClientEvents, ClientToServerEvents>(s.url(), { ...fast, io: rec.io });
      const app: unknown[] = [];
      c.on('news', (...a) => app.push(a));
      await waitFor(isOpen(c));
      const pending = c.timeout(5000).request('ignore').then(() => 'resolved', (e: unknown) => e);
      await waitFor(() => s.events().length == 1);
      const life = record(c.connection, ['state', 'open', 'close', 'reconnecting', 'error', 'heartbeat']);

      c.close();
      expect(await pending).toBeInstanceOf(ClosedError);
      await waitFor(() => s.last!.disconnected, 2000, 'the server sees the client leave');
      expect(s.last!.disconnected).toBe('client namespace disconnect');
      const sock = rec.sockets[0]!;
      expect([sock.connected, sock.active, sock.io.engine.readyState]).toEqual([false, false, 'closed']);
      expect(sock.sendBuffer).toEqual([]);

      // Nothing of the socket reaches the client any more, and no attempt follows.
      s.io!.emit('news', 'late', 1, [], null);
      (sock as unknown as { emitReserved: (e: string, ...a: unknown[]) => void }).emitReserved('connect');
      (sock as unknown as { emitReserved: (e: string, ...a: unknown[]) => void }).emitReserved('disconnect', 'transport close');
      await delay(200);
      expect(app).toEqual([]);
      expect(life.log).toEqual([
        ['state', { from: 'open', to: 'closed', reason: 'close()' }],
        ['close', { code: 1000, reason: '', willReconnect: false }],
      ]);
      expect([s.engineConnections, rec.sockets.length]).toEqual([1, 1]);

      await waitFor(() => timers.live().length == 0, 1000).catch(() => {});
      expect(timers.live()).toEqual([]);
      await waitFor(() => activeResources('TCPSocketWrap') <= socketsBefore, 2000).catch(() => {});
      expect(activeResources('TCPSocketWrap')).toBeLessThanOrEqual(socketsBefore);
    } finally {
      timers.stop();
    }
  });

  it('keeps the transport contract: after close(code, reason), no callback of the context fires', async () => {
    const s = await server({ onConnection: handlers });
    const rec = recordingIo();
    const transport = socketIo(rec.io, ws);
    const calls: unknown[][] = [];
    const ctx: TransportContext = {
      url: s.url(),
      protocols: undefined,
      WebSocket: undefined,
      open: (info) => calls.push(['open', info]),
      frame: (f) => calls.push(['frame', f]),
      close: (code, reason) => calls.push(['close', code, reason]),
      error: (e) => calls.push(['error', e]),
      rtt: (ms) => calls.push(['rtt', typeof ms]),
    };
    const conn = transport.connect(ctx);
    expect(conn.send({ event: 'news', args: ['early', 0, [], null] })).toBe(false); // not connected yet: the client queues
    await waitFor(() => calls.length >= 3);
    expect(calls).toEqual([
      ['open', { recovered: false }],
      ['rtt', 'number'],
      ['frame', { event: 'hello', args: ['/'] }],
    ]);
    expect(conn.send({ event: 'add', args: [1, 2], id: 7 })).toBe(true);
    await waitFor(() => calls.length == 4);
    expect(calls[3]).toEqual(['frame', { id: 7, args: [3] }]);

    conn.close(4002, 'bye');
    const sock = rec.sockets[0]!;
    const emit = (sock as unknown as { emitReserved: (e: string, ...a: unknown[]) => void }).emitReserved.bind(sock);
    emit('connect');
    emit('disconnect', 'transport close');
    emit('connect_error', new Error('late'));
    s.io!.emit('news', 'late', 1, [], null);
    await delay(100);
    expect(calls).toHaveLength(4);
    expect(conn.send({ event: 'news', args: ['after', 0, [], null] })).toBe(false);
    await waitFor(() => s.last!.disconnected);
    expect(s.events()).toEqual([['add', 1, 2]]);
    expect(transport.heartbeat).toBe(false);
    expect(transport.codec!.decode(calls[3]![1])).toBe(calls[3]![1]); // packets pass through as they are
  });

  it('during an attempt whose auth is still pending: the attempt never reaches the server', async () => {
    const s = await server();
    const token = deferred<object>();
    let asked = 0;
    const c = client(s.url(), { ...fast, sio: { ...ws, auth: () => (asked++, token.promise) } });
    await waitFor(() => asked == 1); // the transport's attempt has started, and waits for its token
    expect(c.connection.state).toBe('connecting');
    c.close();
    token.resolve({ token: 'late' });
    await delay(200);
    expect([s.tcpConnections, s.engineConnections]).toEqual([0, 0]);
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'closed', reason: 'close()' });
  });
});

describe('socketIo: which packets queue.storage may keep', () => {
  const { storable } = socketIo(io);
  it('keeps packets of JSON data, and refuses binary data anywhere inside, and anything that is not a packet', () => {
    expect(storable!({ event: 'message', args: ['hi', { n: 1, list: [1, 'x', null] }] })).toBe(true);
    expect(storable!({ event: 'file', args: [new Uint8Array([1])] })).toBe(false);
    expect(storable!({ event: 'file', args: [{ meta: { parts: ['a', new ArrayBuffer(2)] } }] })).toBe(false);
    expect(storable!({ event: 'file', args: [new Blob(['x'])] })).toBe(false);
    for (const v of [null, 5, 'text', { args: [] }, { event: 'm' }]) expect(storable!(v), JSON.stringify(v)).toBe(false);
  });
});
