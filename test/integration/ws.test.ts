// Integration: surewire against a real `ws` server on loopback, through a real TCP proxy when the
// network has to misbehave. Real sockets, real timers; waits on events, never on fixed sleeps
// (`delay` is only used as an observation window for things that must NOT happen).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Surewire } from '../../src/client';
import type { Provider, SurewireOptions } from '../../src/options';
import type { ConnectionSnapshot } from '../../src/connection';
import type { DefaultEvents, EventsMap } from '../../src/types';
import { ClosedError, ConnectionError, DecodeError, OptionError, RemoteError, SurewireError, TimeoutError } from '../../src/errors';
import { delay, deferred, once, record, waitFor } from '../helpers/wait';
import { activeResources, watchTimers } from '../helpers/leaks';
import { echo, parseJson, startWsServer, type MessageHandler, type TestWsServer, type WsServerOptions } from '../helpers/ws-server';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';
import { NodeWebSocket, recordingWebSocket } from '../helpers/ws-client';

// ---------------------------------------------------------------------------------------------------------
// Set-up: everything a test makes is closed after it, clients first, then proxies, then servers.

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  // Every cleanup runs, even after one fails; the first failure is reported.
  const errors: unknown[] = [];
  for (const fn of cleanups.splice(0).reverse()) await Promise.resolve().then(fn).catch((e: unknown) => errors.push(e));
  if (errors.length) throw errors[0];
});

async function server(o: WsServerOptions = {}): Promise<TestWsServer> {
  const s = await startWsServer(o);
  cleanups.push(() => s.close());
  return s;
}

async function proxy(target: { port: number }): Promise<TcpProxy> {
  const p = await startTcpProxy(target);
  cleanups.push(() => p.close());
  return p;
}

function client<L extends EventsMap = DefaultEvents, E extends EventsMap = DefaultEvents>(
  url: Provider<string | URL>,
  options: SurewireOptions = {},
): Surewire<L, E> {
  const c = new Surewire<L, E>(url, { WebSocket: NodeWebSocket, ...options });
  cleanups.push(() => c.close());
  return c;
}

/** Small delays, no jitter, no heartbeat: for the tests where the heartbeat is irrelevant. */
const fast = { reconnect: { initialDelay: 20, jitter: 0 }, heartbeat: false } as const satisfies SurewireOptions;

const isOpen = (c: Surewire<EventsMap, EventsMap>) => () => c.connection.state == 'open';
const states = (log: [string, unknown][]) => log.map(([, s]) => (s as { to: string }).to);

// The whole file must leave no socket or server behind.
let baseline: { sockets: number; servers: number };
beforeAll(() => {
  baseline = { sockets: activeResources('TCPSocketWrap'), servers: activeResources('TCPServerWrap') };
});
afterAll(async () => {
  await waitFor(
    () => activeResources('TCPSocketWrap') <= baseline.sockets && activeResources('TCPServerWrap') <= baseline.servers,
    2000,
    'no TCP socket or server left open by the tests',
  );
});

// ---------------------------------------------------------------------------------------------------------

interface Profile {
  name: string;
  tags: string[];
  age: number | null;
  nested: { ok: boolean; ratio: number };
}

interface ServerEvents {
  echo: (text: string, n: number) => void;
  profile: (p: Profile) => void;
  many: (a: string, b: number, c: boolean, d: null, e: number[], f: Profile) => void;
  big: (s: string) => void;
  error: (message: string) => void;
  binary: (data: ArrayBuffer) => void;
}

interface ClientEvents {
  say: (text: string, n: number) => void;
  profile: (p: Profile) => void;
  many: (a: string, b: number, c: boolean, d: null, e: number[], f: Profile) => void;
  add: (a: number, b: number, ack: (sum: number) => void) => void;
  binary: (data: ArrayBuffer | Uint8Array) => void;
}

const profile: Profile = { name: 'Zoë "z" <b>', tags: ['a', 'ü', '✓', ''], age: null, nested: { ok: true, ratio: -1.5 } };

