import { describe, expect, it, vi } from 'vitest';
import { Surewire } from '../src/client';
import { textCodec, type Codec } from '../src/codec';
import type { ConnectionSnapshot } from '../src/connection';
import { ConnectionError, DecodeError, OverflowError, SurewireError } from '../src/errors';
import type { Transport, TransportContext } from '../src/transport';
import { blackholeWebSocket, MockServer, uniqueUrl, WS } from './helpers/mock-server';
import { fakeClientHarness, record, T0 } from './helpers/fake-client';

const { tick, serve, client, own } = fakeClientHarness();
const now = (): number => Date.now() - T0;

/** A server that accepts every connection and closes it at once (the client sees the close 4 ms later). */
const slammer = (code = 1000, reason = ''): MockServer =>
  serve({ onConnection: (s) => s.close({ code, reason, wasClean: true }) });

describe('state', () => {
  it('stays idle with autoConnect false, then goes connecting → open on connect()', async () => {
    const srv = serve();
    const c = client(srv.url, { autoConnect: false });
    const states = record(c, 'state');
    await tick(1000);
    expect(c.connection.state).toBe('idle');
    expect(srv.connections).toBe(0);

    c.connect();
    expect(c.connection.state).toBe('connecting');
    c.connect(); // already connecting: no second attempt
    await tick(3);
    expect(c.connection.state).toBe('connecting');
    await tick(1);
    expect(c.connection.state).toBe('open');
    expect(srv.connections).toBe(1);
    expect(states).toEqual([
      { from: 'idle', to: 'connecting', reason: 'connect()' },
      { from: 'connecting', to: 'open', reason: 'open' },
    ]);
  });

  it('starts connecting at construction by default', async () => {
    const srv = serve();
    const c = client(srv.url);
    expect(c.connection.state).toBe('connecting');
    expect(c.connection.getSnapshot().reason).toBe('connect()');
    await tick(4);
    expect(c.connection.state).toBe('open');
    expect(srv.connections).toBe(1);
  });

  it('goes open → reconnecting → connecting → open when the server drops the connection', async () => {
    const srv = serve();
    const c = client(srv.url);
    await tick(4);
    const states = record(c, 'state');
    const opens = record(c, 'open');

    srv.drop(1000, 'bye');
    await tick(4);
    expect(c.connection.state).toBe('reconnecting');
    // default initialDelay 1000, random 0: the retry starts exactly 1000 ms after the close
    await tick(999);
    expect(c.connection.state).toBe('reconnecting');
    expect(srv.connections).toBe(1);
    await tick(1);
    expect(c.connection.state).toBe('connecting');
    await tick(4);
    expect(c.connection.state).toBe('open');
    expect(srv.connections).toBe(2);
    expect(states).toEqual([
      { from: 'open', to: 'reconnecting', reason: 'socket closed' },
      { from: 'reconnecting', to: 'connecting', reason: 'retry' },
      { from: 'connecting', to: 'open', reason: 'open' },
    ]);
    expect(opens).toEqual([{ attempt: 1 }]);
  });

  it('keeps the close code in the snapshot, and the reason a closed union, whatever the server says', async () => {
    const srv = serve();
    const c = client(srv.url);
    await tick(4);
    srv.drop(1001, 'some text of the server');
    await tick(4);
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'reconnecting', reason: 'socket closed', code: 1001 });
  });

  it('gives subscribers a new frozen snapshot per change, with queued, attempt, retryAt and rtt', async () => {
    const srv = serve();
    const c = client(srv.url, { autoConnect: false, reconnect: { stableAfter: 5000 } });
    const snaps: ConnectionSnapshot[] = [];
    const unsubscribe = c.connection.subscribe((s) => snaps.push(s));

    c.send('m', 1); // queued while idle
    c.connect();
    await tick(4); // open, the queued message flushed
    srv.drop(1000, 'bye');
    await tick(4); // reconnecting at 8, retry due at 1008
    await tick(1000); // connecting
    await tick(4); // open at 1012
    await tick(4999);
    expect(snaps).toHaveLength(7);
    await tick(1); // stable at 6012: attempt back to 0

    const base = { reason: 'created', code: null, final: false, attempt: 0, retryAt: null, queued: 0, rtt: null };
    expect(snaps).toEqual([
      { ...base, state: 'idle' },
      { ...base, state: 'idle', queued: 1 },
      { ...base, state: 'connecting', reason: 'connect()', queued: 1 },
      { ...base, state: 'open', reason: 'open' },
      { ...base, state: 'reconnecting', reason: 'socket closed', code: 1000, attempt: 1, retryAt: T0 + 8 + 1000 },
      { ...base, state: 'connecting', reason: 'retry', code: 1000, attempt: 1 },
      { ...base, state: 'open', reason: 'open', code: 1000, attempt: 1 },
      { ...base, state: 'open', reason: 'open', code: 1000, attempt: 0 },
    ]);
    expect(snaps.every((s) => Object.isFrozen(s))).toBe(true);
    expect(new Set(snaps).size).toBe(snaps.length);
    expect(c.connection.getSnapshot()).toBe(snaps[snaps.length - 1]);
    expect(c.connection.getSnapshot()).toBe(c.connection.getSnapshot());

    unsubscribe();
    c.send('m', 2);
    srv.drop();
    await tick(4);
    expect(snaps).toHaveLength(8);
  });
});

describe('listeners that throw', () => {
  /** Runs microtasks as usual but collects what they throw: the errors the emitter rethrows on their own. */
  function catchRethrown(): unknown[] {
    const thrown: unknown[] = [];
    const real = globalThis.queueMicrotask;
    vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((task) =>
      real(() => {
        try {
          task();
        } catch (e) {
          thrown.push(e);
        }
      }),
    );
    return thrown;
  }

  it('a throwing state listener does not leave the client half-way: it still opens, and the error is rethrown on its own', async () => {
    const thrown = catchRethrown();
    const srv = serve();
    const c = client(srv.url, { autoConnect: false });
    const bug = new Error('app bug');
    c.connection.on('state', () => {
      throw bug;
    });
    const later = record(c, 'state');
    c.connect();
    await tick(4);
    expect(c.connection.state).toBe('open');
    expect(later.map((x) => x.to)).toEqual(['connecting', 'open']);
    expect(srv.connections).toBe(1);
    expect(thrown).toEqual([bug, bug]);
  });

  it('a throwing message listener does not stop the next listener or the next frame', async () => {
    const thrown = catchRethrown();
    const srv = serve();
    const c = client(srv.url);
    const seen: unknown[] = [];
    c.on('m', () => {
      throw new Error('app bug');
    });
    c.on('m', (x: unknown) => seen.push(x));
    await tick(4);
    srv.send('["m",1]');
    srv.send('["m",2]');
    await tick(0);
    expect(seen).toEqual([1, 2]);
    expect(thrown).toHaveLength(2);
  });
});

