import { describe, expect, it } from 'vitest';
import type { Client } from 'mock-socket';
import { reliable } from '../src/reliable';
import { OptionError } from '../src/errors';
import { Surewire } from '../src/client';
import { fakeClientHarness, record } from './helpers/fake-client';
import { WS } from './helpers/mock-server';

const { tick, serve, client } = fakeClientHarness();
// mock-socket delays every open and every frame by 4 ms: this is enough for a round trip.
const net = (): Promise<unknown> => tick(20);

/**
 * A mock server that speaks PROTOCOL.md for one session, by hand: it answers `$hello` with `$welcome`,
 * stores client messages once per sequence number, and acknowledges them unless told not to.
 */
function protocolServer(o: { ack?: boolean; welcome?: boolean } = {}) {
  const srv = serve();
  const s = {
    srv,
    ack: o.ack ?? true,
    welcome: o.welcome ?? true,
    seq: null as number | null,
    /** What the server app got, once per sequence number. */
    stored: [] as unknown[][],
    /** Every `$m` sequence number that arrived, duplicates included. */
    arrived: [] as number[],
    hellos: [] as unknown[][],
    offset: 0,
    history: [] as unknown[][],
    /** From which offset the server can still replay. */
    keepFrom: 1,
    socket: undefined as Client | undefined,
    /** Server → client message through the protocol. */
    push(event: string, ...args: unknown[]) {
      const m = ['$m', ++s.offset, event, ...args];
      s.history.push(m);
      s.socket?.send(JSON.stringify(m));
    },
  };
  srv.onConnection = (socket) => {
    s.socket = socket;
    socket.on('message', (data) => {
      if (typeof data != 'string' || data == 'ping') return;
      const m = JSON.parse(data) as unknown[];
      if (m[0] == '$hello') {
        s.hellos.push(m);
        if (!s.welcome) return;
        const from = m[2] as number;
        const resumed = from + 1 >= s.keepFrom && from <= s.offset;
        socket.send(JSON.stringify(['$welcome', s.seq, s.offset, resumed]));
        if (resumed) for (const h of s.history) if ((h[1] as number) > from) socket.send(JSON.stringify(h));
      } else if (m[0] == '$m') {
        const n = m[1] as number;
        s.arrived.push(n);
        if (n > (s.seq ?? 0)) (s.seq = n), s.stored.push(m.slice(2));
        if (s.ack) socket.send(JSON.stringify(['$ack', s.seq]));
      }
    });
  };
  return s;
}

const frames = (s: ReturnType<typeof protocolServer>) => s.srv.frames().map((f) => JSON.parse(f as string) as unknown[]);

describe('reliable: hello and welcome', () => {
  it('says hello first, with a session id and offset 0, and opens only after the welcome', async () => {
    const s = protocolServer({ welcome: false });
    const c = client(s.srv.url, { reliable: reliable() });
    c.send('message', 'queued before open');
    await net();
    expect(c.connection.state).toBe('connecting');
    const [hello] = frames(s);
    expect(hello?.[0]).toBe('$hello');
    expect(hello?.[1]).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(hello?.[2]).toBe(0);
    expect(frames(s)).toHaveLength(1); // the outbox waits for the welcome

    s.socket!.send(JSON.stringify(['$welcome', null, 0, true]));
    await net();
    expect(c.connection.state).toBe('open');
    expect(frames(s)[1]).toEqual(['$m', 1, 'message', 'queued before open']);
  });

  it('counts the wait for the welcome against connectTimeout', async () => {
    const s = protocolServer({ welcome: false });
    const c = client(s.srv.url, { reliable: reliable(), connectTimeout: 1000, reconnect: false });
    await tick(999);
    expect(c.connection.state).toBe('connecting');
    await tick(1);
    expect(c.connection.state).toBe('closed');
    expect(c.connection.getSnapshot().reason).toBe('reconnect disabled');
  });

  it('rejects a reliable option that is not reliable()', () => {
    expect(() => new Surewire('ws://x.test/', { WebSocket: WS, reliable: true as never })).toThrow(OptionError);
    expect(() => new Surewire('ws://x.test/', { WebSocket: WS, reliable: true as never })).toThrow('`reliable`');
  });
});

