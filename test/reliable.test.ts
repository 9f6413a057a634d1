import { describe, expect, it, vi } from 'vitest';
import type { Client } from 'mock-socket';
import { reliable } from '../src/reliable';
import { OptionError, SurewireError } from '../src/errors';
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
function protocolServer(o: { ack?: boolean; welcome?: boolean; maxFrame?: number } = {}) {
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
    let closed = false;
    socket.on('message', (data) => {
      if (typeof data != 'string' || data == 'ping' || closed) return;
      // Like surewire/server's maxFrame (counted in characters here: the test frames are ASCII); frames
      // that were on their way behind the big one are not read.
      if (o.maxFrame && data.length > o.maxFrame) return (closed = true), socket.close({ code: 1009, reason: 'frame too big', wasClean: true });
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

  it('delivered() does not wait for a message the outbox dropped, nor takes it for a server message', async () => {
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
    // Decoding the dropped frame for the drop event did not move the server offset, nor start an $ack.
    expect(s.hellos[0]![2]).toBe(0);
    // The dropped number went to the next message.
    expect(s.arrived).toEqual([1]);
    s.socket!.send(JSON.stringify(['$ack', 1]));
    await net();
    expect(done).toBe(true);
    expect(s.stored).toEqual([['m', 2]]);
    await tick(100);
    expect(frames(s).filter((f) => f[0] == '$ack')).toEqual([]);
  });

  it('forgets a message dropped behind older queued ones, and gives its number to the next one', async () => {
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
    expect(s.arrived).toEqual([1, 2, 3]);
    expect(s.stored).toEqual([['m', 1], ['m', 2], ['m', 4]]);
    let done = false;
    void delivery.delivered().then(() => (done = true));
    s.socket!.send(JSON.stringify(['$ack', 1]));
    await net();
    expect(first).toBe(false);
    s.socket!.send(JSON.stringify(['$ack', 2]));
    await net();
    expect(first).toBe(true);
    expect(done).toBe(false);
    s.socket!.send(JSON.stringify(['$ack', 3]));
    await net();
    expect(done).toBe(true);
  });

  it('delivered() resolves at once when nothing is pending', async () => {
    const delivery = reliable();
    await expect(delivery.delivered()).resolves.toBeUndefined();
  });

  it('serves one client only: a second one gets a surewire error', () => {
    const delivery = reliable();
    client('ws://one.test/', { reliable: delivery, autoConnect: false });
    expect(() => client('ws://two.test/', { reliable: delivery, autoConnect: false })).toThrow('one client');
    expect(() => client('ws://two.test/', { reliable: delivery, autoConnect: false })).toThrow(SurewireError);
    expect(() => client('ws://two.test/', { reliable: delivery, autoConnect: false })).toThrow(expect.objectContaining({ code: 'option' }));
  });
});

describe('reliable: server → client', () => {
  it('delivers each offset in order, and acknowledges a burst with one $ack', async () => {
    const s = protocolServer();
    const c = client(s.srv.url, { reliable: reliable({ ackDelay: 50 }) });
    const got: unknown[] = [];
    c.on('news', (x: unknown) => got.push(x));
    await net();
    s.push('news', 'a');
    s.push('news', 'b');
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
    expect(s.hellos.at(-1)).toEqual(['$hello', session, 1, true]);
    expect(second.connection.state).toBe('open');
    expect(s.stored).toEqual([['m', 1], ['m', 2]]);
    second.send('m', 3);
    await net();
    expect(s.arrived.at(-1)).toBe(3);
  });
});

describe('reliable: taken over by another client', () => {
  it('serves a second client once the first closed, from what storage holds; never while the first is connected', async () => {
    const map = new Map<string, string>();
    const storage = { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v) };
    const s = protocolServer();
    const delivery = reliable();
    const first = client(s.srv.url, { reliable: delivery, queue: { storage } });
    await net();
    first.send('m', 1);
    await net();
    expect(() => client(s.srv.url, { reliable: delivery, queue: { storage } })).toThrow('one client');
    first.close();
    // Another client moved the session on meanwhile (what a tab that leads in its place does, in surewire/share).
    const other = client(s.srv.url, { reliable: reliable(), queue: { storage } });
    await net();
    other.send('m', 2);
    await net();
    other.close();
    const second = client(s.srv.url, { reliable: delivery, queue: { storage } });
    await net();
    expect(second.connection.state).toBe('open');
    second.send('m', 3);
    await net();
    expect(s.stored).toEqual([['m', 1], ['m', 2], ['m', 3]]);
    expect(s.arrived).toEqual([1, 2, 3]);
    expect(new Set(s.hellos.map((h) => h[1])).size).toBe(1);
  });

  it('a client whose reliable() another took over while it had no connection cannot connect with it again', async () => {
    const s = protocolServer();
    const delivery = reliable();
    const first = client(s.srv.url, { reliable: delivery });
    const errors: string[] = [];
    first.connection.on('error', (e) => void errors.push(e.message));
    await net();
    first.send('m', 1);
    first.reconnect(); // no connection until its next attempt: another client may take the reliable() over now
    const second = client(s.srv.url, { reliable: delivery });
    await net();
    expect(second.connection.state).toBe('open');
    expect(first.connection.state).not.toBe('open');
    expect(errors.some((m) => m.includes('a reliable() serves one client'))).toBe(true);
    second.send('m', 2);
    await net();
    expect(s.arrived).toEqual([1, 2]);
    first.close();
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

  // A backlog flows in batches as deep as the window: a shallow one (900 until 0.1.0) trickled a backlog out
  // between acknowledgements, which cost Chromium more per message (bench/RESULTS.md, "Burst and backlog").
  // It stays under surewire/server's default `maxPending` (test/fault/regressions.test.ts floods it otherwise).
  it('keeps 3600 messages on the wire by default', async () => {
    const s = protocolServer({ ack: false });
    const c = client(s.srv.url, { reliable: reliable() });
    await net();
    for (let k = 1; k <= 5000; k++) c.send('m', k);
    await net();
    expect(s.arrived).toEqual(Array.from({ length: 3600 }, (_, i) => i + 1));
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

/** A `localStorage` stand-in; `map` shows what was written. */
const memory = (init: Record<string, string> = {}) => {
  const map = new Map(Object.entries(init));
  return { map, getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v) };
};
const ID = /^[A-Za-z0-9_-]{22}$/;
// What `send` threw: a surewire error, whose cause (the client wraps codec errors) is one too, never a TypeError.
const thrown = (fn: () => unknown): SurewireError => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SurewireError);
    const cause = (e as Error).cause;
    if (cause !== undefined) expect(cause).toBeInstanceOf(SurewireError);
    return e as SurewireError;
  }
  throw new Error('nothing thrown');
};

describe('reliable: session ids', () => {
  it('makes 22 characters of base64url from 16 bytes of crypto.getRandomValues, never from Math.random', () => {
    const random = vi.spyOn(crypto, 'getRandomValues');
    const ids = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const d = reliable();
      client('ws://ids.test/', { reliable: d, autoConnect: false });
      expect(d.session).toMatch(ID);
      ids.add(d.session!);
    }
    expect(ids.size).toBe(50);
    expect(random).toHaveBeenCalledTimes(50);
    expect(random.mock.calls.every(([a]) => a instanceof Uint8Array && a.length == 16)).toBe(true);
    expect(Math.random).not.toHaveBeenCalled();
  });

  it('is the base64url text of those 16 bytes (all 128 bits of them)', () => {
    const bytes = Uint8Array.from({ length: 16 }, (_, i) => 0xf8 + (i % 8));
    vi.spyOn(crypto, 'getRandomValues').mockImplementation((a) => ((a as Uint8Array).set(bytes), a));
    const d = reliable();
    client('ws://ids.test/', { reliable: d, autoConnect: false });
    expect(d.session).toBe(Buffer.from(bytes).toString('base64url'));
    expect(d.session).toMatch(/[-_]/);
  });

  it('without crypto (Node 18) asks for a session id, and never falls back to Math.random', () => {
    vi.stubGlobal('crypto', undefined);
    try {
      expect(() => client('ws://x.test/', { reliable: reliable(), autoConnect: false })).toThrow(expect.objectContaining({ option: 'reliable.session' }));
      const d = reliable({ session: 'mine' });
      client('ws://x.test/', { reliable: d, autoConnect: false });
      expect(d.session).toBe('mine');
      expect(Math.random).not.toHaveBeenCalled();
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it.each(['', 'x'.repeat(65), 'a b', 'é', 'a/b', 'a.b', 5, null])('refuses the session %j with an OptionError naming reliable.session', (v) => {
    expect(() => reliable({ session: v as never })).toThrow(OptionError);
    expect(() => reliable({ session: v as never })).toThrow(expect.objectContaining({ option: 'reliable.session', code: 'option' }));
  });

  it.each(['a', 'x'.repeat(64), 'A-z_09'])('takes the session %j', async (v) => {
    const s = protocolServer();
    const d = reliable({ session: v });
    client(s.srv.url, { reliable: d });
    await net();
    expect(d.session).toBe(v);
    expect(s.hellos[0]).toEqual(['$hello', v, 0, false]);
  });
});

describe('reliable: options', () => {
  it.each<[string, unknown]>([
    ['window', 0],
    ['window', '5'],
    ['ackDelay', -1],
    ['maxFrame', 0],
    ['maxFrame', NaN],
    ['helloTimeout', 0],
    ['helloTimeout', 2 ** 31],
    ['windows', 5],
  ])('refuses reliable.%s = %j with an OptionError naming it', (k, v) => {
    const e = thrown(() => reliable({ [k]: v } as never));
    expect(e).toBeInstanceOf(OptionError);
    expect(e).toMatchObject({ option: `reliable.${k}`, code: 'option' });
    expect(e.message).toContain(`\`reliable.${k}\``);
  });

  it('refuses with surewire errors only: a reserved name, binary over WebSocket, a frame over maxFrame', async () => {
    const s = protocolServer();
    const c = client(s.srv.url, { reliable: reliable({ maxFrame: 100 }) });
    await net();
    for (const send of [() => c.send('$x'), () => c.send('binary', new ArrayBuffer(2)), () => c.send('big', 'x'.repeat(200))])
      expect(thrown(send).code).toBe('encode');
  });
});

describe('reliable: frame size', () => {
  it('counts UTF-8 bytes against the default maxFrame, 990000: under surewire/server (1 MiB) and socket.io (1e6)', async () => {
    const s = protocolServer();
    const c = client(s.srv.url, { reliable: reliable() });
    await net();
    // ["$m",1,"big","…"]: 17 bytes around the text. 330000 '€' are 990000 bytes but only 330000 UTF-16 units.
    const e = thrown(() => c.send('big', '€'.repeat(330_000)));
    expect(e.code).toBe('encode');
    expect(e.message).toContain('"big" is 990017 bytes, over reliable.maxFrame (990000): split it');
    expect(c.send('big', 'x'.repeat(990_000 - 17))).toBe('sent');
    await net();
    expect(s.arrived).toEqual([1]);
  });
});

describe('reliable: a server that does not answer $hello', () => {
  it('is named as not a reliable server after helloTimeout (5000 ms by default), not a connect timeout, and the backoff goes on', async () => {
    const s = protocolServer({ welcome: false });
    const c = client(s.srv.url, { reliable: reliable(), reconnect: { initialDelay: 100, jitter: 0 } });
    const errors = record(c, 'error');
    const closes = record(c, 'close');
    await tick(4990);
    expect(errors).toEqual([]);
    await tick(20);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'protocol' });
    expect(errors[0]!.message).toContain(`${s.srv.url} sent no $welcome in 5000 ms: not a reliable server (see surewire/server)`);
    expect(closes).toEqual([{ code: 4003, reason: 'protocol violation', willReconnect: true }]);
    expect(c.connection.state).toBe('reconnecting');
    s.welcome = true;
    await tick(100);
    await net();
    expect(c.connection.state).toBe('open');
    expect(errors.map((x) => x.code)).toEqual(['protocol']);
    expect(s.hellos).toHaveLength(2);
  });

  it('waits helloTimeout as given', async () => {
    const s = protocolServer({ welcome: false });
    const c = client(s.srv.url, { reliable: reliable({ helloTimeout: 300 }), reconnect: false });
    const errors = record(c, 'error');
    await tick(290);
    expect(errors).toEqual([]);
    await tick(20);
    expect(errors[0]?.message).toContain('sent no $welcome in 300 ms');
    expect(c.connection.getSnapshot().reason).toBe('reconnect disabled');
  });
});

describe('reliable: numbers from the server', () => {
  it('refuses an $ack of a message not sent yet (beyond the window): nothing is forgotten, all of it goes on the next connection', async () => {
    const s = protocolServer({ ack: false });
    const d = reliable({ window: 1 });
    const c = client(s.srv.url, { reliable: d, reconnect: { initialDelay: 100, jitter: 0 } });
    const errors = record(c, 'error');
    const closes = record(c, 'close');
    await net();
    c.send('m', 1);
    c.send('m', 2);
    let done = false;
    void d.delivered().then(() => (done = true));
    await net();
    expect(s.arrived).toEqual([1]);
    s.socket!.send(JSON.stringify(['$ack', 2])); // 2 never went out
    await net();
    expect(errors).toMatchObject([{ code: 'protocol' }]);
    expect(errors[0]!.message).toContain('sent $ack 2, expected ≤ 1 after $welcome');
    expect(closes.map((x) => x.code)).toEqual([4003]);
    expect(done).toBe(false);
    s.ack = true;
    await tick(100);
    await net();
    expect(s.stored).toEqual([['m', 1], ['m', 2]]);
    expect(done).toBe(true);
  });

  it('refuses a server offset seen already or skipped, delivers nothing of it, and resumes from where it was', async () => {
    const s = protocolServer();
    const c = client(s.srv.url, { reliable: reliable(), reconnect: { initialDelay: 100, jitter: 0 } });
    const errors = record(c, 'error');
    const got: unknown[] = [];
    c.on('news', (x: unknown) => got.push(x));
    await net();
    s.push('news', 'a');
    await net();
    s.socket!.send(JSON.stringify(['$m', 1, 'news', 'a again']));
    await net();
    expect(errors[0]!.message).toContain('sent $m 1, expected 2 after $welcome');
    s.push('news', 'b'); // while away: kept in the history
    await tick(100);
    await net();
    expect(s.hellos.map((h) => h[2])).toEqual([0, 1]);
    s.socket!.send(JSON.stringify(['$m', 4, 'news', 'd'])); // 3 skipped
    await net();
    expect(errors[1]!.message).toContain('sent $m 4, expected 3 after $welcome');
    expect(got).toEqual(['a', 'b']);
  });

  it('emits discontinuity for every $welcome with resumed false, even at equal offsets (a session the server lost)', async () => {
    const s = protocolServer({ welcome: false });
    const d = reliable();
    const c = client(s.srv.url, { reliable: d });
    const gaps: unknown[] = [];
    d.on('discontinuity', (g) => gaps.push(g));
    await net();
    s.socket!.send(JSON.stringify(['$welcome', null, 0, false]));
    await net();
    expect(gaps).toEqual([{ from: 0, to: 0 }]);
    expect(c.connection.state).toBe('open');
  });

  it('stops at a discontinuity listener that closes the client', async () => {
    const s = protocolServer({ welcome: false });
    const d = reliable();
    const c = client(s.srv.url, { reliable: d });
    const opens = record(c, 'open');
    const errors = record(c, 'error');
    d.on('discontinuity', () => c.close());
    await net();
    s.socket!.send(JSON.stringify(['$welcome', null, 3, false]));
    await net();
    expect(opens).toEqual([]);
    expect(errors).toEqual([]);
    expect(c.connection.getSnapshot().reason).toBe('close()');
  });
});

describe('reliable: a message the server refuses as too big (1009)', () => {
  it('is dropped at the second 1009 with it the largest on the wire, and reported; the rest goes on and delivered() settles', async () => {
    const s = protocolServer({ maxFrame: 100 });
    const d = reliable();
    const c = client(s.srv.url, { reliable: d, reconnect: { initialDelay: 100, jitter: 0 } });
    const drops: unknown[] = [];
    d.on('drop', (x) => drops.push(x));
    const closes = record(c, 'close');
    await net();
    c.send('m', 1);
    c.send('big', 'x'.repeat(200));
    c.send('m', 3);
    let done = false;
    void d.delivered().then(() => (done = true));
    await net();
    expect(closes.map((x) => x.code)).toEqual([1009]);
    expect(drops).toEqual([]);
    await tick(100);
    await net();
    expect(closes.map((x) => x.code)).toEqual([1009, 1009]);
    expect(drops).toEqual([{ message: { event: 'big', args: ['x'.repeat(200)] }, frame: JSON.stringify(['$m', 2, 'big', 'x'.repeat(200)]), reason: 'too-big' }]);
    await tick(200);
    await net();
    expect(c.connection.state).toBe('open');
    expect(s.stored).toEqual([['m', 1], ['m', 3]]);
    expect(done).toBe(true);
    await tick(5000);
    expect(closes).toHaveLength(2);
  });

  it('drops nothing at a single 1009 (a request may have been the culprit): the message goes again', async () => {
    const s = protocolServer({ ack: false });
    const d = reliable();
    const c = client(s.srv.url, { reliable: d, reconnect: { initialDelay: 100, jitter: 0 } });
    const drops: unknown[] = [];
    d.on('drop', (x) => drops.push(x));
    await net();
    c.send('m', 1);
    c.send('m', 'larger');
    await net();
    s.srv.drop(1009);
    s.ack = true;
    await tick(100);
    await net();
    expect(drops).toEqual([]);
    expect(s.stored).toEqual([['m', 1], ['m', 'larger']]);
  });
});

describe('reliable: saved state read back (queue.storage)', () => {
  const key = 'surewire:outbox:reliable';
  const f = (n: unknown): string => JSON.stringify(['$m', n, 'm', n]);
  const S = 's'.repeat(22);
  const J = JSON.stringify;

  it.each<[string, string]>([
    ['text that is not JSON', '{'],
    ['a string', J('abc')],
    ['a number', '5'],
    ['null', 'null'],
    ['an object', J({ 0: S, 1: 0, 2: 0, 3: 0, 4: [] })],
    ['an empty array', '[]'],
    ['a seq that is a string', J([S, '2', 0, 0, []])],
    ['a negative seq', J([S, -1, 0, 0, []])],
    ['a fractional seq', J([S, 1.5, 0, 0, []])],
    ['a seq of 1e300', J([S, 1e300, 0, 0, []])],
    ['a seq of 2^53', J([S, 2 ** 53, 0, 0, []])],
    ['acked above seq', J([S, 1, 2, 0, []])],
    ['a seen of null', J([S, 0, 0, null, []])],
    ['a seen of 1e300', J([S, 0, 0, 1e300, []])],
    ['a session with a space', J(['a b', 0, 0, 0, []])],
    ['an empty session', J(['', 0, 0, 0, []])],
    ['a session of 65 characters', J(['x'.repeat(65), 0, 0, 0, []])],
    ['a numeric session', J([5, 0, 0, 0, []])],
    ['unacked as a string', J([S, 1, 0, 0, 'x'])],
    ['unacked entries that are not pairs', J([S, 2, 0, 0, [1, 2]])],
    ['an unacked entry without a frame', J([S, 1, 0, 0, [[1]]])],
    ['unacked in decreasing order', J([S, 2, 0, 0, [[2, f(2)], [1, f(1)]]])],
    ['unacked twice the same', J([S, 2, 0, 0, [[1, f(1)], [1, f(1)]]])],
    ['unacked beyond seq', J([S, 1, 0, 0, [[2, f(2)]]])],
    ['unacked at or below acked', J([S, 2, 1, 0, [[1, f(1)]]])],
    ['an unacked frame numbered otherwise inside', J([S, 2, 0, 0, [[1, f(2)]]])],
    ['an unacked frame that is not an $m', J([S, 1, 0, 0, [[1, J(['m', 1])]]])],
    ['an unacked frame that is not JSON', J([S, 1, 0, 0, [[1, '{']]])],
  ])('discards %s with a storage error, starts a fresh session, and carries on', async (_, saved) => {
    const storage = memory({ [key]: saved });
    const s = protocolServer();
    const c = client(s.srv.url, { reliable: reliable(), queue: { storage } });
    const errors = record(c, 'error'); // added right after the constructor: still told
    await net();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'storage' });
    expect(errors[0]!.message).toContain(`bad saved state in queue.storage "${key}": discarded, new session`);
    const [, session, offset] = s.hellos[0]!;
    expect(session).toMatch(ID);
    expect(offset).toBe(0);
    expect(c.connection.state).toBe('open');
    // The entry is replaced, so the next page load starts clean.
    expect(JSON.parse(storage.map.get(key)!)).toEqual([session, 0, 0, 0, []]);
    c.send('m', 'x');
    await net();
    expect(s.stored).toEqual([['m', 'x']]);
    expect(errors).toHaveLength(1);
  });

  it('takes a valid entry as it is, without an error', async () => {
    const storage = memory({ [key]: J([S, 2, 1, 7, [[2, f(2)]]]) });
    const s = protocolServer();
    s.offset = 7;
    const c = client(s.srv.url, { reliable: reliable(), queue: { storage } });
    const errors = record(c, 'error');
    await net();
    expect(errors).toEqual([]);
    expect(s.hellos[0]).toEqual(['$hello', S, 7, true]);
    expect(s.stored).toEqual([['m', 2]]);
  });

  it('hands saved outbox messages on in order, numbered after the saved state; skips one handed on already, drops a corrupt one', async () => {
    const storage = memory({
      'surewire:outbox': J([[f(1), f(3), J(['$m', 1e300, 'm']), f(5), f(9)], []]),
      [key]: J([S, 9, 2, 0, []]),
    });
    const s = protocolServer();
    const c = client(s.srv.url, { reliable: reliable(), queue: { storage } });
    const errors = record(c, 'error');
    await net();
    expect(errors.map((e) => [e.code, e.message])).toEqual([['storage', 'surewire: a saved message numbered 1e+300 is corrupt: dropped']]);
    // 1 is at or below what the server acknowledged; 3, 5 and 9 go on as 3, 4 and 5.
    expect(s.arrived).toEqual([3, 4, 5]);
    expect(s.stored).toEqual([['m', 3], ['m', 5], ['m', 9]]);
    c.send('m', 'new');
    await net();
    expect(s.arrived).toEqual([3, 4, 5, 6]);
  });

});