describe('typed messages', () => {
  it('round-trips typed events, with several arguments and object payloads, through a real ws server', async () => {
    const s = await server({ onMessage: echo((e) => (e == 'say' ? 'echo' : e)) });
    const c = client<ServerEvents, ClientEvents>(s.url(), fast);
    const got: unknown[][] = [];
    c.on('echo', (text, n) => got.push(['echo', text, n]));
    c.on('profile', (p) => got.push(['profile', p]));
    c.on('many', (...args) => got.push(['many', ...args]));
    await waitFor(isOpen(c));

    expect(c.send('say', 'hello', 1)).toBe('sent');
    expect(c.send('say', 'line\u2028sep "q" ✓ 🎉', 0)).toBe('sent');
    expect(c.send('profile', profile)).toBe('sent');
    expect(c.send('many', 'a', 2.5, false, null, [1, 2, 3], profile)).toBe('sent');
    await waitFor(() => got.length >= 4);

    expect(got).toEqual([
      ['echo', 'hello', 1],
      ['echo', 'line\u2028sep "q" ✓ 🎉', 0],
      ['profile', profile],
      ['many', 'a', 2.5, false, null, [1, 2, 3], profile],
    ]);
    // The wire format is the documented one: ["event", ...args]
    expect(s.texts()).toEqual([
      '["say","hello",1]',
      JSON.stringify(['say', 'line\u2028sep "q" ✓ 🎉', 0]),
      JSON.stringify(['profile', profile]),
      JSON.stringify(['many', 'a', 2.5, false, null, [1, 2, 3], profile]),
    ]);

    // Compile-time only: the event maps are enforced (checked by tsc, never run).
    const typeChecks = (): void => {
      // @ts-expect-error 'say' takes (string, number)
      c.send('say', 1, 'x');
      // @ts-expect-error unknown client event
      c.send('nope');
      // @ts-expect-error listener args must match the server event
      c.on('echo', (text: number) => text);
    };
    void typeChecks;
  });

  it('delivers each message to every listener, once listeners run in order, and stops after unsubscribe', async () => {
    const s = await server({ onMessage: echo((e) => (e == 'say' ? 'echo' : e)) });
    const c = client<ServerEvents, ClientEvents>(s.url(), fast);
    const log: string[] = [];
    const stop = c.on('echo', (t) => log.push(`a:${t}`));
    c.once('echo', (t) => log.push(`once:${t}`));
    c.on('echo', (t) => log.push(`b:${t}`));
    await waitFor(isOpen(c));
    c.send('say', '1', 1);
    await waitFor(() => log.length >= 3);
    stop();
    c.send('say', '2', 2);
    await waitFor(() => log.length >= 4);
    expect(log).toEqual(['a:1', 'once:1', 'b:1', 'b:2']);
  });
  it('queues messages sent before the first open and sends them, in order, once open', async () => {
    const s = await server({ onMessage: echo((e) => (e == 'say' ? 'echo' : e)) });
    const c = client<ServerEvents, ClientEvents>(s.url(), fast);
    expect(c.connection.state).toBe('connecting');
    expect([c.send('say', 'a', 1), c.send('say', 'b', 2)]).toEqual(['queued', 'queued']);
    await waitFor(isOpen(c));
    expect(c.send('say', 'c', 3)).toBe('sent');
    await waitFor(() => s.texts().length >= 3);
    expect(s.texts()).toEqual(['["say","a",1]', '["say","b",2]', '["say","c",3]']);
  });
});

describe('reconnection', () => {
  it('reopens by itself after the server terminates the connection, and messages flow again', async () => {
    const s = await server({ onMessage: echo((e) => (e == 'say' ? 'echo' : e)) });
    const c = client<ServerEvents, ClientEvents>(s.url(), { ...fast, autoConnect: false });
    const state = record(c.connection, ['state']);
    const life = record(c.connection, ['open', 'close', 'reconnecting']);
    const got: unknown[][] = [];
    c.on('echo', (t, n) => got.push([t, n]));
    c.connect();
    await waitFor(isOpen(c));
    c.send('say', 'before', 1);
    await waitFor(() => got.length >= 1);

    s.terminateAll();
    const closedAt = await once(c.connection, 'close').then(() => Date.now());
    await once(c.connection, 'open');
    const reopenedAt = Date.now();

    expect(states(state.log)).toEqual(['connecting', 'open', 'reconnecting', 'connecting', 'open']);
    expect(life.log).toEqual([
      ['open', { attempt: 0 }],
      ['close', { code: 1006, reason: '', willReconnect: true }],
      ['reconnecting', { attempt: 1, delay: 20 }],
      ['open', { attempt: 1 }],
    ]);
    expect(reopenedAt - closedAt).toBeGreaterThanOrEqual(19); // waited out the backoff delay
    expect(s.connections.length).toBe(2);

    expect(c.send('say', 'after', 2)).toBe('sent');
    await waitFor(() => got.length >= 2);
    expect(got).toEqual([
      ['before', 1],
      ['after', 2],
    ]);
    expect(s.texts(2)).toEqual(['["say","after",2]']);
  });

  it('uses a fresh URL from an async provider, and fresh protocols, on every attempt', async () => {
    const s = await server();
    let n = 0;
    let p = 0;
    const c = client(
      async () => {
        await delay(5); // like fetching a token
        return `ws://127.0.0.1:${s.port}/?token=${++n}`;
      },
      { ...fast, protocols: () => [`v${++p}`] },
    );
    await waitFor(isOpen(c));
    s.terminateAll();
    await waitFor(() => s.connections.length >= 2 && c.connection.state == 'open');
    s.terminateAll();
    await waitFor(() => s.connections.length >= 3 && c.connection.state == 'open');

    expect(s.connections.map((x) => x.url)).toEqual(['/?token=1', '/?token=2', '/?token=3']);
    expect(s.connections.map((x) => x.protocol)).toEqual(['v1', 'v2', 'v3']);
    expect(n).toBe(3);
  });

  it('accepts a provider returning a URL object', async () => {
    const s = await server();
    let n = 0;
    const c = client(() => new URL(`ws://127.0.0.1:${s.port}/room?n=${++n}`), fast);
    await waitFor(isOpen(c));
    s.terminateAll();
    await waitFor(() => s.connections.length >= 2 && c.connection.state == 'open');
    expect(s.connections.map((x) => x.url)).toEqual(['/room?n=1', '/room?n=2']);
  });

  it('calls reconnect() to replace an open connection at once', async () => {
    const s = await server();
    const c = client(s.url(), { ...fast, reconnect: { initialDelay: 5000, jitter: 0 } });
    await waitFor(isOpen(c));
    const life = record(c.connection, ['close', 'open']);
    c.reconnect();
    await waitFor(() => s.connections.length >= 2 && c.connection.state == 'open', 1000);
    await waitFor(() => s.connections[0]!.closed);
    expect(s.connections[0]!.closed).toEqual({ code: 4002, reason: 'reconnect()' });
    expect(life.log).toEqual([
      ['close', { code: 4002, reason: 'reconnect()', willReconnect: true }],
      ['open', { attempt: 0 }],
    ]);
  });
});