describe('reliable: client → server', () => {
  it('numbers messages from 1 and the server stores each once', async () => {
    const s = protocolServer();
    const c = client(s.srv.url, { reliable: reliable() });
    await net();
    expect(c.send('message', 'a')).toBe('sent');
    c.send('message', 'b', 2);
    await net();
    expect(s.stored).toEqual([
      ['message', 'a'],
      ['message', 'b', 2],
    ]);
    expect(s.arrived).toEqual([1, 2]);
  });

  it('resends, after a reconnect, everything the server has not stored, in order, before the outbox', async () => {
    const s = protocolServer({ ack: false });
    const c = client(s.srv.url, { reliable: reliable(), reconnect: { initialDelay: 100, jitter: 0 } });
    await net();
    c.send('m', 1);
    c.send('m', 2);
    c.send('m', 3);
    await net();
    s.srv.drop(1006);
    await net();
    expect(c.connection.state).toBe('reconnecting');
    c.send('m', 4); // queued while down
    // The server kept only 1: 2 and 3 were lost with it (its store was behind), and no ack ever came.
    s.seq = 1;
    s.stored = [['m', 1]];
    s.ack = true;
    await tick(100);
    await net();
    expect(c.connection.state).toBe('open');
    expect(s.arrived).toEqual([1, 2, 3, 2, 3, 4]);
    expect(s.stored).toEqual([['m', 1], ['m', 2], ['m', 3], ['m', 4]]);
  });

  it('resends everything unacknowledged to a server that lost the session (welcome with null)', async () => {
    const s = protocolServer({ ack: false });
    const c = client(s.srv.url, { reliable: reliable(), reconnect: { initialDelay: 100, jitter: 0 } });
    await net();
    c.send('m', 1);
    c.send('m', 2);
    await net();
    s.srv.drop(1006);
    await net();
    s.seq = null;
    s.stored = [];
    await tick(100);
    await net();
    expect(c.connection.state).toBe('open');
    expect(s.arrived).toEqual([1, 2, 1, 2]);
    expect(s.stored).toEqual([['m', 1], ['m', 2]]);
  });

  it('does not resend what the server says it has (the welcome carries its last sequence number)', async () => {
    const s = protocolServer({ ack: false });
    const c = client(s.srv.url, { reliable: reliable(), reconnect: { initialDelay: 100, jitter: 0 } });
    await net();
    c.send('m', 1);
    c.send('m', 2);
    await net();
    s.srv.drop(1006);
    await tick(100);
    await net();
    expect(c.connection.state).toBe('open');
    expect(s.arrived).toEqual([1, 2]);
  });

  it('delivered() resolves once the server acknowledged everything sent before it', async () => {
    const s = protocolServer({ ack: false });
    const delivery = reliable();
    const c = client(s.srv.url, { reliable: delivery });
    await net();
    c.send('m', 1);
    c.send('m', 2);
    let done = false;
    void delivery.delivered().then(() => (done = true));
    await net();
    expect(done).toBe(false);
    s.socket!.send(JSON.stringify(['$ack', 1]));
    await net();
    expect(done).toBe(false);
    s.socket!.send(JSON.stringify(['$ack', 2]));
    await net();
    expect(done).toBe(true);
  });

  it('delivered() does not wait for a message the outbox dropped', async () => {
    const s = protocolServer({ ack: false });
    const delivery = reliable();
    const c = client(s.srv.url, { reliable: delivery, queue: { max: 1 }, autoConnect: false });
    const drops = record(c, 'drop');
    c.send('m', 1);
    c.send('m', 2); // drops 1 (drop-oldest)
    let done = false;
    void delivery.delivered().then(() => (done = true));
    c.connect();
    await net();
    expect(drops.map((d) => d.message)).toEqual([{ event: 'm', args: [1] }]);
    expect(done).toBe(false);
    s.socket!.send(JSON.stringify(['$ack', 2]));
    await net();
    expect(done).toBe(true);
    expect(s.stored).toEqual([['m', 2]]);
  });

  it('forgets a message dropped behind older queued ones, and sends the others with their own numbers', async () => {
    const s = protocolServer({ ack: false });
    const delivery = reliable();
    const c = client(s.srv.url, { reliable: delivery, queue: { max: 2, overflow: 'drop-newest' }, autoConnect: false });
    const drops = record(c, 'drop');
    c.send('m', 1);
    c.send('m', 2);
    c.send('m', 3); // dropped: the newest, behind two queued ones
    let first = false;
    void delivery.delivered().then(() => (first = true));
    c.connect();
    await net();
    expect(drops.map((d) => d.message)).toEqual([{ event: 'm', args: [3] }]);
    c.send('m', 4);
    await net();
    expect(s.arrived).toEqual([1, 2, 4]);
    let done = false;
    void delivery.delivered().then(() => (done = true));
    s.socket!.send(JSON.stringify(['$ack', 1]));
    await net();
    expect(first).toBe(false);
    s.socket!.send(JSON.stringify(['$ack', 2]));
    await net();
    expect(first).toBe(true);
    expect(done).toBe(false);
    s.socket!.send(JSON.stringify(['$ack', 4]));
    await net();
    expect(done).toBe(true);
  });

  it('delivered() resolves at once when nothing is pending', async () => {
    const delivery = reliable();
    await expect(delivery.delivered()).resolves.toBeUndefined();
  });

  it('serves one client only', () => {
    const delivery = reliable();
    client('ws://one.test/', { reliable: delivery, autoConnect: false });
    expect(() => client('ws://two.test/', { reliable: delivery, autoConnect: false })).toThrow('one client');
  });
});