describe('reliable: numbering without gaps (the server refuses a jump of more than 1000)', () => {
  it('gives the numbers of messages the outbox dropped to the next ones: 1500 sent offline into a queue of 10 go out as 1…10', async () => {
    const s = protocolServer();
    const d = reliable();
    const c = client(s.srv.url, { reliable: d, queue: { max: 10 }, autoConnect: false });
    for (let k = 1; k <= 1500; k++) c.send('m', k);
    c.connect();
    await net();
    expect(s.arrived).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(s.stored).toEqual(Array.from({ length: 10 }, (_, i) => ['m', 1491 + i]));
    await d.delivered();
    c.send('m', 'next');
    await net();
    expect(s.arrived.at(-1)).toBe(11);
    // Numbering goes on from there: the next frame needs no renumbering.
    expect(frames(s).at(-1)).toEqual(['$m', 11, 'm', 'next']);
  });

  it('with the queue off, 2000 messages dropped while offline leave no gap', async () => {
    const s = protocolServer();
    const d = reliable();
    const c = client(s.srv.url, { reliable: d, queue: false, autoConnect: false, reconnect: { initialDelay: 100, jitter: 0 } });
    for (let k = 1; k <= 2000; k++) expect(c.send('m', k)).toBe('dropped');
    c.connect();
    await net();
    c.send('m', 'online');
    await net();
    expect(s.arrived).toEqual([1]);
    await d.delivered();
  });

  it('delivered() called before a renumbering still waits for exactly the messages sent before it', async () => {
    const s = protocolServer({ ack: false });
    const d = reliable();
    const c = client(s.srv.url, { reliable: d, queue: { max: 2 }, autoConnect: false });
    for (let k = 1; k <= 5; k++) c.send('m', k); // 4 and 5 kept, numbered 4 and 5
    c.connect();
    await net();
    expect(s.arrived).toEqual([1, 2]);
    let before = false;
    void d.delivered().then(() => (before = true));
    c.send('m', 6);
    let after = false;
    void d.delivered().then(() => (after = true));
    await net();
    expect(s.arrived).toEqual([1, 2, 3]);
    s.socket!.send(JSON.stringify(['$ack', 2]));
    await net();
    expect([before, after]).toEqual([true, false]);
    s.socket!.send(JSON.stringify(['$ack', 3]));
    await net();
    expect(after).toBe(true);
  });
});