describe('close codes and backoff', () => {
  it('stops on a "do not come back" close code (1008) and retries on 1001', async () => {
    const s = await server();
    const c = client(s.url(), fast);
    const closes = record(c.connection, ['close']);
    await waitFor(isOpen(c));
    s.closeAll(1001, 'restarting');
    await waitFor(() => s.connections.length >= 2 && c.connection.state == 'open');
    s.closeAll(1008, 'banned');
    await waitFor(() => c.connection.state == 'closed');
    expect(c.connection.getSnapshot()).toMatchObject({ reason: 'stop code', code: 1008 });
    expect(closes.log).toEqual([
      ['close', { code: 1001, reason: 'restarting', willReconnect: true }],
      ['close', { code: 1008, reason: 'banned', willReconnect: false }],
    ]);
    await delay(200);
    expect(s.connections.length).toBe(2);
  });

  it('honours reconnect.stopCodes ranges and shouldReconnect', async () => {
    const s = await server();
    const a = client(s.url(), { ...fast, reconnect: { initialDelay: 20, jitter: 0, stopCodes: [[4400, 4499]] } });
    const seen: { code: number; reason: string }[] = [];
    const b = client(s.url(), {
      ...fast,
      reconnect: { initialDelay: 20, jitter: 0, shouldReconnect: (close) => (seen.push(close), close.code != 4000) },
    });
    await waitFor(() => isOpen(a)() && isOpen(b)());
    s.connections[0]!.socket.close(4404, 'gone');
    s.connections[1]!.socket.close(4000, 'bye');
    await waitFor(() => a.connection.state == 'closed' && b.connection.state == 'closed');
    expect(a.connection.getSnapshot()).toMatchObject({ reason: 'stop code', code: 4404 });
    expect(b.connection.getSnapshot()).toMatchObject({ reason: 'stop code', code: 4000 });
    expect(seen).toEqual([{ code: 4000, reason: 'bye' }]);
    await delay(200);
    expect(s.connections.length).toBe(2);
  });

  it('backs off exponentially when the server accepts and drops at once (no fast loop)', async () => {
    const s = await server({ onConnection: (conn) => conn.socket.terminate() });
    const c = client(s.url(), { ...fast, reconnect: { initialDelay: 20, factor: 2, maxDelay: 160, jitter: 0 } });
    const delays: number[] = [];
    c.connection.on('reconnecting', ({ delay: d }) => delays.push(d));
    await waitFor(() => delays.length >= 5, 3000);
    expect(delays.slice(0, 5)).toEqual([20, 40, 80, 160, 160]);
    expect(c.connection.getSnapshot().attempt).toBe(delays.length); // never reset: no connection was stable
  });

  it('does not reconnect clients dropped together in lockstep (jitter)', async () => {
    const s = await server();
    const clients = Array.from({ length: 5 }, () =>
      client(s.url(), { heartbeat: false, reconnect: { initialDelay: 60_000, maxDelay: 120_000, jitter: 1 } }),
    );
    await waitFor(() => clients.every((c) => isOpen(c)()));
    const delays: number[] = [];
    for (const c of clients) c.connection.on('reconnecting', ({ delay: d }) => delays.push(d));
    s.terminateAll();
    await waitFor(() => delays.length >= 5);
    expect(delays.every((d) => Number.isInteger(d) && d >= 0 && d <= 120_000)).toBe(true);
    expect(new Set(delays).size).toBeGreaterThanOrEqual(4); // two collisions out of 120 001 values: ~1e-8
  });

  it('aborts an attempt that is not open within connectTimeout, then connects', async () => {
    const s = await server();
    const p = await proxy(s);
    p.mode = 'stall'; // TCP accepted, the handshake never answered
    const c = client(p.url(), { ...fast, connectTimeout: 150 });
    const errors: SurewireError[] = [];
    c.connection.on('error', (e) => errors.push(e));
    const started = Date.now();
    const close = await once(c.connection, 'close', 2000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(149);
    expect(close).toEqual({ code: 4001, reason: 'connect timeout', willReconnect: true });
    expect(errors.map((e) => e.code)).toEqual(['connect-timeout']);
    p.mode = 'forward';
    await waitFor(isOpen(c), 2000);
    expect(p.accepted).toBe(2);
    expect(s.connections.length).toBe(1);
  });
});

describe('offline outbox', () => {
  const N = 500;

  it('delivers 500 messages sent during a ~2 s outage (connections refused) once each and in order', async () => {
    const s = await server();
    const p = await proxy(s);
    const c = client(p.url(), { ...fast, reconnect: { initialDelay: 20, maxDelay: 100, jitter: 0 } });
    await waitFor(isOpen(c));
    expect(c.send('n', -1)).toBe('sent');
    await waitFor(() => s.texts().length >= 1);

    p.mode = 'refuse';
    p.cut();
    await waitFor(() => c.connection.state != 'open');

    const results: string[] = [];
    const statesSeen = new Set<string>();
    for (let i = 0; i < N; i++) {
      statesSeen.add(c.connection.state);
      results.push(c.send('n', i));
      if (i % 10 == 9) await delay(40); // spread the sends over the outage: 50 × 40 ms
    }
    expect(results).toEqual(Array(N).fill('queued'));
    expect(statesSeen.has('open')).toBe(false);
    expect(c.connection.getSnapshot().queued).toBe(N);
    expect(s.texts()).toEqual(['["n",-1]']); // nothing leaked out during the outage
    expect(p.refused).toBeGreaterThanOrEqual(5); // the client kept trying, every ≤ 100 ms

    p.mode = 'forward';
    await waitFor(isOpen(c), 2000);
    expect(c.send('n', 'last')).toBe('sent');
    await waitFor(() => s.texts().includes('["n","last"]'), 3000, 'the message sent after the reconnect arrives');

    const expected = ['["n",-1]', ...Array.from({ length: N }, (_, i) => `["n",${i}]`), '["n","last"]'];
    expect(s.texts()).toEqual(expected);
    expect(s.texts(2)).toEqual(expected.slice(1));
    expect(s.connections.length).toBe(2);
    expect(c.connection.getSnapshot().queued).toBe(0);
  });

  it('delivers messages queued while the server was down once it is back on the same port', async () => {
    const s = await server();
    const c = client(s.url(), { ...fast, reconnect: { initialDelay: 20, maxDelay: 100, jitter: 0 } });
    await waitFor(isOpen(c));
    await s.stop();
    await waitFor(() => c.connection.state != 'open');

    const results: string[] = [];
    for (let i = 0; i < N; i++) {
      results.push(c.send('n', i));
      if (i % 25 == 24) await delay(20);
    }
    expect(results).toEqual(Array(N).fill('queued'));

    await s.start();
    await waitFor(isOpen(c), 2000);
    c.send('n', 'last');
    await waitFor(() => s.texts().includes('["n","last"]'), 3000, 'the message sent after the reconnect arrives');
    expect(s.texts()).toEqual([...Array.from({ length: N }, (_, i) => `["n",${i}]`), '["n","last"]']);
    expect(s.connections.length).toBe(2);
  });
});

describe('heartbeat', () => {
  const heartbeat = { interval: 100, timeout: 200 };

  it('detects a stalled link (TCP open, nothing flowing) within interval + timeout and replaces the connection', async () => {
    const s = await server({ onMessage: echo((e) => (e == 'say' ? 'echo' : e)) });
    const p = await proxy(s);
    const c = client<ServerEvents, ClientEvents>(p.url(), { reconnect: { initialDelay: 20, jitter: 0 }, heartbeat });
    const errors: SurewireError[] = [];
    c.connection.on('error', (e) => errors.push(e));
    const life = record(c.connection, ['close', 'reconnecting', 'open']);
    await waitFor(isOpen(c));

    // The link works: a ping is answered and the round trip is measured.
    const { rtt } = await once<{ rtt: number }>(c.connection, 'heartbeat', 1000);
    expect(rtt).toBeGreaterThanOrEqual(0);
    expect(rtt).toBeLessThan(100);
    expect(c.connection.getSnapshot().rtt).toBe(rtt);

    // Stall right after a pong: no ping is outstanding, so death is due one interval + one timeout later.
    p.stall();
    const stalledAt = Date.now();
    const err = await once<SurewireError>(c.connection, 'error', 2000);
    const elapsed = Date.now() - stalledAt;

    expect(err).toBeInstanceOf(ConnectionError);
    expect(err.code).toBe('heartbeat');
    expect(elapsed).toBeGreaterThanOrEqual(heartbeat.timeout - 1);
    expect(elapsed).toBeLessThanOrEqual(heartbeat.interval + heartbeat.timeout + 100);

    await waitFor(() => c.connection.state == 'open' && p.accepted == 2, 2000);
    expect(errors.map((e) => e.code)).toEqual(['heartbeat']);
    expect(life.log).toEqual([
      ['open', { attempt: 0 }],
      ['close', { code: 4000, reason: 'heartbeat timeout', willReconnect: true }],
      ['reconnecting', { attempt: 1, delay: 20 }],
      ['open', { attempt: 1 }],
    ]);
    expect(s.connections.length).toBe(2);

    // The new connection works.
    const echoed = new Promise<[string, number]>((resolve) => c.once('echo', (t, n) => resolve([t, n])));
    expect(c.send('say', 'alive', 7)).toBe('sent');
    expect(await echoed).toEqual(['alive', 7]);
    expect(s.texts(2)).toEqual(['["say","alive",7]']);
  });

  it('detects a server that stops answering pings, closes with 4000, and reconnects', async () => {
    const s = await server();
    const c = client(s.url(), { reconnect: { initialDelay: 20, jitter: 0 }, heartbeat });
    await waitFor(isOpen(c));
    await waitFor(() => s.pings >= 1);
    s.goSilent();
    const silentAt = Date.now();
    const err = await once<SurewireError>(c.connection, 'error', 2000);
    const elapsed = Date.now() - silentAt;
    s.silent = false; // the next connection is answered again
    expect(err.code).toBe('heartbeat');
    expect(elapsed).toBeLessThanOrEqual(heartbeat.interval + heartbeat.timeout + 100);

    await waitFor(() => s.connections.length >= 2 && c.connection.state == 'open');
    await waitFor(() => s.connections[0]!.closed);
    expect(s.connections[0]!.closed).toEqual({ code: 4000, reason: 'heartbeat timeout' });
    // The new connection is kept alive by its pongs: several pings answered, no further error.
    const pingsBefore = s.pings;
    await once(c.connection, 'heartbeat', 1000);
    await once(c.connection, 'heartbeat', 1000);
    expect(s.pings).toBeGreaterThanOrEqual(pingsBefore + 2);
    expect(c.connection.state).toBe('open');
    expect(s.connections.length).toBe(2);
  });

  it('treats any frame as a sign of life and does not dispatch the pong', async () => {
    const s = await server();
    // A timeout well above the interval: a busy machine's stall must not count as a dead link here.
    const c = client(s.url(), { reconnect: { initialDelay: 20, jitter: 0 }, heartbeat: { interval: 50, timeout: 2000 } });
    const events: unknown[] = [];
    c.on('pong', () => events.push('pong'));
    const errors: SurewireError[] = [];
    c.connection.on('error', (e) => errors.push(e));
    await waitFor(isOpen(c));
    await waitFor(() => s.pings >= 4, 2000);
    expect(errors).toEqual([]);
    expect(events).toEqual([]);
    expect(s.connections.length).toBe(1);
  });
});

describe('giving up and closing', () => {
  const reconnect = { initialDelay: 20, jitter: 0, maxRetries: 3 };

  it('ends in closed with reason "max retries" when the server is gone for good, and makes no further attempt', async () => {
    const s = await server();
    const ws = recordingWebSocket();
    const c = client(s.url(), { ...fast, WebSocket: ws.WebSocket, reconnect });
    const errors: SurewireError[] = [];
    c.connection.on('error', (e) => errors.push(e));
    const life = record(c.connection, ['close', 'reconnecting']);
    await waitFor(isOpen(c));
    await s.stop(); // nothing listens on the port any more: connection refused

    await waitFor(() => c.connection.state == 'closed', 3000);
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'closed', reason: 'max retries', retryAt: null });
    expect(ws.sockets.length).toBe(1 + 3);
    const close = { code: 1006, reason: '' };
    expect(life.log).toEqual([
      ['close', { ...close, willReconnect: true }],
      ['reconnecting', { attempt: 1, delay: 20 }],
      ['close', { ...close, willReconnect: true }],
      ['reconnecting', { attempt: 2, delay: 40 }],
      ['close', { ...close, willReconnect: true }],
      ['reconnecting', { attempt: 3, delay: 80 }],
      ['close', { ...close, willReconnect: false }],
    ]);
    expect(errors.map((e) => [e.constructor, e.code])).toEqual(Array(3).fill([ConnectionError, 'socket']));

    await delay(300);
    expect(ws.sockets.length).toBe(4);
    expect(life.log.length).toBe(7);
    expect(c.connection.state).toBe('closed');

    // Not final: connect() starts again once the server is back.
    await s.start();
    c.connect();
    await waitFor(isOpen(c));
    expect(ws.sockets.length).toBe(5);
    expect(s.connections.length).toBe(2);
  });

  it('counts refused attempts through a proxy: exactly maxRetries after the drop, none after closed', async () => {
    const s = await server();
    const p = await proxy(s);
    const c = client(p.url(), { ...fast, reconnect });
    await waitFor(isOpen(c));
    p.mode = 'refuse';
    p.cut();
    await waitFor(() => c.connection.state == 'closed', 3000);
    expect(c.connection.getSnapshot().reason).toBe('max retries');
    expect(p.accepted).toBe(4);
    expect(p.refused).toBe(3);
    await delay(300);
    expect(p.accepted).toBe(4);
    expect(s.connections.length).toBe(1);
  });

  it('close() is final: the server sees the close, and no attempt reaches it afterwards', async () => {
    const s = await server();
    const c = client<ServerEvents, DefaultEvents>(s.url(), fast);
    await waitFor(isOpen(c));
    const life = record(c.connection, ['state', 'close', 'reconnecting', 'open', 'drop']);
    c.close();
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'closed', reason: 'close()' });
    await waitFor(() => s.last!.closed);
    expect(s.last!.closed).toEqual({ code: 1000, reason: '' });

    // Calls after close(): dropped and reported, rejected, or ignored; never a new attempt.
    expect(c.send('late', 1)).toBe('dropped');
    await expect(c.request('late', 2)).rejects.toBeInstanceOf(ClosedError);
    c.reconnect();
    c.connect();
    c.close();

    await delay(300);
    expect(s.connections.length).toBe(1);
    expect(s.tcpConnections).toBe(1);
    expect(c.connection.state).toBe('closed');
    expect(life.log).toEqual([
      ['state', { from: 'open', to: 'closed', reason: 'close()' }],
      ['close', { code: 1000, reason: '', willReconnect: false }],
      ['drop', { message: { event: 'late', args: [1] }, frame: '["late",1]', reason: 'closed' }],
      ['drop', { message: { id: 1, event: 'late', args: [2] }, frame: '{"id":1,"event":"late","args":[2]}', reason: 'closed' }],
    ]);
  });

  it('close() during the backoff wait cancels the retry', async () => {
    const s = await server();
    const c = client(s.url(), fast);
    await waitFor(isOpen(c));
    s.terminateAll();
    await once(c.connection, 'reconnecting');
    c.close();
    await delay(300);
    expect(s.connections.length).toBe(1);
    expect(s.tcpConnections).toBe(1);
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'closed', reason: 'close()' });
  });

  it('close() while an async URL provider is pending: the attempt never starts', async () => {
    const s = await server();
    const url = deferred<string>();
    const c = client(() => url.promise, fast);
    const opened: unknown[] = [];
    c.connection.on('open', (o) => opened.push(o));
    expect(c.connection.state).toBe('connecting');
    c.close();
    url.resolve(s.url());
    await delay(300);
    expect(s.tcpConnections).toBe(0);
    expect(opened).toEqual([]);
    expect(c.connection.state).toBe('closed');
  });

  it('releases every timer, socket and listener after close()', async () => {
    const s = await server({ onMessage: echo((e) => (e == 'say' ? 'echo' : e)) });
    const ws = recordingWebSocket();
    // Let the test runner's own throttled timer (≤ 100 ms after the test starts) run out: a steady baseline.
    await delay(150);
    const socketsBefore = activeResources('TCPSocketWrap');
    const timers = watchTimers();
    try {
      const c = client<ServerEvents, DefaultEvents>(s.url(), {
        WebSocket: ws.WebSocket,
        reconnect: { initialDelay: 20, jitter: 0 },
        heartbeat: { interval: 1000, timeout: 500 },
      });
      await waitFor(isOpen(c));
      const pending = c.timeout(5000).request('never-answered').then(() => 'resolved', (e: unknown) => e);
      // The probe sees the client's own timers: the stable-connection timer, the heartbeat tick, the request.
      expect(timers.live().length).toBe(3);

      const app: unknown[] = [];
      c.on('echo', (t) => app.push(t));
      const life = record(c.connection, ['state', 'open', 'close', 'reconnecting', 'error', 'heartbeat']);
      c.close();
      expect(await pending).toBeInstanceOf(ClosedError);

      const socket = ws.sockets[0]!;
      await waitFor(() => socket.readyState == WebSocket.CLOSED && s.last!.closed, 2000, 'both ends closed');
      expect(s.last!.closed).toEqual({ code: 1000, reason: '' });
      // Node reports a cleared timer's end asynchronously: give it a moment, then insist.
      await waitFor(() => timers.live().length == 0, 1000, 'no timer of the client left').catch(() => {});
      expect(timers.live()).toEqual([]);
      // Sockets of earlier tests may still be closing at the baseline, so the count can only have gone down.
      expect(activeResources('TCPSocketWrap')).toBeLessThanOrEqual(socketsBefore);

      // The client has let go of the socket: no message/open/close listener is left on it
      // (the transport keeps a no-op 'error' listener on purpose, see transports/websocket.ts).
      expect(['message', 'open', 'close'].map((e) => socket.listenerCount(e))).toEqual([0, 0, 0]);
      // And the socket's events no longer reach the client: no app event, no lifecycle event, no new attempt.
      socket.emit('message', Buffer.from('["echo","late",1]'), false);
      socket.emit('open');
      socket.emit('close', 1006, Buffer.from(''));
      await delay(100);
      expect(app).toEqual([]);
      expect(life.log).toEqual([
        ['state', { from: 'open', to: 'closed', reason: 'close()' }],
        ['close', { code: 1000, reason: '', willReconnect: false }],
      ]);
      expect(ws.sockets.length).toBe(1);
      expect(s.connections.length).toBe(1);
      expect(timers.live()).toEqual([]);
    } finally {
      timers.stop();
    }
  });
});