describe('backoff', () => {
  it('waits initialDelay * factor^n before each retry, capped by maxDelay', async () => {
    const srv = slammer();
    const c = client(srv.url, { reconnect: { initialDelay: 100, factor: 2, maxDelay: 1000, jitter: 0.5 } });
    const retries: { attempt: number; delay: number; at: number; retryAt: number | null }[] = [];
    c.connection.on('reconnecting', (e) => retries.push({ ...e, at: now(), retryAt: c.connection.getSnapshot().retryAt }));

    await tick(4000);
    expect(retries.slice(0, 7).map(({ attempt, delay }) => ({ attempt, delay }))).toEqual([
      { attempt: 1, delay: 100 },
      { attempt: 2, delay: 200 },
      { attempt: 3, delay: 400 },
      { attempt: 4, delay: 800 },
      { attempt: 5, delay: 1000 },
      { attempt: 6, delay: 1000 },
      { attempt: 7, delay: 1000 },
    ]);
    // The next connection reaches the server exactly delay + 4 ms (mock-socket's connect) after the close: never earlier.
    const gaps = retries.slice(0, 6).map((r, i) => srv.connectedAt[i + 1]! - T0 - r.at);
    expect(gaps).toEqual([104, 204, 404, 804, 1004, 1004]);
    expect(retries.slice(0, 7).every((r) => r.retryAt === T0 + r.at + r.delay)).toBe(true);
    expect(c.connection.getSnapshot().attempt).toBe(7);
  });

  it('makes no attempt before the delay is over', async () => {
    const srv = serve();
    const c = client(srv.url, { reconnect: { initialDelay: 500 } });
    await tick(4);
    srv.drop();
    await tick(4);
    expect(c.connection.state).toBe('reconnecting');
    await tick(499);
    expect(srv.connections).toBe(1);
    expect(c.connection.state).toBe('reconnecting');
    await tick(1);
    expect(c.connection.state).toBe('connecting');
    await tick(4);
    expect(srv.connections).toBe(2);
  });

  it.each([
    { jitter: 0.5, random: 0.25, delays: [75, 150, 300] },
    { jitter: 0.2, random: 0.25, delays: [90, 180, 360] },
    { jitter: 1, random: 0.05, delays: [10, 20, 40] },
    { jitter: 0.5, random: 0.75, delays: [125, 250, 500] },
    { jitter: 0, random: 0.9, delays: [100, 200, 400] },
  ])('randomises the delay by jitter $jitter (Math.random = $random)', async ({ jitter, random, delays }) => {
    vi.mocked(Math.random).mockReturnValue(random);
    const srv = slammer();
    const c = client(srv.url, { reconnect: { initialDelay: 100, factor: 2, jitter } });
    const retries = record(c, 'reconnecting');
    await tick(400);
    expect(retries.slice(0, 3)).toEqual(delays.map((delay, i) => ({ attempt: i + 1, delay })));
  });

  it('keeps growing the delay when each connection drops before stableAfter', async () => {
    const srv = serve();
    const c = client(srv.url, { reconnect: { initialDelay: 100, stableAfter: 1000 } });
    const retries = record(c, 'reconnecting');
    await tick(4); // open at 4, stable would be at 1004
    await tick(995);
    srv.drop(); // the client sees it at 1003
    await tick(4);
    expect(retries).toEqual([{ attempt: 1, delay: 100 }]);
    await tick(104); // open again at 1107, stable would be at 2107
    expect(srv.connections).toBe(2);
    await tick(995);
    srv.drop(); // seen at 2106
    await tick(4);
    expect(retries).toEqual([
      { attempt: 1, delay: 100 },
      { attempt: 2, delay: 200 },
    ]);
    expect(c.connection.getSnapshot().attempt).toBe(2);
  });

  it('resets the delay once a connection stayed open stableAfter ms', async () => {
    const srv = serve();
    const c = client(srv.url, { reconnect: { initialDelay: 100, stableAfter: 1000 } });
    const retries = record(c, 'reconnecting');
    await tick(4);
    srv.drop();
    await tick(4 + 100 + 4); // open again at 112
    expect(srv.connections).toBe(2);
    await tick(999);
    expect(c.connection.getSnapshot().attempt).toBe(1);
    await tick(1); // 1112: stable
    expect(c.connection.getSnapshot().attempt).toBe(0);
    srv.drop();
    await tick(4);
    expect(retries).toEqual([
      { attempt: 1, delay: 100 },
      { attempt: 1, delay: 100 },
    ]);
  });

  it('ends in closed with reason "max retries" after maxRetries failed retries, and tries no more', async () => {
    const srv = slammer(1001, 'going away');
    const c = client(srv.url, { reconnect: { initialDelay: 100, maxRetries: 2 } });
    const closes = record(c, 'close');
    const retries = record(c, 'reconnecting');
    const states = record(c, 'state');
    await tick(1000);
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'closed', reason: 'max retries', retryAt: null });
    expect(srv.connections).toBe(3);
    expect(retries).toEqual([
      { attempt: 1, delay: 100 },
      { attempt: 2, delay: 200 },
    ]);
    expect(closes).toEqual([
      { code: 1001, reason: 'going away', willReconnect: true },
      { code: 1001, reason: 'going away', willReconnect: true },
      { code: 1001, reason: 'going away', willReconnect: false },
    ]);
    expect(states[states.length - 1]).toEqual({ from: 'open', to: 'closed', reason: 'max retries' });
    expect(vi.getTimerCount()).toBe(0);
    await tick(10 * 60_000);
    expect(srv.connections).toBe(3);
  });

  it('with maxRetries 0, gives up at the first drop', async () => {
    const srv = serve();
    const c = client(srv.url, { reconnect: { maxRetries: 0 } });
    await tick(4);
    srv.drop();
    await tick(4);
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'closed', reason: 'max retries' });
    await tick(60_000);
    expect(srv.connections).toBe(1);
  });

  it('closes after the first drop with reconnect: false', async () => {
    const srv = serve();
    const c = client(srv.url, { reconnect: false });
    const closes = record(c, 'close');
    const retries = record(c, 'reconnecting');
    await tick(4);
    srv.drop(1000, 'bye');
    await tick(4);
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'closed', reason: 'reconnect disabled' });
    expect(closes).toEqual([{ code: 1000, reason: 'bye', willReconnect: false }]);
    await tick(10 * 60_000);
    expect(srv.connections).toBe(1);
    expect(retries).toEqual([]);
  });

  it('starts over with a reset retry counter when connect() is called after max retries', async () => {
    const srv = slammer();
    const c = client(srv.url, { reconnect: { initialDelay: 100, maxRetries: 1 } });
    await tick(1000);
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'closed', reason: 'max retries', attempt: 1 });
    const retries = record(c, 'reconnecting');
    const opens = record(c, 'open');
    c.connect();
    await tick(8);
    expect(srv.connections).toBe(3);
    expect(opens).toEqual([{ attempt: 0 }]);
    expect(retries).toEqual([{ attempt: 1, delay: 100 }]);
  });

  it('shows the reset retry counter in the snapshot once connect() starts again after max retries', async () => {
    const srv = slammer();
    const c = client(srv.url, { reconnect: { initialDelay: 100, maxRetries: 1 } });
    await tick(1000);
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'closed', attempt: 1 });
    c.connect();
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'connecting', attempt: 0 });
  });

  it('can be started again with connect() after reconnection gave up', async () => {
    const srv = serve();
    const c = client(srv.url, { reconnect: false });
    await tick(4);
    srv.drop();
    await tick(4);
    expect(c.connection.state).toBe('closed');
    c.connect();
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'connecting', reason: 'connect()' });
    await tick(4);
    expect(c.connection.state).toBe('open');
    expect(srv.connections).toBe(2);
  });
});

