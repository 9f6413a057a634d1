// The client's core behaviours, written once and run for every transport (behaviour-*.test.ts):
// the same typed client must behave the same over the native WebSocket and over socket.io.
// Real servers on loopback, real timers; waits on events, never on fixed sleeps (`delay` is only an
// observation window for things that must NOT happen).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Surewire } from '../../src/client';
import { ClosedError, TimeoutError } from '../../src/errors';
import type { SurewireOptions } from '../../src/options';
import type { EventsMap } from '../../src/types';
import { activeResources, watchTimers } from '../helpers/leaks';
import { delay, once, record, waitFor } from '../helpers/wait';

/**
 * A server for the shared tests. It must:
 * - answer the event `say` with the event `echo` carrying the same arguments, on the same connection;
 * - answer the request `add(a, b)` with `a + b`, and never answer the request `ignore`.
 */
export interface BehaviourServer {
  /** Where the client connects. */
  url: string;
  /** Events and requests received, as `[event, ...args]`, in order, optionally from one connection (1-based). */
  events(conn?: number): unknown[][];
  /** Connections accepted so far. */
  connections(): number;
  /** Connections still open on the server's side. */
  open(): number;
  /** Ends every connection abruptly at the transport level: the client must see a close it retries (1006). */
  drop(): void;
  /** Stops listening and ends every connection: attempts are refused until `start()`. */
  stop(): Promise<void>;
  /** Listens again, on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface TransportUnderTest {
  server(): Promise<BehaviourServer>;
  /** A client of `url` over this transport, with `options` on top of the transport's own. */
  client<L extends EventsMap, E extends EventsMap>(url: string, options: SurewireOptions): Surewire<L, E>;
}

export interface Profile {
  name: string;
  tags: string[];
  age: number | null;
  nested: { ok: boolean; ratio: number };
}

export interface ServerEvents {
  echo: (text: string, n: number, p?: Profile, list?: (number | null)[]) => void;
}

export interface ClientEvents {
  say: (text: string, n: number, p?: Profile, list?: (number | null)[]) => void;
  add: (a: number, b: number, ack: (sum: number) => void) => void;
  ignore: (x: string, ack: (r: unknown) => void) => void;
}

const profile: Profile = { name: 'Zoë "z" <b>', tags: ['a', 'ü', '✓', ''], age: null, nested: { ok: true, ratio: -1.5 } };

/** Small delays, no jitter, no heartbeat of surewire's own. */
const fast = { reconnect: { initialDelay: 20, jitter: 0 }, heartbeat: false } as const satisfies SurewireOptions;