describe('reliable: server → client', () => {
  it('delivers each offset once, in order, and acknowledges a burst with one $ack', async () => {
    const s = protocolServer();
    const c = client(s.srv.url, { reliable: reliable({ ackDelay: 50 }) });
    const got: unknown[] = [];
    c.on('news', (x: unknown) => got.push(x));
    await net();
    s.push('news', 'a');
    s.push('news', 'b');
    s.socket!.send(JSON.stringify(['$m', 1, 'news', 'a'])); // a duplicate
    s.push('news', 'c');
    await net();
    expect(got).toEqual(['a', 'b', 'c']);
    expect(frames(s).filter((f) => f[0] == '$ack')).toEqual([]);
    await tick(50);
    await net();
    expect(frames(s).filter((f) => f[0] == '$ack')).toEqual([['$ack', 3]]);
  });

  it('says in its hello where it stopped, and the server replays only what was missed', async () => {
    const s = protocolServer();
    const c = client(s.srv.url, { reliable: reliable(), reconnect: { initialDelay: 100, jitter: 0 } });
    const got: unknown[] = [];
    c.on('news', (x: unknown) => got.push(x));
    await net();
    s.push('news', 1);
    s.push('news', 2);
    await net();
    s.srv.drop(1006);
    await net();
    s.push('news', 3); // while the client is away
    await tick(100);
    await net();
    expect(s.hellos.map((h) => h[2])).toEqual([0, 2]);
    expect(got).toEqual([1, 2, 3]);
  });

  it('emits discontinuity when the server can no longer replay, and goes on from the server offset', async () => {
    const s = protocolServer();
    const delivery = reliable();
    const c = client(s.srv.url, { reliable: delivery, reconnect: { initialDelay: 100, jitter: 0 } });
    const gaps: unknown[] = [];
    delivery.on('discontinuity', (g) => gaps.push(g));
    const got: unknown[] = [];
    c.on('news', (x: unknown) => got.push(x));
    await net();
    s.push('news', 1);
    await net();
    s.srv.drop(1006);
    await net();
    s.push('news', 2);
    s.push('news', 3);
    s.keepFrom = 3; // 2 is gone from the history
    await tick(100);
    await net();
    expect(gaps).toEqual([{ from: 1, to: 3 }]);
    s.push('news', 4);
    await net();
    expect(got).toEqual([1, 4]);
  });
});