describe('close codes', () => {
  it.each([1002, 1003, 1007, 1008, 1010])('stops reconnecting when the server closes with %i', async (code) => {
    const srv = serve();
    const c = client(srv.url);
    const closes = record(c, 'close');
    await tick(4);
    srv.drop(code, 'nope');
    await tick(4);
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'closed', reason: 'stop code', code, final: false });
    expect(closes).toEqual([{ code, reason: 'nope', willReconnect: false }]);
    await tick(10 * 60_000);
    expect(srv.connections).toBe(1);
  });

  it.each([1000, 1001, 1011, 1012, 4000, 4999])('reconnects when the server closes with %i', async (code) => {
    const srv = serve();
    const c = client(srv.url);
    const closes = record(c, 'close');
    await tick(4);
    srv.drop(code, 'later');
    await tick(4);
    expect(closes).toEqual([{ code, reason: 'later', willReconnect: true }]);
    expect(c.connection.state).toBe('reconnecting');
    await tick(1004);
    expect(srv.connections).toBe(2);
    expect(c.connection.state).toBe('open');
  });

  it.each([
    { stopCodes: [4401], code: 4401, stops: true },
    { stopCodes: [4401], code: 4402, stops: false },
    { stopCodes: [[4400, 4499] as const], code: 4400, stops: true },
    { stopCodes: [[4400, 4499] as const], code: 4450, stops: true },
    { stopCodes: [[4400, 4499] as const], code: 4499, stops: true },
    { stopCodes: [[4400, 4499] as const], code: 4399, stops: false },
    { stopCodes: [[4400, 4499] as const], code: 4500, stops: false },
    { stopCodes: [4100, [4400, 4499] as const], code: 4100, stops: true },
  ])('stopCodes $stopCodes: close code $code stops = $stops', async ({ stopCodes, code, stops }) => {
    const srv = serve();
    const c = client(srv.url, { reconnect: { stopCodes } });
    await tick(4);
    srv.drop(code, 'x');
    await tick(4);
    expect(c.connection.state).toBe(stops ? 'closed' : 'reconnecting');
    await tick(1004);
    expect(srv.connections).toBe(stops ? 1 : 2);
  });

  it('lets shouldReconnect retry a code the table would stop on, and tells it the code and reason', async () => {
    const srv = serve();
    const shouldReconnect = vi.fn(() => true);
    const c = client(srv.url, { reconnect: { shouldReconnect, stopCodes: [4401] } });
    await tick(4);
    srv.drop(1008, 'policy');
    await tick(4);
    expect(shouldReconnect).toHaveBeenCalledTimes(1);
    expect(shouldReconnect).toHaveBeenCalledWith({ code: 1008, reason: 'policy' });
    expect(c.connection.state).toBe('reconnecting');
    await tick(1004);
    expect(srv.connections).toBe(2);
    srv.drop(4401, 'stop code');
    await tick(4);
    expect(shouldReconnect).toHaveBeenLastCalledWith({ code: 4401, reason: 'stop code' });
    expect(c.connection.state).toBe('reconnecting');
  });

  it('lets shouldReconnect stop on a code the table would retry', async () => {
    const srv = serve();
    const shouldReconnect = vi.fn((close: { code: number; reason: string }) => close.reason != 'banned');
    const c = client(srv.url, { reconnect: { shouldReconnect } });
    const closes = record(c, 'close');
    await tick(4);
    srv.drop(1000, 'banned');
    await tick(4);
    expect(shouldReconnect).toHaveBeenCalledWith({ code: 1000, reason: 'banned' });
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'closed', reason: 'stop code', code: 1000 });
    expect(closes).toEqual([{ code: 1000, reason: 'banned', willReconnect: false }]);
    await tick(60_000);
    expect(srv.connections).toBe(1);
  });
});

describe('connectTimeout', () => {
  it('aborts an attempt that is not open within connectTimeout, reports connect-timeout, and retries', async () => {
    const srv = serve();
    const { WebSocket, hanging } = blackholeWebSocket();
    const urls = ['ws://blackhole.local/', srv.url];
    const url = vi.fn(() => urls.shift() ?? 'ws://blackhole.local/');
    const c = client(url, { WebSocket, connectTimeout: 500, reconnect: { initialDelay: 100 } });
    const errors = record(c, 'error');
    const closes = record(c, 'close');
    const retries = record(c, 'reconnecting');

    await tick(499);
    expect(c.connection.state).toBe('connecting');
    expect(hanging).toHaveLength(1);
    expect(hanging[0]!.closedWith).toBeUndefined();
    expect(errors).toEqual([]);

    await tick(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ConnectionError);
    expect(errors[0]!.code).toBe('connect-timeout');
    expect(hanging[0]!.closedWith).toEqual([4001, 'connect timeout']);
    expect(closes).toEqual([{ code: 4001, reason: 'connect timeout', willReconnect: true }]);
    expect(retries).toEqual([{ attempt: 1, delay: 100 }]);
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'reconnecting', reason: 'connect timeout' });

    await tick(99);
    expect(url).toHaveBeenCalledTimes(1);
    await tick(5);
    expect(url).toHaveBeenCalledTimes(2);
    expect(c.connection.state).toBe('open');
    expect(srv.connections).toBe(1);
    // the open socket is not timed out later
    await tick(10_000);
    expect(c.connection.state).toBe('open');
    expect(errors).toHaveLength(1);
  });

  it('times out every attempt to a server that never accepts, with growing delays between them', async () => {
    const { WebSocket, hanging } = blackholeWebSocket();
    const c = client('ws://blackhole.local/', { WebSocket, connectTimeout: 500, reconnect: { initialDelay: 100 } });
    const errors = record(c, 'error');
    const retries = record(c, 'reconnecting');
    await tick(500 + 100 + 500 + 200 + 500);
    expect(errors.map((e) => e.code)).toEqual(['connect-timeout', 'connect-timeout', 'connect-timeout']);
    expect(retries).toEqual([
      { attempt: 1, delay: 100 },
      { attempt: 2, delay: 200 },
      { attempt: 3, delay: 400 },
    ]);
    expect(hanging).toHaveLength(3);
    expect(hanging.map((h) => h.closedWith)).toEqual([
      [4001, 'connect timeout'],
      [4001, 'connect timeout'],
      [4001, 'connect timeout'],
    ]);
  });

  it('counts a url provider slower than connectTimeout as a timed-out attempt and ignores its late answer', async () => {
    const srv = serve();
    let calls = 0;
    const url = (): Promise<string> => new Promise((r) => setTimeout(() => r(srv.url), ++calls == 1 ? 800 : 10));
    const c = client(url, { connectTimeout: 500, reconnect: { initialDelay: 100 } });
    const errors = record(c, 'error');
    await tick(500);
    expect(errors.map((e) => e.code)).toEqual(['connect-timeout']);
    expect(c.connection.state).toBe('reconnecting');
    await tick(100 + 10 + 4); // the retry's provider answers at 610, open at 614
    expect(c.connection.state).toBe('open');
    expect(srv.connections).toBe(1);
    await tick(1000); // the first provider answers at 800: no second socket
    expect(srv.connections).toBe(1);
    expect(calls).toBe(2);
  });

  it('treats a refused connection (no server at the URL) as a failed attempt and retries', async () => {
    const c = client(uniqueUrl('nobody'), { reconnect: { initialDelay: 100 } });
    const errors = record(c, 'error');
    const retries = record(c, 'reconnecting');
    await tick(4);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ConnectionError);
    expect(errors[0]!.code).toBe('socket');
    expect(retries).toEqual([{ attempt: 1, delay: 100 }]);
    expect(c.connection.state).toBe('reconnecting');
  });
});