describe('half-open links release their socket', () => {
  // With the `ws` package a close() waits up to 30 s for the server's close frame; on a link that carries
  // nothing that frame never comes, and the socket (and ws's 30 s timer) would keep Node alive.
  it('close() on a stalled link leaves no socket or timer behind', async () => {
    const s = await server();
    const p = await proxy(s);
    const ws = recordingWebSocket();
    const timers = watchTimers();
    try {
      const c = client(p.url(), { ...fast, WebSocket: ws.WebSocket });
      await waitFor(isOpen(c));
      p.stall();
      c.close();
      await waitFor(() => ws.sockets[0]!.readyState == WebSocket.CLOSED, 3000, 'the client socket is closed');
      // Node reports a cleared timer's end asynchronously: give it a moment, then insist. The `ws` package's
      // own 30 s close timer would still be listed here.
      await waitFor(() => timers.live().length == 0, 1000, 'no timer left').catch(() => {});
      expect(timers.live()).toEqual([]);
    } finally {
      timers.stop();
    }
  });

  it('a connection given up by the heartbeat does not linger after it is replaced', async () => {
    const s = await server();
    const p = await proxy(s);
    const ws = recordingWebSocket();
    const c = client(p.url(), { WebSocket: ws.WebSocket, reconnect: { initialDelay: 20, jitter: 0 }, heartbeat: { interval: 100, timeout: 200 } });
    await waitFor(isOpen(c));
    p.stall();
    // Generous waits: what is checked is that the dead socket goes, not how fast (real timers, a busy machine).
    await once(c.connection, 'error', 5000);
    await waitFor(() => ws.sockets.length >= 2 && isOpen(c)(), 5000);
    await waitFor(() => ws.sockets[0]!.readyState == WebSocket.CLOSED, 5000, 'the dead socket is closed');
    expect(p.active).toBe(1);
  });
});