describe('reliable: the resuming flag of $hello', () => {
  it('is false for a session id just made, true on every later hello and after a reload', async () => {
    const storage = memory();
    const s = protocolServer();
    const c = client(s.srv.url, { reliable: reliable(), queue: { storage }, reconnect: { initialDelay: 100, jitter: 0 } });
    await net();
    s.srv.drop(1006);
    await tick(100);
    await net();
    c.close();
    client(s.srv.url, { reliable: reliable(), queue: { storage } });
    await net();
    expect(s.hellos.map((h) => h[3])).toEqual([false, true, true]);
    expect(new Set(s.hellos.map((h) => h[1])).size).toBe(1);
  });

  it('is false again after a corrupt saved state was discarded', async () => {
    const storage = memory({ 'surewire:outbox:reliable': '[1,2,3]' });
    const s = protocolServer();
    client(s.srv.url, { reliable: reliable(), queue: { storage } });
    await net();
    expect(s.hellos.map((h) => h[3])).toEqual([false]);
  });
});

describe('reliable: a storage that is full', () => {
  it('keeps the numbers right without the messages, so the next page load does not take the server for a liar', async () => {
    const map = new Map<string, string>();
    // Takes small values only, like a localStorage near its quota.
    const storage = {
      getItem: (k: string) => map.get(k) ?? null,
      setItem(k: string, v: string) {
        if (v.length > 150) throw new DOMException('quota', 'QuotaExceededError');
        map.set(k, v);
      },
    };
    const s = protocolServer({ ack: false });
    const first = client(s.srv.url, { reliable: reliable(), queue: { storage } });
    await net();
    for (let k = 1; k <= 5; k++) first.send('m', 'x'.repeat(40));
    await net();
    expect(s.stored).toHaveLength(5);
    const saved = JSON.parse(map.get('surewire:outbox:reliable')!);
    expect(saved.slice(1)).toEqual([5, 0, 0, []]);
    first.close();

    const second = client(s.srv.url, { reliable: reliable(), queue: { storage } });
    const errors = record(second, 'error');
    await net();
    expect(s.hellos.at(-1)?.slice(2)).toEqual([0, true]);
    expect(errors.filter((e) => e.code == 'protocol')).toEqual([]);
    expect(second.connection.state).toBe('open');
    second.send('m', 'after');
    await net();
    expect(s.stored.at(-1)).toEqual(['m', 'after']);
  });
});