describe('url and protocols providers', () => {
  it('calls a url function before every attempt', async () => {
    const srv = serve();
    let n = 0;
    const url = vi.fn(() => `${srv.url}?token=t${++n}`);
    const c = client(url, { reconnect: { initialDelay: 100 } });
    expect(url).toHaveBeenCalledTimes(1);
    await tick(4);
    srv.drop();
    await tick(4 + 100 + 4);
    srv.drop();
    await tick(4 + 200 + 4);
    expect(c.connection.state).toBe('open');
    expect(url).toHaveBeenCalledTimes(3);
    expect(srv.sockets.map((s) => s.url)).toEqual([`${srv.url}?token=t1`, `${srv.url}?token=t2`, `${srv.url}?token=t3`]);
  });

  it('waits for an async url provider', async () => {
    const srv = serve();
    const url = vi.fn(() => new Promise<URL>((r) => setTimeout(() => r(new URL(`${srv.url}?async=1`)), 50)));
    const c = client(url);
    await tick(53);
    expect(srv.connections).toBe(0);
    expect(c.connection.state).toBe('connecting');
    await tick(1);
    expect(srv.connections).toBe(1);
    expect(srv.socket.url).toBe(`${srv.url}?async=1`);
    expect(c.connection.state).toBe('open');
  });

  it('accepts a URL object', async () => {
    const srv = serve();
    const c = client(new URL(srv.url));
    await tick(4);
    expect(c.connection.state).toBe('open');
    expect(srv.connections).toBe(1);
  });

  it('calls a protocols function before every attempt and passes what it returns', async () => {
    const srv = serve();
    let n = 0;
    const protocols = vi.fn(() => [`v${++n}`, 'json']);
    const c = client(srv.url, { protocols, reconnect: { initialDelay: 100 } });
    await tick(4);
    srv.drop();
    await tick(4 + 100 + 4);
    expect(c.connection.state).toBe('open');
    expect(protocols).toHaveBeenCalledTimes(2);
    expect(srv.sockets.map((s) => s.protocol)).toEqual(['v1', 'v2']);
  });

  it('waits for an async protocols provider', async () => {
    const srv = serve();
    const c = client(srv.url, { protocols: async () => 'chat.v2' });
    await tick(4);
    expect(c.connection.state).toBe('open');
    expect(srv.socket.protocol).toBe('chat.v2');
  });

  const boom = new Error('no token');
  const failOnce = <T>(value: T, async: boolean): (() => T | Promise<T>) => {
    let calls = 0;
    return async
      ? async () => {
          if (calls++ == 0) throw boom;
          return value;
        }
      : () => {
          if (calls++ == 0) throw boom;
          return value;
        };
  };

  it.each([
    { which: 'url', how: 'throws', async: false },
    { which: 'url', how: 'rejects', async: true },
    { which: 'protocols', how: 'throws', async: false },
    { which: 'protocols', how: 'rejects', async: true },
  ])('reports a $which provider that $how as a ConnectionError "url" and retries', async ({ which, async }) => {
    const srv = serve();
    const c =
      which == 'url'
        ? client(failOnce(srv.url, async), { reconnect: { initialDelay: 100 } })
        : client(srv.url, { protocols: failOnce('chat', async), reconnect: { initialDelay: 100 } });
    const errors = record(c, 'error');
    const closes = record(c, 'close');
    await tick(0);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ConnectionError);
    expect(errors[0]!.code).toBe('url');
    expect(errors[0]!.cause).toBe(boom);
    expect(closes).toEqual([{ code: 1006, reason: 'connect failed', willReconnect: true }]);
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'reconnecting', reason: 'connect failed', attempt: 1 });
    expect(srv.connections).toBe(0);
    await tick(104);
    expect(c.connection.state).toBe('open');
    expect(srv.connections).toBe(1);
    expect(errors).toHaveLength(1);
  });

  it('reports a URL the WebSocket constructor refuses as a ConnectionError "url" and keeps retrying', async () => {
    const c = client('http://wrong-scheme.local/', { reconnect: { initialDelay: 100 } });
    const errors = record(c, 'error');
    await tick(0);
    expect(errors.map((e) => e.code)).toEqual(['url']);
    expect(errors[0]!.cause).toBeInstanceOf(SyntaxError);
    expect(c.connection.state).toBe('reconnecting');
    await tick(100);
    expect(errors.map((e) => e.code)).toEqual(['url', 'url']);
  });
});

describe('outbox', () => {
  it('queues sends while connecting and flushes them in order right after open, before what an open listener sends', async () => {
    const srv = serve();
    const c = client(srv.url);
    const fromOpen: string[] = [];
    c.connection.on('open', () => fromOpen.push(c.send('hello', 'from open')));
    expect(c.send('m', 1)).toBe('queued');
    expect(c.send('m', 2)).toBe('queued');
    expect(c.send('m', 3)).toBe('queued');
    expect(c.connection.getSnapshot().queued).toBe(3);
    await tick(4);
    expect(c.connection.getSnapshot().queued).toBe(0);
    expect(fromOpen).toEqual(['sent']);
    expect(c.send('m', 4)).toBe('sent');
    await tick(4);
    expect(srv.frames()).toEqual(['["m",1]', '["m",2]', '["m",3]', '["hello","from open"]', '["m",4]']);
  });

  it('queues sends while reconnecting and delivers them on the next connection, in order', async () => {
    const srv = serve();
    const c = client(srv.url, { reconnect: { initialDelay: 100 } });
    await tick(4);
    expect(c.send('m', 'a')).toBe('sent');
    await tick(4);
    srv.drop();
    await tick(4);
    expect(c.connection.state).toBe('reconnecting');
    expect(c.send('m', 'b')).toBe('queued');
    expect(c.send('m', 'c')).toBe('queued');
    expect(c.connection.getSnapshot().queued).toBe(2);
    await tick(100 + 4 + 4);
    expect(srv.frames(0)).toEqual(['["m","a"]']);
    expect(srv.frames(1)).toEqual(['["m","b"]', '["m","c"]']);
    expect(c.connection.getSnapshot().queued).toBe(0);
  });

  it.each([
    { overflow: 'drop-oldest' as const, results: ['queued', 'queued', 'queued'], dropped: 'a', delivered: ['b', 'c'], errors: 0 },
    { overflow: 'drop-newest' as const, results: ['queued', 'queued', 'dropped'], dropped: 'c', delivered: ['a', 'b'], errors: 0 },
    { overflow: 'error' as const, results: ['queued', 'queued', 'dropped'], dropped: 'c', delivered: ['a', 'b'], errors: 1 },
  ])('applies overflow $overflow when the queue is full, and reports the drop', async ({ overflow, results, dropped, delivered, errors }) => {
    const srv = serve();
    const c = client(srv.url, { autoConnect: false, queue: { max: 2, overflow } });
    const drops = record(c, 'drop');
    const errs = record(c, 'error');
    const queued: number[] = [];
    const got = ['a', 'b', 'c'].map((x) => {
      const r = c.send('m', x);
      queued.push(c.connection.getSnapshot().queued);
      return r;
    });
    expect(got).toEqual(results);
    expect(queued).toEqual([1, 2, 2]);
    expect(drops).toEqual([{ message: { event: 'm', args: [dropped] }, frame: `["m","${dropped}"]`, reason: 'overflow' }]);
    expect(errs).toHaveLength(errors);
    if (errors) {
      expect(errs[0]).toBeInstanceOf(OverflowError);
      expect(errs[0]!.code).toBe('overflow');
    }
    c.connect();
    await tick(8);
    expect(srv.frames()).toEqual(delivered.map((x) => `["m","${x}"]`));
  });

  it('drops sends while not open with reason "offline" when queue is false', async () => {
    const srv = serve();
    const c = client(srv.url, { queue: false });
    const drops = record(c, 'drop');
    expect(c.send('m', 1)).toBe('dropped');
    expect(drops).toEqual([{ message: { event: 'm', args: [1] }, frame: '["m",1]', reason: 'offline' }]);
    expect(c.connection.getSnapshot().queued).toBe(0);
    await tick(4);
    expect(c.send('m', 2)).toBe('sent');
    await tick(4);
    expect(srv.frames()).toEqual(['["m",2]']);
    expect(drops).toHaveLength(1);
  });

  it('drops messages that waited longer than ttl, with reason "ttl"', async () => {
    const srv = serve();
    const c = client(srv.url, { autoConnect: false, queue: { ttl: 1000 } });
    const drops = record(c, 'drop');
    expect(c.send('m', 'old')).toBe('queued');
    await tick(600);
    expect(c.send('m', 'young')).toBe('queued');
    await tick(396);
    c.connect();
    await tick(4); // opens at 1000: 'old' expires right then, 'young' at 1600
    await tick(4);
    expect(drops).toEqual([{ message: { event: 'm', args: ['old'] }, frame: '["m","old"]', reason: 'ttl' }]);
    expect(srv.frames()).toEqual(['["m","young"]']);
    expect(c.connection.getSnapshot().queued).toBe(0);
  });

  it('keeps a queued message that is younger than ttl at open', async () => {
    const srv = serve();
    const c = client(srv.url, { autoConnect: false, queue: { ttl: 1000 } });
    const drops = record(c, 'drop');
    c.send('m', 'x');
    await tick(995);
    c.connect();
    await tick(8); // opens at 999
    expect(drops).toEqual([]);
    expect(srv.frames()).toEqual(['["m","x"]']);
  });
});