describe('bad input from the server', () => {
  it('reports malformed frames as DecodeError, ignores unknown events, delivers a 5 MB event intact, and keeps going', async () => {
    const s = await server();
    const c = client<ServerEvents, ClientEvents>(s.url(), fast);
    const errors: SurewireError[] = [];
    c.connection.on('error', (e) => errors.push(e));
    const closes: unknown[] = [];
    c.connection.on('close', (e) => closes.push(e));
    const app: unknown[][] = [];
    c.on('error', (m) => app.push(['error', m])); // an app event that happens to be called "error"
    c.on('big', (b) => app.push(['big', b.length, b === big]));
    c.on('echo', (t, n) => app.push(['echo', t, n]));
    await waitFor(isOpen(c));

    const chunk = '0123456789abcdé✓';
    const big = chunk.repeat(Math.ceil((5 * 2 ** 20) / chunk.length));
    const bigInvalid = '{' + big; // 5 MB, not JSON
    const malformed = ['not json', '{"type":"chat","text":"hi"}', '42', 'null', '[]', '[1,"x"]'];
    for (const f of malformed) s.send(f);
    for (const f of ['["nobody-listens",1]', '["__proto__",1]', '["constructor"]', '["hasOwnProperty","x"]', '{"id":999,"result":1}'])
      s.send(f);
    s.send('["error","boom"]');
    s.send(JSON.stringify(['big', big]));
    s.send(bigInvalid);
    s.send('["echo","after",1]');

    await waitFor(() => app.length >= 3, 5000);
    expect(app).toEqual([
      ['error', 'boom'],
      ['big', big.length, true],
      ['echo', 'after', 1],
    ]);
    expect(errors.length).toBe(malformed.length + 1);
    for (const e of errors) {
      expect(e).toBeInstanceOf(DecodeError);
      expect(e.code).toBe('decode');
    }
    expect(errors.slice(0, malformed.length).map((e) => (e as DecodeError).frame)).toEqual(malformed);
    expect((errors[malformed.length] as DecodeError).frame === bigInvalid).toBe(true);
    expect(closes).toEqual([]);
    expect(c.connection.state).toBe('open');
    expect(s.connections.length).toBe(1);

    // Still fully working in the other direction too.
    expect(c.send('say', 'still here', 3)).toBe('sent');
    await waitFor(() => s.texts().length >= 1);
    expect(s.texts()).toEqual(['["say","still here",3]']);
  });
});