describe('reliable: across a page reload (queue.storage)', () => {
  it('keeps the session, the numbering, the unacknowledged and queued messages, and the offset', async () => {
    const map = new Map<string, string>();
    const storage = { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v) };
    const s = protocolServer({ ack: false });
    const first = client(s.srv.url, { reliable: reliable(), queue: { storage } });
    await net();
    first.send('m', 1); // handed to the socket, not acknowledged
    s.push('news', 'x');
    await net();
    s.srv.drop(1006);
    await net();
    first.send('m', 2); // queued
    await net();
    // The page goes away without close(): what storage holds is all the next page has.
    const session = s.hellos[0]![1];
    first.close(); // storage keeps the outbox; this only stops the old client's timers
    s.ack = true;

    const second = client(s.srv.url, { reliable: reliable(), queue: { storage } });
    await net();
    expect(s.hellos.at(-1)).toEqual(['$hello', session, 1]);
    expect(second.connection.state).toBe('open');
    expect(s.stored).toEqual([['m', 1], ['m', 2]]);
    second.send('m', 3);
    await net();
    expect(s.arrived.at(-1)).toBe(3);
  });
});

describe('reliable: what send refuses', () => {
  it('refuses event names starting with $ (the protocol closes for good on them)', async () => {
    const s = protocolServer();
    const c = client(s.srv.url, { reliable: reliable() });
    await net();
    expect(() => c.send('$m', 1)).toThrow(/reserved/);
    expect(() => c.send('$m', 1)).toThrow(expect.objectContaining({ code: 'encode' }));
    c.send('ok', 1);
    await net();
    expect(s.stored).toEqual([['ok', 1]]);
  });

  it('refuses a binary frame over WebSocket, which has no room for a sequence number, instead of mangling it', async () => {
    const s = protocolServer();
    const c = client(s.srv.url, { reliable: reliable() });
    await net();
    expect(() => c.send('binary', new Uint8Array([1, 2]).buffer)).toThrow(/a binary frame has no room for a sequence number/);
    expect(() => c.send('binary', new Uint8Array([1, 2]).buffer)).toThrow(expect.objectContaining({ code: 'encode' }));
    c.send('ok', 1);
    await net();
    expect(s.arrived).toEqual([1]);
    expect(s.stored).toEqual([['ok', 1]]);
  });

  it('refuses a message larger than maxFrame at once, and numbers the next one as if it never was', async () => {
    const s = protocolServer();
    const c = client(s.srv.url, { reliable: reliable({ maxFrame: 100 }) });
    await net();
    expect(() => c.send('big', 'x'.repeat(100))).toThrow(/maxFrame/);
    c.send('small', 'x');
    await net();
    expect(s.arrived).toEqual([1]);
    expect(s.stored).toEqual([['small', 'x']]);
  });
});

describe('reliable: window', () => {
  it('keeps at most `window` messages on the wire without an acknowledgement; acks make room, in order', async () => {
    const s = protocolServer({ ack: false });
    const c = client(s.srv.url, { reliable: reliable({ window: 2 }) });
    await net();
    for (let k = 1; k <= 5; k++) expect(c.send('m', k)).toBe('sent');
    await net();
    expect(s.arrived).toEqual([1, 2]);
    s.socket!.send(JSON.stringify(['$ack', 1]));
    await net();
    expect(s.arrived).toEqual([1, 2, 3]);
    s.socket!.send(JSON.stringify(['$ack', 3]));
    await net();
    expect(s.arrived).toEqual([1, 2, 3, 4, 5]);
  });

  it('sends nothing of the app before the welcome, even with an empty outbox', async () => {
    const s = protocolServer({ welcome: false });
    const c = client(s.srv.url, { reliable: reliable() });
    await net();
    expect(c.connection.state).toBe('connecting');
    expect(c.send('m', 1)).toBe('queued');
    await net();
    expect(frames(s).map((f) => f[0])).toEqual(['$hello']);
  });
});