describe('heartbeat', () => {
  const PING = '["ping"]';

  it('is on by default: pings ["ping"] at open and every 25 s, and never gives up on a server that never answered', async () => {
    const srv = serve();
    const c = new Surewire(srv.url, { WebSocket: WS, reconnect: { initialDelay: 100 } });
    own(c);
    const errors = record(c, 'error');
    await tick(4); // open at 4, first ping at once
    await tick(4);
    expect(srv.frames(0, { pings: true })).toEqual([PING]);
    await tick(25_000);
    expect(srv.pings).toBe(2);
    await tick(10 * 25_000);
    expect(srv.pings).toBe(12);
    expect(c.connection.state).toBe('open');
    expect(srv.connections).toBe(1);
    expect(errors).toEqual([]);
  });

  it('once the server has answered, gives up 10 s after an unanswered ping with the default options', async () => {
    const srv = serve({ pong: true });
    const c = new Surewire(srv.url, { WebSocket: WS, reconnect: { initialDelay: 100 } });
    own(c);
    const errors = record(c, 'error');
    await tick(4 + 4); // ping at 4, answered at 8
    srv.pong = false;
    await tick(25_004 - 8); // second ping
    await tick(9_999);
    expect(c.connection.state).toBe('open');
    await tick(1); // 35004
    expect(c.connection.state).toBe('reconnecting');
    expect(errors.map((e) => e.code)).toEqual(['heartbeat']);
    expect(errors[0]!.message).toContain(srv.url.replace(/\/$/, ''));
  });

  it('pings at open and then every interval while the server answers', async () => {
    const srv = serve({ pong: true });
    const c = client(srv.url, { heartbeat: { interval: 1000, timeout: 500 } });
    await tick(4);
    await tick(3004);
    expect(srv.received.map((r) => [r.data, r.at - T0])).toEqual([
      [PING, 8],
      [PING, 1008],
      [PING, 2008],
      [PING, 3008],
    ]);
    expect(c.connection.state).toBe('open');
    expect(srv.connections).toBe(1);
  });

  it('knows the round trip right after open, and reports each pong in a heartbeat event and snapshot.rtt', async () => {
    const srv = serve({ pong: true, pongDelay: 20 });
    const c = client(srv.url, { heartbeat: { interval: 1000, timeout: 500 } });
    const beats = record(c, 'heartbeat');
    await tick(4);
    expect(c.connection.getSnapshot().rtt).toBe(null);
    await tick(4 + 20); // ping at 4, at the server at 8, pong at 28
    expect(beats).toEqual([{ rtt: 24 }]);
    expect(c.connection.getSnapshot().rtt).toBe(24);
    srv.pongDelay = 50;
    await tick(2057 - 28); // pings at 1004 and 2004, at the server at 1008 and 2008, pongs at 1058 and 2058
    expect(beats).toEqual([{ rtt: 24 }, { rtt: 54 }]);
    await tick(1);
    expect(beats).toEqual([{ rtt: 24 }, { rtt: 54 }, { rtt: 54 }]);
    expect(c.connection.getSnapshot().rtt).toBe(54);
  });

  it('declares a server that stops answering dead after timeout: closes with 4000, reports "heartbeat", reconnects', async () => {
    const srv = serve({ pong: true });
    const c = client(srv.url, { heartbeat: { interval: 1000, timeout: 500 }, reconnect: { initialDelay: 100 } });
    const errors = record(c, 'error');
    const closes = record(c, 'close');
    const beats = record(c, 'heartbeat');
    await tick(4 + 4); // first ping (4) answered at 8
    expect(beats).toEqual([{ rtt: 4 }]);
    srv.pong = false;
    await tick(1503 - 8); // second ping at 1004, no answer yet
    expect(c.connection.state).toBe('open');
    expect(errors).toEqual([]);
    await tick(1); // 1504
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ConnectionError);
    expect(errors[0]!.code).toBe('heartbeat');
    expect(closes).toEqual([{ code: 4000, reason: 'heartbeat timeout', willReconnect: true }]);
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'reconnecting', reason: 'heartbeat timeout', code: 4000 });
    await tick(4);
    expect(srv.closes).toEqual([{ socket: 0, code: 4000, reason: 'heartbeat timeout' }]);
    srv.pong = true;
    await tick(100);
    expect(srv.connections).toBe(2);
    expect(c.connection.state).toBe('open');
  });

  it('counts any incoming frame as a sign of life', async () => {
    const srv = serve({ pong: true });
    const c = client(srv.url, { heartbeat: { interval: 1000, timeout: 500 } });
    const errors = record(c, 'error');
    const news = vi.fn();
    c.on('news', news);
    await tick(8); // answered once
    srv.pong = false;
    await tick(1300 - 8); // ping at 1004, watch until 1504
    srv.send('["news",1]');
    await tick(2503 - 1300); // next ping at 2004, nothing arrives
    expect(news).toHaveBeenCalledWith(1);
    expect(c.connection.state).toBe('open');
    expect(errors).toEqual([]);
    await tick(1); // 2504
    expect(c.connection.state).toBe('reconnecting');
    expect(errors.map((e) => e.code)).toEqual(['heartbeat']);
  });

  it('does not dispatch pong frames to app listeners', async () => {
    const srv = serve({ pong: true });
    const c = client(srv.url, { heartbeat: { interval: 1000, timeout: 500 } });
    const pong = vi.fn();
    c.on('pong', pong);
    const beats = record(c, 'heartbeat');
    const errors = record(c, 'error');
    await tick(4 + 3000 + 4);
    expect(srv.frames(undefined, { pings: true })).toEqual([PING, PING, PING, PING]);
    expect(beats).toEqual([{ rtt: 4 }, { rtt: 4 }, { rtt: 4 }, { rtt: 4 }]);
    expect(pong).not.toHaveBeenCalled();
    expect(errors).toEqual([]);
    expect(c.connection.state).toBe('open');
  });

  it('with textCodec, hands a chat line "pong" to the app: it is not a heartbeat answer', async () => {
    const srv = serve({ onConnection: (s) => s.on('message', (d) => d === PING && s.send('pong')) });
    const c = client(srv.url, { codec: textCodec, heartbeat: { interval: 1000, timeout: 500 } });
    const lines: string[] = [];
    c.on('message', (t: string) => void lines.push(t));
    const beats = record(c, 'heartbeat');
    await tick(4 + 1000 + 4 + 1000);
    expect(lines).toEqual(['pong', 'pong', 'pong']);
    expect(beats).toEqual([]);
    // Never answered: never declared dead.
    expect(c.connection.state).toBe('open');
    expect(srv.connections).toBe(1);
  });

  it('never hands the echo of its ping to the app, and an echo server is never declared dead', async () => {
    const srv = serve({ onConnection: (s) => s.on('message', (d) => s.send(d as string)) });
    const c = client(srv.url, { heartbeat: { interval: 1000, timeout: 500 } });
    const ping = vi.fn();
    c.on('ping', ping);
    const errors = record(c, 'error');
    await tick(4 + 10_000 + 4);
    expect(srv.pings).toBe(11);
    expect(ping).not.toHaveBeenCalled();
    expect(errors).toEqual([]);
    expect(c.connection.state).toBe('open');
    expect(srv.connections).toBe(1);
  });

  it('stops pinging while reconnecting', async () => {
    const srv = serve({ pong: true });
    const c = client(srv.url, { heartbeat: { interval: 1000, timeout: 500 }, reconnect: { initialDelay: 60_000, maxDelay: 60_000 } });
    await tick(4);
    srv.drop();
    await tick(4);
    expect(c.connection.state).toBe('reconnecting');
    const pings = srv.pings;
    await tick(30_000);
    expect(srv.pings).toBe(pings);
    expect(c.connection.state).toBe('reconnecting');
  });
});