describe('invalid options', () => {
  it('throws OptionError at construction, naming the option, without connecting', async () => {
    const s = await server();
    const bad: [unknown, unknown, string][] = [
      [s.url(), { reconnect: { initialDelay: -1 } }, 'reconnect.initialDelay'],
      [s.url(), { heartbeat: { interval: 0 } }, 'heartbeat.interval'],
      [s.url(), { queue: { overflow: 'drop-all' } }, 'queue.overflow'],
      [s.url(), { reconect: {} }, 'reconect'],
      [s.url(), { WebSocket: 'ws' }, 'WebSocket'],
      [42, {}, 'url'],
    ];
    for (const [url, options, option] of bad) {
      let thrown: unknown;
      try {
        new Surewire(url as string, { WebSocket: NodeWebSocket, ...(options as SurewireOptions) });
      } catch (e) {
        thrown = e;
      }
      expect(thrown, option).toBeInstanceOf(OptionError);
      expect((thrown as OptionError).option).toBe(option);
      expect((thrown as OptionError).message).toContain(`\`${option}\``);
    }
    // A valid client made afterwards is the first and only connection the server sees.
    const c = client(s.url(), fast);
    await waitFor(isOpen(c));
    expect(s.tcpConnections).toBe(1);
  });
});

describe('request / response', () => {
  // Answers { id, event: 'add', args: [a, b] } with { id, result: a + b }, 'fail' with { id, error },
  // holds 'hold' requests until three are waiting and answers them in reverse order, ignores 'ignore'.
  const answer: MessageHandler = (frame, conn) => {
    const m = parseJson(frame) as { id?: number; event?: string; args?: unknown[] } | undefined;
    if (!m || typeof m.id != 'number') return;
    const reply = (r: object) => conn.socket.send(JSON.stringify({ id: m.id, ...r }));
    if (m.event == 'add') reply({ result: (m.args![0] as number) + (m.args![1] as number) });
    else if (m.event == 'fail') reply({ error: { message: 'nope', status: 418 } });
    else if (m.event == 'hold') {
      held.push(() => reply({ result: m.args![0] }));
      if (held.length == 3) held.splice(0).reverse().forEach((fn) => fn());
    }
  };
  let held: (() => void)[] = [];
  afterEach(() => void (held = []));

  it('resolves with the server result, using the documented id wire format', async () => {
    const s = await server({ onMessage: answer });
    const c = client<ServerEvents, ClientEvents>(s.url(), fast);
    await waitFor(isOpen(c));
    const sum: number = await c.request('add', 2, 3);
    expect(sum).toBe(5);
    expect(await c.request('add', 10, -4)).toBe(6);
    expect(s.texts()).toEqual(['{"id":1,"event":"add","args":[2,3]}', '{"id":2,"event":"add","args":[10,-4]}']);
  });

  it('matches concurrent replies that arrive out of order to their requests', async () => {
    const s = await server({ onMessage: answer });
    const c = client(s.url(), fast);
    await waitFor(isOpen(c));
    const replies = await Promise.all([c.request('hold', 'a'), c.request('hold', 'b'), c.request('hold', 'c')]);
    expect(replies).toEqual(['a', 'b', 'c']);
  });

  it('rejects with RemoteError carrying what the server sent', async () => {
    const s = await server({ onMessage: answer });
    const c = client(s.url(), fast);
    await waitFor(isOpen(c));
    const e = await c.request('fail').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RemoteError);
    expect((e as RemoteError).data).toEqual({ message: 'nope', status: 418 });
  });

  it('times out when the server does not answer, and ignores a late reply', async () => {
    const s = await server({ onMessage: answer });
    const c = client(s.url(), fast);
    const errors: unknown[] = [];
    c.connection.on('error', (e) => errors.push(e));
    await waitFor(isOpen(c));
    const started = Date.now();
    const e = await c.timeout(150).request('ignore', 'x').catch((x: unknown) => x);
    const elapsed = Date.now() - started;
    expect(e).toBeInstanceOf(TimeoutError);
    expect((e as TimeoutError).code).toBe('timeout');
    expect(elapsed).toBeGreaterThanOrEqual(149);
    expect(elapsed).toBeLessThan(1000);
    expect(s.texts()).toEqual(['{"id":1,"event":"ignore","args":["x"]}']);

    s.send('{"id":1,"result":"too late"}');
    expect(await c.request('add', 1, 2)).toBe(3); // sent after the late reply, answered after it
    expect(errors).toEqual([]);
  });

  it('rejects a request already on the wire with ClosedError when the connection drops', async () => {
    const s = await server({ onMessage: answer });
    const c = client(s.url(), fast);
    await waitFor(isOpen(c));
    const r = c.timeout(5000).request('ignore').then(() => 'resolved', (e: unknown) => e);
    await waitFor(() => s.texts().length >= 1);
    const started = Date.now();
    s.terminateAll();
    const e = await r;
    expect(e).toBeInstanceOf(ClosedError);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('uses requestTimeout as the default timeout', async () => {
    const s = await server({ onMessage: answer });
    const c = client(s.url(), { ...fast, requestTimeout: 100 });
    await waitFor(isOpen(c));
    const started = Date.now();
    await expect(c.request('ignore')).rejects.toBeInstanceOf(TimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(99);
  });

  it('sends a request made while offline after the reconnect, and resolves it', async () => {
    const s = await server({ onMessage: answer });
    const c = client<ServerEvents, ClientEvents>(s.url(), { ...fast, reconnect: { initialDelay: 20, maxDelay: 50, jitter: 0 } });
    await waitFor(isOpen(c));
    await s.stop();
    await waitFor(() => c.connection.state != 'open');
    const reply = c.timeout(5000).request('add', 20, 22);
    await delay(100);
    await s.start();
    expect(await reply).toBe(42);
    expect(s.texts(2)).toEqual(['{"id":1,"event":"add","args":[20,22]}']);
  });
});

describe('binary frames', () => {
  it('delivers a binary frame from the server as an ArrayBuffer with the same bytes', async () => {
    const s = await server();
    const c = client<ServerEvents, ClientEvents>(s.url(), fast);
    const got: unknown[] = [];
    c.on('binary', (d) => got.push(d));
    await waitFor(isOpen(c));
    const bytes = [0, 1, 2, 127, 128, 254, 255];
    s.send(Buffer.from(bytes));
    s.send(Buffer.alloc(0));
    await waitFor(() => got.length >= 2);
    expect(got[0]).toBeInstanceOf(ArrayBuffer);
    expect([...new Uint8Array(got[0] as ArrayBuffer)]).toEqual(bytes);
    expect(got[1]).toBeInstanceOf(ArrayBuffer);
    expect((got[1] as ArrayBuffer).byteLength).toBe(0);
  });

  it('sends an ArrayBuffer (and a typed-array view) as a binary frame', async () => {
    const s = await server();
    const c = client<ServerEvents, ClientEvents>(s.url(), fast);
    await waitFor(isOpen(c));
    expect(c.send('binary', new Uint8Array([1, 2, 3, 250]).buffer)).toBe('sent');
    const backing = new Uint8Array([9, 8, 7, 6, 5, 4]);
    expect(c.send('binary', new Uint8Array(backing.buffer, 2, 3))).toBe('sent');
    await waitFor(() => s.frames.length >= 2);
    expect(s.frames.map((f) => [f.binary, [...(f.data as Buffer)]])).toEqual([
      [true, [1, 2, 3, 250]],
      [true, [7, 6, 5]],
    ]);
  });

  it('queues a binary frame while offline and sends it after the reconnect', async () => {
    const s = await server();
    const c = client<ServerEvents, ClientEvents>(s.url(), fast);
    await waitFor(isOpen(c));
    s.terminateAll();
    await waitFor(() => c.connection.state != 'open');
    expect(c.send('binary', new Uint8Array([4, 5, 6]).buffer)).toBe('queued');
    await waitFor(() => s.frames.length >= 1);
    expect(s.frames[0]).toMatchObject({ conn: 2, binary: true });
    expect([...(s.frames[0]!.data as Buffer)]).toEqual([4, 5, 6]);
  });
});

describe('connection store', () => {
  it('publishes immutable snapshots for every change, in order', async () => {
    const s = await server();
    const c = client(s.url(), fast);
    const snaps: ConnectionSnapshot[] = [];
    const stop = c.connection.subscribe((x) => snaps.push(x));
    await waitFor(isOpen(c));
    s.terminateAll();
    await waitFor(() => s.connections.length >= 2 && c.connection.state == 'open');
    stop();
    const seen = snaps.length;
    c.close();
    expect(snaps.length).toBe(seen); // unsubscribed: the close is not published to it
    expect(c.connection.getSnapshot().state).toBe('closed');
    expect(snaps.every((x) => Object.isFrozen(x))).toBe(true);
    const seq = snaps.map((x) => x.state).filter((x, i, a) => x != a[i - 1]);
    expect(seq).toEqual(['connecting', 'open', 'reconnecting', 'connecting', 'open']);
    expect(snaps.at(-1)).toMatchObject({ state: 'open', attempt: 1, retryAt: null });
    const waiting = snaps.find((x) => x.state == 'reconnecting')!;
    expect(waiting.retryAt).toBeGreaterThan(0);
  });
});