export function describeTransport(name: string, t: TransportUnderTest): void {
  describe(`core behaviour over ${name}`, () => {
    const cleanups: (() => unknown)[] = [];
    afterEach(async () => {
      const errors: unknown[] = [];
      for (const fn of cleanups.splice(0).reverse()) await Promise.resolve().then(fn).catch((e: unknown) => errors.push(e));
      if (errors.length) throw errors[0];
    });

    // Every socket and server a test made is gone after the suite.
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

    async function server(): Promise<BehaviourServer> {
      const s = await t.server();
      cleanups.push(() => s.close());
      return s;
    }

    function client(url: string, options: SurewireOptions = {}): Surewire<ServerEvents, ClientEvents> {
      const c = t.client<ServerEvents, ClientEvents>(url, { ...fast, ...options });
      cleanups.push(() => c.close());
      return c;
    }

    const isOpen = (c: Surewire<ServerEvents, ClientEvents>) => () => c.connection.state == 'open';

    it('round-trips typed events with several arguments and object payloads, in order, queued ones first', async () => {
      const s = await server();
      const c = client(s.url);
      const got: unknown[][] = [];
      c.on('echo', (...args) => got.push(args));
      expect(c.send('say', 'queued', 0)).toBe('queued'); // before the first open
      await waitFor(isOpen(c));
      expect(c.send('say', 'hello', 1)).toBe('sent');
      expect(c.send('say', 'line\u2028sep "q" ✓ 🎉', 2, profile, [1, null, -3.5])).toBe('sent');
      await waitFor(() => got.length >= 3);
      expect(got).toEqual([
        ['queued', 0],
        ['hello', 1],
        ['line\u2028sep "q" ✓ 🎉', 2, profile, [1, null, -3.5]],
      ]);
      expect(s.events()).toEqual([
        ['say', 'queued', 0],
        ['say', 'hello', 1],
        ['say', 'line\u2028sep "q" ✓ 🎉', 2, profile, [1, null, -3.5]],
      ]);
    });

    it('reconnects after the server drops the connection, after the backoff delay, and messages flow again', async () => {
      const s = await server();
      const c = client(s.url);
      const life = record(c.connection, ['open', 'close', 'reconnecting']);
      const got: unknown[] = [];
      c.on('echo', (text) => got.push(text));
      await waitFor(isOpen(c));
      c.send('say', 'before', 1);
      await waitFor(() => got.length >= 1);

      s.drop();
      const closedAt = await once(c.connection, 'close').then(() => Date.now());
      await once(c.connection, 'open');
      expect(Date.now() - closedAt).toBeGreaterThanOrEqual(19);
      expect(life.log.map(([e]) => e)).toEqual(['open', 'close', 'reconnecting', 'open']);
      expect(life.log[1]![1]).toMatchObject({ code: 1006, willReconnect: true });
      expect(life.log[2]![1]).toEqual({ attempt: 1, delay: 20 });
      expect(life.log[3]![1]).toMatchObject({ attempt: 1 });
      expect(s.connections()).toBe(2);

      expect(c.send('say', 'after', 2)).toBe('sent');
      await waitFor(() => got.length >= 2);
      expect(got).toEqual(['before', 'after']);
      expect(s.events(2)).toEqual([['say', 'after', 2]]);
    });

    it('delivers messages sent during an outage once each and in order, before later ones', async () => {
      const N = 200;
      const s = await server();
      const c = client(s.url, { reconnect: { initialDelay: 20, maxDelay: 60, jitter: 0 } });
      await waitFor(isOpen(c));
      c.send('say', 'first', -1);
      await waitFor(() => s.events().length >= 1);
      await s.stop();
      await waitFor(() => c.connection.state != 'open');

      const results: string[] = [];
      for (let i = 0; i < N; i++) {
        results.push(c.send('say', 'n', i));
        if (i % 25 == 24) await delay(20); // spread over several failed attempts
      }
      expect(results).toEqual(Array(N).fill('queued'));
      expect(c.connection.getSnapshot().queued).toBe(N);

      await s.start();
      await waitFor(isOpen(c), 3000);
      expect(c.send('say', 'last', N)).toBe('sent');
      await waitFor(() => s.events().length >= N + 2, 3000, 'every message arrives');
      expect(s.events()).toEqual([['say', 'first', -1], ...Array.from({ length: N }, (_, i) => ['say', 'n', i]), ['say', 'last', N]]);
      expect(c.connection.getSnapshot().queued).toBe(0);
    });

    it('resolves requests with the reply, times out unanswered ones, and rejects those in flight when the link drops', async () => {
      const s = await server();
      const c = client(s.url);
      await waitFor(isOpen(c));
      const sum: number = await c.request('add', 2, 3);
      expect(sum).toBe(5);
      expect(await Promise.all([c.request('add', 1, 1), c.request('add', 10, -4)])).toEqual([2, 6]);

      const started = Date.now();
      const late = await c.timeout(150).request('ignore', 'x').catch((e: unknown) => e);
      expect(late).toBeInstanceOf(TimeoutError);
      expect(Date.now() - started).toBeGreaterThanOrEqual(149);

      const inFlight = c.timeout(5000).request('ignore', 'y').catch((e: unknown) => e);
      await waitFor(() => s.events().length >= 5);
      s.drop();
      expect(await inFlight).toBeInstanceOf(ClosedError);
      expect(s.events()).toEqual([
        ['add', 2, 3],
        ['add', 1, 1],
        ['add', 10, -4],
        ['ignore', 'x'],
        ['ignore', 'y'],
      ]);
    });

    it('close() is final: the server sees the close, nothing follows, and no timer or socket is left', async () => {
      const s = await server();
      await delay(150); // let the test runner's own throttled timer run out: a steady baseline
      const timers = watchTimers();
      try {
        const c = client(s.url);
        await waitFor(isOpen(c));
        const life = record(c.connection, ['state', 'close', 'reconnecting', 'open']);
        c.close();
        expect(c.connection.getSnapshot()).toMatchObject({ state: 'closed', reason: 'close()' });
        await waitFor(() => s.open() == 0, 2000, 'the server sees the close');

        expect(c.send('say', 'late', 1)).toBe('dropped');
        await expect(c.request('add', 1, 2)).rejects.toBeInstanceOf(ClosedError);
        c.reconnect();
        c.connect();
        await delay(300);
        expect(s.connections()).toBe(1);
        expect(s.events()).toEqual([]);
        expect(life.log).toEqual([
          ['state', { from: 'open', to: 'closed', reason: 'close()' }],
          ['close', { code: 1000, reason: '', willReconnect: false }],
        ]);
        // Node reports a cleared timer's end asynchronously: give it a moment, then insist.
        await waitFor(() => timers.live().length == 0, 1000).catch(() => {});
        expect(timers.live()).toEqual([]);
      } finally {
        timers.stop();
      }
    });

    it('ends in closed with reason "max retries" when the server is gone, then connect() starts again', async () => {
      const s = await server();
      const c = client(s.url, { reconnect: { initialDelay: 20, jitter: 0, maxRetries: 3 } });
      const life = record(c.connection, ['close', 'reconnecting']);
      await waitFor(isOpen(c));
      await s.stop();
      await waitFor(() => c.connection.state == 'closed', 3000);
      expect(c.connection.getSnapshot()).toMatchObject({ state: 'closed', reason: 'max retries', retryAt: null });
      expect(life.log.map(([e, x]) => (e == 'close' ? ['close', (x as { willReconnect: boolean }).willReconnect] : [e, (x as { delay: number }).delay])))
        .toEqual([
          ['close', true],
          ['reconnecting', 20],
          ['close', true],
          ['reconnecting', 40],
          ['close', true],
          ['reconnecting', 80],
          ['close', false],
        ]);
      expect(life.log.every(([e, x]) => e != 'close' || (x as { code: number }).code == 1006)).toBe(true);
      await delay(200);
      expect(life.log.length).toBe(7);

      await s.start();
      c.connect();
      await waitFor(isOpen(c));
      expect(s.connections()).toBe(2);
    });
  });
}