describe('events', () => {
  it('passes the args of ["event", ...args] frames to on() listeners', async () => {
    const srv = serve();
    const c = client(srv.url);
    const chat = vi.fn();
    c.on('chat', chat);
    await tick(4);
    srv.send('["chat","hi",{"n":1},[2,3]]');
    srv.send('["chat"]');
    expect(chat.mock.calls).toEqual([['hi', { n: 1 }, [2, 3]], []]);
  });

  it('types listeners from the event map', async () => {
    interface ServerEvents {
      message: (m: { text: string; from: string }) => void;
      typing: (user: string, on: boolean) => void;
    }
    const srv = serve();
    const c = new Surewire<ServerEvents>(srv.url, { WebSocket: WS, heartbeat: false });
    own(c);
    const got: string[] = [];
    c.on('message', (m) => got.push(`${m.from}: ${m.text}`));
    c.on('typing', (user, on) => got.push(`${user} ${on ? 'types' : 'stopped'}`));
    await tick(4);
    srv.send('["message",{"text":"hi","from":"ann"}]');
    srv.send('["typing","bob",true]');
    expect(got).toEqual(['ann: hi', 'bob types']);
  });

  it('calls once() listeners for the next occurrence only', async () => {
    const srv = serve();
    const c = client(srv.url);
    const first = vi.fn();
    c.once('chat', first);
    await tick(4);
    srv.send('["chat",1]');
    srv.send('["chat",2]');
    expect(first.mock.calls).toEqual([[1]]);
  });

  it('stops calling a listener after the unsubscribe returned by on() or once(), or off()', async () => {
    const srv = serve();
    const c = client(srv.url);
    const a = vi.fn();
    const b = vi.fn();
    const d = vi.fn();
    const e = vi.fn();
    const stopA = c.on('chat', a);
    c.on('chat', b);
    const stopD = c.once('chat', d);
    c.on('other', e);
    await tick(4);
    srv.send('["chat",1]');
    stopA();
    stopA(); // twice is harmless
    stopD();
    srv.send('["chat",2]');
    c.off('chat', b);
    srv.send('["chat",3]');
    c.off('other');
    srv.send('["other",4]');
    expect(a.mock.calls).toEqual([[1]]);
    expect(b.mock.calls).toEqual([[1], [2]]);
    expect(d.mock.calls).toEqual([[1]]);
    expect(e).not.toHaveBeenCalled();
  });

  it('reports undecodable frames as DecodeError and keeps working', async () => {
    const srv = serve();
    const c = client(srv.url);
    const errors = record(c, 'error');
    const chat = vi.fn();
    c.on('chat', chat);
    await tick(4);
    srv.send('not json');
    srv.send('{"foo":1}');
    srv.send('[1,2]');
    srv.send('null');
    srv.send('["chat","still here"]');
    expect(errors).toHaveLength(4);
    expect(errors.every((e) => e instanceof DecodeError && e.code == 'decode')).toBe(true);
    expect(errors.map((e) => (e as DecodeError).frame)).toEqual(['not json', '{"foo":1}', '[1,2]', 'null']);
    expect(errors[0]!.cause).toBeInstanceOf(SyntaxError);
    expect(chat.mock.calls).toEqual([['still here']]);
    expect(c.connection.state).toBe('open');
    expect(srv.connections).toBe(1);
    expect(c.send('m', 1)).toBe('sent');
  });

  it('ignores an event nobody listens to', async () => {
    const srv = serve();
    const c = client(srv.url);
    const errors = record(c, 'error');
    const chat = vi.fn();
    c.on('chat', chat);
    await tick(4);
    srv.send('["nobody-listens",1]');
    srv.send('["error","not a lifecycle error"]');
    srv.send('["chat",2]');
    expect(errors).toEqual([]);
    expect(chat.mock.calls).toEqual([[2]]);
    expect(c.connection.state).toBe('open');
  });

  it('passes binary frames through as the "binary" event, both ways', async () => {
    const srv = serve();
    const c = client(srv.url);
    const binary = vi.fn();
    c.on('binary', binary);
    await tick(4);
    const down = new Uint8Array([1, 2, 3]).buffer;
    srv.socket.send(down);
    expect(binary).toHaveBeenCalledTimes(1);
    expect(new Uint8Array(binary.mock.calls[0]![0] as ArrayBuffer)).toEqual(new Uint8Array([1, 2, 3]));
    const up = new Uint8Array([9, 8]).buffer;
    expect(c.send('binary', up)).toBe('sent');
    await tick(4);
    expect(srv.frames()).toEqual([up]);
  });

  it('delivers a frame of several MB', async () => {
    const srv = serve();
    const c = client(srv.url);
    const big = vi.fn();
    c.on('big', big);
    await tick(4);
    const text = 'x'.repeat(5 * 1024 * 1024);
    srv.send(JSON.stringify(['big', text]));
    expect(big).toHaveBeenCalledTimes(1);
    expect((big.mock.calls[0]![0] as string).length).toBe(5 * 1024 * 1024);
  });

  it('throws a SurewireError "encode" from send() when the arguments cannot be encoded, and sends nothing', async () => {
    const srv = serve();
    const c = client(srv.url);
    await tick(4);
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    let thrown: unknown;
    try {
      c.send('m', circular);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(SurewireError);
    expect((thrown as SurewireError).code).toBe('encode');
    expect((thrown as SurewireError).cause).toBeInstanceOf(TypeError);
    await expect(c.request('m', 10n)).rejects.toMatchObject({ code: 'encode' });
    await tick(4);
    expect(srv.frames()).toEqual([]);
    expect(c.send('m', 'fine')).toBe('sent');
  });

  it('uses a custom codec for both directions', async () => {
    const codec: Codec = {
      encode: (p) => JSON.stringify({ type: p.event, payload: p.args[0] }),
      decode: (f) => {
        const m = JSON.parse(f as string) as { type?: unknown; payload?: unknown };
        if (typeof m.type != 'string') throw new TypeError('no type');
        return { event: m.type, args: [m.payload] };
      },
    };
    const srv = serve();
    const c = client(srv.url, { codec, autoConnect: false, queue: { max: 1 } });
    const news = vi.fn();
    const drops = record(c, 'drop');
    const errors = record(c, 'error');
    c.on('news', news);
    expect(c.send('chat', 'first')).toBe('queued');
    expect(c.send('chat', 'queued')).toBe('queued');
    expect(drops).toEqual([
      { message: { event: 'chat', args: ['first'] }, frame: '{"type":"chat","payload":"first"}', reason: 'overflow' },
    ]);
    c.connect();
    await tick(4);
    expect(c.send('chat', { text: 'hi' })).toBe('sent');
    await tick(4);
    expect(srv.frames()).toEqual(['{"type":"chat","payload":"queued"}', '{"type":"chat","payload":{"text":"hi"}}']);
    srv.send('{"type":"news","payload":{"x":1}}');
    srv.send('["news",2]');
    expect(news.mock.calls).toEqual([[{ x: 1 }]]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(DecodeError);
  });
});

describe('close()', () => {
  it('is final and synchronous: closed with reason "close()", one close event, nothing reaches the server afterwards', async () => {
    const srv = serve({ pong: true });
    const c = client(srv.url, { heartbeat: { interval: 1000, timeout: 500 } });
    await tick(4);
    const states = record(c, 'state');
    const closes = record(c, 'close');
    c.close();
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'closed', reason: 'close()', final: true, retryAt: null });
    expect(states).toEqual([{ from: 'open', to: 'closed', reason: 'close()' }]);
    expect(closes).toEqual([{ code: 1000, reason: '', willReconnect: false }]);
    await tick(4); // mock-socket delivers the close to the server
    expect(srv.closes).toEqual([{ socket: 0, code: 1000, reason: '' }]);
    expect(vi.getTimerCount()).toBe(0);
    await tick(10 * 60_000);
    expect(srv.connections).toBe(1);
    expect(srv.pings).toBe(1); // the one sent at open, none after close()
    expect(closes).toHaveLength(1);
    expect(states).toHaveLength(1);
    c.close();
    expect(closes).toHaveLength(1);
  });

  it('passes its code and reason to the server and the close event', async () => {
    const srv = serve();
    const c = client(srv.url);
    const closes = record(c, 'close');
    await tick(4);
    c.close(4100, 'logout');
    await tick(4);
    expect(closes).toEqual([{ code: 4100, reason: 'logout', willReconnect: false }]);
    expect(srv.closes).toEqual([{ socket: 0, code: 4100, reason: 'logout' }]);
  });

  it('leaves no timer behind when called while reconnecting', async () => {
    const srv = serve();
    const c = client(srv.url, { heartbeat: {}, reconnect: { initialDelay: 60_000 } });
    await tick(4);
    srv.drop();
    await tick(4);
    expect(c.connection.state).toBe('reconnecting');
    expect(vi.getTimerCount()).toBe(1);
    c.close();
    expect(vi.getTimerCount()).toBe(0);
    await tick(120_000);
    expect(srv.connections).toBe(1);
  });

  it('stops an attempt in progress: the server never sees the connection', async () => {
    const srv = serve();
    const c = client(srv.url);
    const closes = record(c, 'close');
    await tick(0); // the socket exists, mock-socket connects it 4 ms later
    c.close();
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'closed', reason: 'close()' });
    expect(closes).toEqual([{ code: 1000, reason: '', willReconnect: false }]);
    await tick(10);
    expect(srv.connections).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    await tick(60_000);
    expect(srv.connections).toBe(0);
  });

  it('ignores an async url provider that resolves after close()', async () => {
    const srv = serve();
    const c = client(() => new Promise<string>((r) => setTimeout(() => r(srv.url), 50)));
    await tick(10);
    c.close();
    await tick(100);
    expect(srv.connections).toBe(0);
    expect(c.connection.state).toBe('closed');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('makes send() return "dropped" with a drop event of reason "closed"', async () => {
    const srv = serve();
    const c = client(srv.url);
    await tick(4);
    c.close();
    const drops = record(c, 'drop');
    expect(c.send('m', 1)).toBe('dropped');
    expect(drops).toEqual([{ message: { event: 'm', args: [1] }, frame: '["m",1]', reason: 'closed' }]);
    await tick(10);
    expect(srv.frames()).toEqual([]);
    expect(c.connection.getSnapshot().queued).toBe(0);
  });

  it('makes reconnect() and connect() do nothing afterwards', async () => {
    const srv = serve();
    const c = client(srv.url);
    await tick(4);
    c.close();
    const states = record(c, 'state');
    c.reconnect();
    c.connect();
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'closed', reason: 'close()' });
    await tick(60_000);
    expect(srv.connections).toBe(1);
    expect(states).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('reports every queued message as dropped with reason "closed", in order', async () => {
    const srv = serve();
    const c = client(srv.url, { autoConnect: false });
    const drops = record(c, 'drop');
    c.send('m', 1);
    c.send('m', 2);
    expect(c.connection.getSnapshot().queued).toBe(2);
    c.close();
    expect(drops).toEqual([
      { message: { event: 'm', args: [1] }, frame: '["m",1]', reason: 'closed' },
      { message: { event: 'm', args: [2] }, frame: '["m",2]', reason: 'closed' },
    ]);
    expect(c.connection.getSnapshot().queued).toBe(0);
    c.connect();
    await tick(60_000);
    expect(srv.connections).toBe(0);
  });

  it('emits no close event when the client never started', () => {
    const c = client(uniqueUrl(), { autoConnect: false });
    const closes = record(c, 'close');
    const states = record(c, 'state');
    c.close();
    expect(closes).toEqual([]);
    expect(states).toEqual([{ from: 'idle', to: 'closed', reason: 'close()' }]);
  });

  it.each([
    {
      cause: 'the heartbeat timeout',
      code: 'heartbeat',
      connections: 1,
      make: (srv: MockServer) => {
        // Answers the first ping only: from then on the heartbeat is enforced, and the second ping goes unanswered.
        srv.pong = true;
        setTimeout(() => (srv.pong = false), 10);
        return client(srv.url, { heartbeat: { interval: 1000, timeout: 500 }, reconnect: { initialDelay: 100 } });
      },
    },
    {
      cause: 'the connect timeout',
      code: 'connect-timeout',
      connections: 0,
      make: () => client('ws://blackhole.local/', { WebSocket: blackholeWebSocket().WebSocket, connectTimeout: 500, reconnect: { initialDelay: 100 } }),
    },
    {
      cause: 'a failing url provider',
      code: 'url',
      connections: 0,
      make: () =>
        client(
          () => {
            throw new Error('no token');
          },
          { reconnect: { initialDelay: 100 } },
        ),
    },
  ])('stays closed when an error listener calls it on $cause', async ({ code, connections, make }) => {
    const srv = serve();
    const c = make(srv);
    const retries = record(c, 'reconnecting');
    const errors: string[] = [];
    c.connection.on('error', (e) => {
      errors.push(e.code);
      c.close();
    });
    await tick(2000);
    expect(errors).toEqual([code]);
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'closed', reason: 'close()' });
    expect(retries).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
    await tick(60_000);
    expect(srv.connections).toBe(connections);
    expect(errors).toEqual([code]);
  });

  it('wins when a close listener calls it: no reconnection follows', async () => {
    const srv = serve();
    const c = client(srv.url, { reconnect: { initialDelay: 100 } });
    const retries = record(c, 'reconnecting');
    await tick(4);
    c.connection.on('close', () => c.close());
    srv.drop(1001, 'restart');
    await tick(4);
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'closed', reason: 'close()' });
    expect(retries).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
    await tick(60_000);
    expect(srv.connections).toBe(1);
  });
});

describe('reconnect()', () => {
  it('connects at once from "reconnecting" with a long backoff, and resets the retry counter', async () => {
    const srv = serve();
    const c = client(srv.url, { reconnect: { initialDelay: 60_000, maxDelay: 600_000 } });
    await tick(4);
    srv.drop();
    await tick(4);
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'reconnecting', attempt: 1 });
    const opens = record(c, 'open');
    const retries = record(c, 'reconnecting');

    c.reconnect();
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'connecting', reason: 'reconnect()', retryAt: null });
    await tick(4);
    expect(srv.connections).toBe(2);
    expect(c.connection.state).toBe('open');
    expect(opens).toEqual([{ attempt: 0 }]);

    // the counter was reset: the next drop waits initialDelay, not initialDelay * factor
    srv.drop();
    await tick(4);
    expect(retries).toEqual([{ attempt: 1, delay: 60_000 }]);
    // and the old backoff timer is gone
    await tick(59_999);
    expect(srv.connections).toBe(2);
  });

  it('shows the reset retry counter in the snapshot', async () => {
    const srv = serve();
    const c = client(srv.url, { reconnect: { initialDelay: 60_000 } });
    await tick(4);
    srv.drop();
    await tick(4);
    expect(c.connection.getSnapshot().attempt).toBe(1);
    c.reconnect();
    await tick(4);
    expect(c.connection.state).toBe('open');
    expect(c.connection.getSnapshot().attempt).toBe(0);
  });

  it('stays closed when a close listener calls close() during reconnect()', async () => {
    const srv = serve();
    const c = client(srv.url);
    await tick(4);
    const closes = record(c, 'close');
    c.connection.once('close', () => c.close());
    c.reconnect();
    expect(closes).toEqual([
      { code: 4002, reason: 'reconnect()', willReconnect: true },
      { code: 1000, reason: '', willReconnect: false },
    ]);
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'closed', reason: 'close()' });
    await tick(60_000);
    expect(srv.connections).toBe(1);
    expect(c.connection.state).toBe('closed');
  });

  it('connects at once when an error listener calls it on a heartbeat timeout', async () => {
    const srv = serve({ pong: true });
    const c = client(srv.url, { heartbeat: { interval: 1000, timeout: 500 }, reconnect: { initialDelay: 60_000, maxDelay: 60_000 } });
    const retries = record(c, 'reconnecting');
    c.connection.once('error', () => c.reconnect());
    await tick(8); // the ping at open is answered: the heartbeat is enforced from now on
    srv.pong = false;
    await tick(1504 - 8); // ping at 1004, no answer: dead at 1504
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'connecting', reason: 'reconnect()' });
    await tick(4);
    expect(c.connection.state).toBe('open');
    expect(srv.connections).toBe(2);
    expect(retries).toEqual([]);
  });

  it('replaces the socket when called while open', async () => {
    const srv = serve();
    const c = client(srv.url);
    await tick(4);
    const closes = record(c, 'close');
    const states = record(c, 'state');
    c.reconnect();
    expect(closes).toEqual([{ code: 4002, reason: 'reconnect()', willReconnect: true }]);
    expect(c.connection.state).toBe('connecting');
    await tick(4);
    expect(c.connection.state).toBe('open');
    expect(srv.connections).toBe(2);
    expect(srv.closes).toEqual([{ socket: 0, code: 4002, reason: 'reconnect()' }]);
    expect(states).toEqual([
      { from: 'open', to: 'connecting', reason: 'reconnect()' },
      { from: 'connecting', to: 'open', reason: 'open' },
    ]);
    expect(c.send('m', 1)).toBe('sent');
    await tick(4);
    expect(srv.frames(0)).toEqual([]);
    expect(srv.frames(1)).toEqual(['["m",1]']);
    expect(closes).toHaveLength(1);
  });
});

describe('debug', () => {
  it('hands lifecycle events to a debug function', async () => {
    const srv = serve();
    const log = vi.fn();
    const c = client(srv.url, { debug: log, queue: false });
    await tick(4);
    srv.drop(1001, 'restart');
    await tick(4);
    c.close();
    c.send('m', 1);
    expect(log.mock.calls.map(([event]) => event)).toEqual([
      'state', // idle → connecting
      'state', // connecting → open
      'close',
      'state', // open → reconnecting
      'reconnecting',
      'state', // reconnecting → closed
      'close',
      'drop',
    ]);
    expect(log.mock.calls[2]).toEqual(['close', { code: 1001, reason: 'restart', willReconnect: true }]);
  });
});

describe('custom transport', () => {
  /** A transport that records what the client does with it; it opens after `openAfter` ms, or inside connect() with 0. */
  function fakeTransport(o: { openAfter: number; codec?: Codec; heartbeat?: false }) {
    const conns: { ctx: TransportContext; sent: unknown[]; closed: [number, string] | undefined }[] = [];
    const transport: Transport = {
      ...(o.codec ? { codec: o.codec } : {}),
      ...(o.heartbeat === false ? { heartbeat: false as const } : {}),
      connect(ctx) {
        const conn = { ctx, sent: [] as unknown[], closed: undefined as [number, string] | undefined, open: false };
        conns.push(conn);
        const open = (): void => {
          conn.open = true;
          ctx.open();
        };
        if (o.openAfter) setTimeout(open, o.openAfter);
        else open();
        return {
          send: (f) => conn.open && conn.closed === undefined && (conn.sent.push(f), true),
          close: (code, reason) => void (conn.closed = [code, reason]),
        };
      },
    };
    return { transport, conns };
  }

  it('hands url and protocols to the transport and flushes the queue when it reports open', async () => {
    const { transport, conns } = fakeTransport({ openAfter: 10 });
    const c = new Surewire(() => 'ws://fake.local/?t=1', { transport, protocols: ['p1'], heartbeat: false });
    own(c);
    expect(c.send('m', 1)).toBe('queued');
    await tick(9);
    expect(c.connection.state).toBe('connecting');
    await tick(1);
    expect(c.connection.state).toBe('open');
    expect(conns).toHaveLength(1);
    expect(conns[0]!.ctx.url).toBe('ws://fake.local/?t=1');
    expect(conns[0]!.ctx.protocols).toEqual(['p1']);
    expect(conns[0]!.sent).toEqual(['["m",1]']);
    conns[0]!.ctx.frame('["news",2]');
    conns[0]!.ctx.close(1001, 'away');
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'reconnecting', reason: 'socket closed', code: 1001 });
  });

  it("uses the transport's codec over the codec option, and no heartbeat when the transport has its own", async () => {
    const typed: Codec = {
      encode: (p) => JSON.stringify({ type: p.event, payload: p.args[0] }),
      decode: (f) => {
        const m = JSON.parse(f as string) as { type: string; payload: unknown };
        return { event: m.type, args: [m.payload] };
      },
    };
    const { transport, conns } = fakeTransport({ openAfter: 10, codec: typed, heartbeat: false });
    const c = new Surewire('ws://fake.local/', { transport, heartbeat: { interval: 100, timeout: 50 } });
    own(c);
    const news = vi.fn();
    c.on('news', news);
    await tick(10);
    expect(c.send('chat', 'hi')).toBe('sent');
    conns[0]!.ctx.frame('{"type":"news","payload":3}');
    await tick(1000);
    expect(conns[0]!.sent).toEqual(['{"type":"chat","payload":"hi"}']);
    expect(news.mock.calls).toEqual([[3]]);
    expect(c.connection.state).toBe('open');
  });

  it('works with a transport that reports open from inside connect()', async () => {
    const { transport, conns } = fakeTransport({ openAfter: 0 });
    const c = new Surewire('ws://fake.local/', { transport, heartbeat: false, autoConnect: false });
    own(c);
    const errors = record(c, 'error');
    c.send('m', 1);
    c.connect();
    await tick(0);
    expect(errors).toEqual([]);
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'open', queued: 0 });
    expect(conns).toHaveLength(1);
    expect(conns[0]!.sent).toEqual(['["m",1]']);
    expect(c.send('m', 2)).toBe('sent');
  });
});
