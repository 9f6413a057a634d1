// The client side of reliable delivery against a server that lies, on real sockets on loopback:
// - a hand-written protocol server (a real `ws` server, and a real socket.io one) that answers one connection
//   with a bad frame and the next ones honestly: the client must refuse the frame (a `protocol` error, the
//   connection closed with 4003 and retried after the backoff) with its state untouched — the next hello
//   carries the same offset, and every message not acknowledged honestly is sent again;
// - meanwhile a bystander reliable client on a second, honest connection (to `surewire/server`) sends both
//   ways and sees nothing lost, nothing twice, and no close;
// - corrupt `queue.storage` entries against `surewire/server` over ws and socket.io;
// - frame sizes against the real limits: `surewire/server`'s maxFrame and socket.io's maxHttpBufferSize.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { io } from 'socket.io-client';
import type { Socket } from 'socket.io';
import { Surewire } from '../src/client';
import { reliable as reliableClient, type Reliable } from '../src/reliable';
import { socketIo } from '../src/socket.io';
import { reliable, type ReliableServer } from '../src/server';
import type { SurewireError } from '../src/errors';
import type { CloseInfo } from '../src/connection';
import { NodeWebSocket } from './helpers/ws-client';
import { startWsServer } from './helpers/ws-server';
import { startSioServer } from './helpers/sio-server';
import { waitFor } from './helpers/wait';

const fast = { reconnect: { initialDelay: 10, maxDelay: 50, jitter: 0 } } as const;
const cleanups: (() => unknown)[] = [];
const later = (fn: () => unknown): void => void cleanups.push(fn);
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** A memory `localStorage`; `map` shows what was written. */
const memory = (init: Record<string, string> = {}) => {
  const map = new Map(Object.entries(init));
  return { map, getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v) };
};

/** Everything a client reports, for the checks. */
function watch(c: Surewire, d: Reliable) {
  const w = { errors: [] as SurewireError[], closes: [] as CloseInfo[], opens: 0, got: [] as unknown[], gaps: [] as unknown[] };
  c.connection.on('error', (e) => void w.errors.push(e));
  c.connection.on('close', (x) => void w.closes.push(x));
  c.connection.on('open', () => void w.opens++);
  c.on('news', (x: unknown) => void w.got.push(x));
  d.on('discontinuity', (g) => void w.gaps.push(g));
  return w;
}

// ---------------------------------------------------------------------------------------------------------
// The bystander: an honest surewire/server, and a reliable client on it for the whole file.

let honest: { server: ReliableServer; wss: WebSocketServer; url: string; handled: unknown[] };
let bystander: { c: Surewire; d: Reliable; got: unknown[]; closes: CloseInfo[]; sent: number; pushed: number };

beforeAll(async () => {
  const handled: unknown[] = [];
  const server = reliable({ onMessage: (_s, _e, n) => void handled.push(n), onError: () => {} });
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  wss.on('connection', (ws) => server.ws(ws));
  honest = { server, wss, url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}/`, handled };
  const d = reliableClient();
  const c = new Surewire(honest.url, { WebSocket: NodeWebSocket, reliable: d, ...fast });
  bystander = { c, d, got: [], closes: [], sent: 0, pushed: 0 };
  c.on('p', (n: unknown) => void bystander.got.push(n));
  c.connection.on('close', (x) => void bystander.closes.push(x));
  await waitFor(() => c.connection.state == 'open', 3000, 'the bystander open');
});

afterAll(async () => {
  bystander.c.close();
  await honest.server.close();
  await new Promise<void>((resolve) => honest.wss.close(() => resolve()));
});

/** Starts a burst both ways for the bystander; the returned check waits for it and finds nothing lost, twice, or closed. */
function bystanderRound(n = 20): () => Promise<void> {
  const b = bystander;
  const pushes: Promise<number>[] = [];
  for (let i = 0; i < n; i++) {
    b.c.send('m', ++b.sent);
    pushes.push(honest.server.send(b.d.session!, 'p', ++b.pushed));
  }
  return async () => {
    await Promise.all(pushes);
    await b.d.delivered();
    await waitFor(() => b.got.length >= b.pushed && honest.handled.length >= b.sent, 3000, 'the bystander round');
    expect(honest.handled).toEqual(Array.from({ length: b.sent }, (_, i) => i + 1));
    expect(b.got).toEqual(Array.from({ length: b.pushed }, (_, i) => i + 1));
    expect(b.closes).toEqual([]);
  };
}

// ---------------------------------------------------------------------------------------------------------
// The liar: connection k runs `lies[k - 1]` on its $hello; connections past the list are honest. Honest means:
// a $welcome with the last sequence number stored (on honest connections) and offset 2, the replay of the two
// messages of its history ('a' and 'b') after the client's offset, and an $ack for every message stored.

type Frame = unknown[];
interface LiarConn {
  /** The $hello's arguments. */
  hello: unknown[];
  send(...frame: Frame): void;
  /** Runs `fn` when the client's message `n` arrives on this connection. */
  after(n: number, fn: () => void): void;
  /** Ends the connection without a close frame (a network drop). */
  kill(): void;
}
type Lie = (l: LiarConn) => void;

const history: Frame[] = [
  ['$m', 1, 'news', 'a'],
  ['$m', 2, 'news', 'b'],
];

/** The protocol logic of the liar, over whatever carries frames (ws or socket.io). */
function liarLogic(lies: Lie[]) {
  const state = { seq: null as number | null, hellos: [] as unknown[][], stored: [] as unknown[][], arrived: [] as unknown[] };
  let conns = 0;
  /** One connection: returns the handler of its incoming frames. */
  const connection = (send: (f: Frame) => void, kill: () => void) => {
    const k = ++conns;
    const lie = lies[k - 1];
    const waits = new Map<number, () => void>();
    return (f: Frame): void => {
      const [event, ...args] = f;
      if (event == '$hello') {
        state.hellos.push(args);
        if (lie) return lie({ hello: args, send: (...x) => send(x), after: (n, fn) => void waits.set(n, fn), kill });
        const from = args[1] as number;
        send(['$welcome', state.seq, 2, from <= 2]);
        for (const m of history) if ((m[1] as number) > from) send(m);
      } else if (event == '$m') {
        state.arrived.push(args[0]);
        waits.get(args[0] as number)?.();
        if (lie) return;
        const n = args[0] as number;
        if (n > (state.seq ?? 0)) (state.seq = n), state.stored.push(args.slice(1));
        send(['$ack', state.seq]);
      }
    };
  };
  return { state, connection };
}

async function wsLiar(lies: Lie[]) {
  const logic = liarLogic(lies);
  const handlers = new Map<number, (f: Frame) => void>();
  const srv = await startWsServer({
    onConnection: (conn) =>
      void handlers.set(
        conn.id,
        logic.connection(
          (f) => conn.socket.send(JSON.stringify(f)),
          () => conn.socket.terminate(),
        ),
      ),
    onMessage: (frame, conn) => handlers.get(conn.id)!(JSON.parse(frame.data as string) as Frame),
  });
  later(() => srv.close());
  return {
    ...logic.state,
    url: srv.url('/?token=secret'),
    base: srv.url('/'),
    /** How the server saw connection `k` close. */
    closed: (k: number) => srv.connections[k - 1]?.closed?.code,
  };
}

async function sioLiar(lies: Lie[]) {
  const logic = liarLogic(lies);
  const srv = await startSioServer({
    onConnection: (socket: Socket) => {
      const handle = logic.connection(
        (f) => socket.emit(f[0] as string, ...f.slice(1)),
        () => socket.conn.close(),
      );
      socket.onAny((event: string, ...args: unknown[]) => handle([event, ...args]));
    },
  });
  later(() => srv.close());
  return {
    ...logic.state,
    url: srv.url('/'),
    base: srv.url('/'),
    closed: (k: number) => (srv.connections[k - 1]?.disconnected == 'client namespace disconnect' ? 4003 : undefined),
  };
}

interface Case {
  name: string;
  lies: Lie[];
  /** What the error says after the URL. */
  says: string;
  /** The offset of the first honest $hello: the one the client had before the lie. */
  offset?: number;
}

const welcomeWith =
  (...args: unknown[]): Lie =>
  (l) =>
    l.send('$welcome', ...args);
// An honest welcome (offset 2, resumed) and the first message of the history, then `frame`.
const afterA =
  (...frame: Frame): Lie =>
  (l) => {
    l.send('$welcome', null, 2, true);
    l.send(...history[0]!);
    l.send(...frame);
  };
// An honest welcome, then, once the client's two messages arrived (not stored), `frame`.
const afterTwo =
  (...frame: Frame): Lie =>
  (l) => {
    l.send('$welcome', null, 2, true);
    l.after(2, () => l.send(...frame));
  };

const cases: Case[] = [
  { name: '$welcome without arguments', lies: [welcomeWith()], says: 'sent $welcome [], expected [null or ≤ 0, offset (≥ 0 if resumed), boolean] once' },
  { name: '$welcome with a sequence number never sent', lies: [welcomeWith(2, 0, true)], says: 'sent $welcome [2,0,true]' },
  { name: '$welcome with a sequence number of 1e15', lies: [welcomeWith(1e15, 0, true)], says: 'sent $welcome [1000000000000000,0,true]' },
  { name: '$welcome with a fractional sequence number', lies: [welcomeWith(0.5, 0, true)], says: 'sent $welcome [0.5,0,true]' },
  { name: '$welcome with a fractional offset', lies: [welcomeWith(null, 1.5, false)], says: 'sent $welcome [null,1.5,false]' },
  { name: '$welcome with an offset of 2^53', lies: [welcomeWith(null, 2 ** 53, false)], says: 'sent $welcome [null,9007199254740992,false]' },
  { name: '$welcome with an offset of 1e308', lies: [welcomeWith(null, 1e308, false)], says: 'sent $welcome [null,1e+308,false]' },
  { name: '$welcome with a null offset', lies: [welcomeWith(null, null, false)], says: 'sent $welcome [null,null,false]' },
  { name: '$welcome with a string offset', lies: [welcomeWith(null, '2', false)], says: 'sent $welcome [null,"2",false]' },
  { name: '$welcome with a negative offset', lies: [welcomeWith(null, -1, false)], says: 'sent $welcome [null,-1,false]' },
  { name: '$welcome whose resumed is not a boolean', lies: [welcomeWith(null, 0, 'yes')], says: 'sent $welcome [null,0,"yes"]' },
  {
    name: '$welcome resumed at an offset below the client’s (backwards)',
    // First an honest stream of 'a' and 'b' (offset 2), cut; then a welcome "resumed" at 1.
    lies: [(l) => (l.send('$welcome', null, 2, true), l.send(...history[0]!), l.send(...history[1]!), setTimeout(l.kill, 50)), welcomeWith(null, 1, true)],
    says: 'sent $welcome [null,1,true], expected [null or ≤ 2, offset (≥ 2 if resumed), boolean] once',
    offset: 2,
  },
  { name: 'a second $welcome', lies: [(l) => (l.send('$welcome', null, 0, true), l.send('$welcome', null, 0, true))], says: 'sent $welcome [null,0,true]' },
  { name: 'no $welcome at all', lies: [() => {}], says: 'sent no $welcome in 300 ms: not a reliable server (see surewire/server)' },
  { name: '$m with an offset of 1e300', lies: [afterA('$m', 1e300, 'news', 'x')], says: 'sent $m 1e+300, expected 2 after $welcome', offset: 1 },
  { name: '$m that goes backwards', lies: [afterA('$m', 1, 'news', 'x')], says: 'sent $m 1, expected 2 after $welcome', offset: 1 },
  { name: '$m that skips an offset', lies: [afterA('$m', 3, 'news', 'x')], says: 'sent $m 3, expected 2 after $welcome', offset: 1 },
  { name: '$m with an offset of 2^53', lies: [afterA('$m', 2 ** 53, 'news', 'x')], says: 'sent $m 9007199254740992', offset: 1 },
  { name: '$m with a fractional offset', lies: [afterA('$m', 1.5, 'news', 'x')], says: 'sent $m 1.5', offset: 1 },
  { name: '$m with a null offset', lies: [afterA('$m', null, 'news', 'x')], says: 'sent $m null', offset: 1 },
  { name: '$m with a string offset', lies: [afterA('$m', '2', 'news', 'x')], says: 'sent $m "2"', offset: 1 },
  { name: '$m before $welcome', lies: [(l) => l.send(...history[0]!)], says: 'sent $m 1, expected 1 after $welcome' },
  { name: '$ack beyond the last message sent', lies: [afterTwo('$ack', 3)], says: 'sent $ack 3, expected ≤ 2 after $welcome' },
  { name: '$ack of 1e15', lies: [afterTwo('$ack', 1e15)], says: 'sent $ack 1000000000000000' },
  { name: '$ack of 1e308', lies: [afterTwo('$ack', 1e308)], says: 'sent $ack 1e+308' },
  { name: 'a fractional $ack', lies: [afterTwo('$ack', 1.5)], says: 'sent $ack 1.5' },
  { name: 'a null $ack', lies: [afterTwo('$ack', null)], says: 'sent $ack null' },
  { name: 'a string $ack', lies: [afterTwo('$ack', '2')], says: 'sent $ack "2"' },
  { name: 'a negative $ack', lies: [afterTwo('$ack', -1)], says: 'sent $ack -1' },
  { name: '$ack without a number', lies: [afterTwo('$ack')], says: 'sent $ack undefined' },
  { name: '$ack before $welcome', lies: [(l) => l.send('$ack', 0)], says: 'sent $ack 0, expected ≤ 0 after $welcome' },
];

/**
 * One case: a reliable client with two messages queued meets the liar. It must report the lie once, close
 * with 4003, come back after the backoff, and on the first honest connection say hello at the offset it had,
 * resend both messages (nothing forgotten), and get 'a' and 'b' exactly once (nothing skipped or doubled).
 */
async function run(liar: Awaited<ReturnType<typeof wsLiar>>, c: Surewire, d: Reliable, x: Case): Promise<void> {
  const round = bystanderRound();
  const w = watch(c, d);
  c.send('m', 1);
  c.send('m', 2);
  let done = false;
  void d.delivered().then(() => (done = true));
  c.connect();
  await waitFor(() => w.opens >= 1 && liar.stored.length == 2 && w.got.length == 2 && done, 3000, `${x.name}: the honest connection`);
  const protocol = w.errors.filter((e) => e.code == 'protocol');
  expect(protocol).toHaveLength(1);
  expect(protocol[0]!.message).toContain(`surewire: ${liar.base} ${x.says}`);
  expect(protocol[0]!.message).not.toContain('secret');
  expect(w.errors.filter((e) => e.code != 'protocol' && e.code != 'socket')).toEqual([]);
  expect(w.closes.filter((e) => e.code == 4003)).toEqual([{ code: 4003, reason: 'protocol violation', willReconnect: true }]);
  expect(liar.closed(x.lies.length)).toBe(4003);
  const honestHello = liar.hellos[x.lies.length]!;
  // The same session, where it was, and saying it had it before.
  expect(honestHello).toEqual([d.session, x.offset ?? 0, true]);
  expect(liar.stored).toEqual([['m', 1], ['m', 2]]);
  expect(w.got).toEqual(['a', 'b']);
  expect(w.gaps).toEqual([]);
  await round();
}

describe('reliable() against a lying server (ws), with a bystander on an honest one', () => {
  it.each(cases)('$name: refused, the connection replaced, the state untouched', async (x) => {
    const liar = await wsLiar(x.lies);
    const d = reliableClient({ helloTimeout: 300 });
    const c = new Surewire(liar.url, { WebSocket: NodeWebSocket, reliable: d, autoConnect: false, ...fast });
    later(() => c.close());
    await run(liar, c, d, x);
  });
});

describe('reliable() against a lying server (socket.io), with a bystander on an honest one', () => {
  const some = ['$welcome without arguments', '$welcome with an offset of 1e308', '$m with an offset of 1e300', '$m that goes backwards', '$ack beyond the last message sent', 'a string $ack', 'no $welcome at all'];
  it.each(cases.filter((x) => some.includes(x.name)))('$name: refused, the connection replaced, the state untouched', async (x) => {
    const liar = await sioLiar(x.lies);
    const d = reliableClient({ helloTimeout: 300 });
    const c = new Surewire(liar.url, { transport: socketIo(io, { transports: ['websocket'] }), reliable: d, autoConnect: false, ...fast });
    later(() => c.close());
    await run(liar, c, d, x);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Corrupt saved state, against surewire/server.

const KEY = 'surewire:outbox:reliable';
const S = 's'.repeat(22);
const corrupt: [string, string][] = [
  ['text that is not JSON', '{"'],
  ['a string where the state belongs', JSON.stringify('state')],
  ['an object where the array belongs', JSON.stringify({ session: S, seq: 1 })],
  ['a seq of 1e300', JSON.stringify([S, 1e300, 0, 0, []])],
  ['a negative seen', JSON.stringify([S, 0, 0, -1, []])],
  ['a session id that is not valid', JSON.stringify(['bad id!', 0, 0, 0, []])],
  ['unacked entries out of order', JSON.stringify([S, 2, 0, 0, [[2, JSON.stringify(['$m', 2, 'x'])], [1, JSON.stringify(['$m', 1, 'x'])]]])],
];

async function sioServer() {
  const handled: unknown[][] = [];
  const server = reliable({ onMessage: (s, e, ...a) => void handled.push([s, e, ...a]), onError: () => {} });
  const sio = await startSioServer({ onConnection: (socket) => server.socketIo(socket) });
  later(async () => (await server.close(), await sio.close()));
  return { server, handled, url: sio.url('/') };
}

async function wsServer(o: { maxFrame?: number } = {}) {
  const handled: unknown[][] = [];
  const server = reliable({ onMessage: (s, e, ...a) => void handled.push([s, e, ...a]), onError: () => {}, ...o });
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  wss.on('connection', (ws) => server.ws(ws));
  later(async () => {
    await server.close();
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
  return { server, handled, wss, url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}/` };
}

describe.each([
  ['ws', async () => ({ ...(await wsServer()), options: { WebSocket: NodeWebSocket } })],
  ['socket.io', async () => ({ ...(await sioServer()), options: { transport: socketIo(io, { transports: ['websocket'] }) } })],
])('reliable() with corrupt saved state, against surewire/server over %s', (_, serve) => {
  it.each(corrupt)('%s: discarded with a storage error, a fresh session, the client carries on', async (_what, saved) => {
    const round = bystanderRound();
    const { handled, url, options } = await serve();
    const storage = memory({ [KEY]: saved });
    const d = reliableClient();
    const c = new Surewire(url, { ...options, reliable: d, queue: { storage }, ...fast });
    later(() => c.close());
    const w = watch(c, d); // listeners added right after the constructor still hear of it
    c.send('m', 'after');
    await d.delivered();
    expect(w.errors.map((e) => e.code)).toEqual(['storage']);
    expect(w.errors[0]!.message).toContain(`bad saved state in queue.storage "${KEY}": discarded, new session`);
    expect(d.session).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(handled).toEqual([[d.session, 'm', 'after']]);
    expect(w.closes).toEqual([]);
    // What is stored now reads back without an error on the next page load.
    expect(JSON.parse(storage.map.get(KEY)!)[0]).toBe(d.session);
    c.close(); // the page goes
    const next = reliableClient();
    const again = new Surewire(url, { ...options, reliable: next, queue: { storage }, ...fast });
    later(() => again.close());
    const w2 = watch(again, next);
    again.send('m', 'reloaded');
    await next.delivered();
    expect(next.session).toBe(d.session);
    expect(w2.errors).toEqual([]);
    expect(handled).toEqual([
      [d.session, 'm', 'after'],
      [d.session, 'm', 'reloaded'],
    ]);
    await round();
  });
});

// ---------------------------------------------------------------------------------------------------------
// Numbering: surewire/server refuses (1008, for good) a sequence number more than 1000 past the stored one.

describe('reliable() numbering against surewire/server', () => {
  it('1500 messages sent offline into a queue of 10: the 10 kept go out as 1…10 and are handled once, in order', async () => {
    const { handled, url, wss } = await wsServer();
    const numbers: unknown[] = [];
    wss.on('connection', (ws) => ws.on('message', (m) => (String(m).startsWith('["$m",') ? numbers.push(JSON.parse(String(m))[1]) : undefined)));
    const d = reliableClient();
    const c = new Surewire(url, { WebSocket: NodeWebSocket, reliable: d, queue: { max: 10 }, autoConnect: false, ...fast });
    later(() => c.close());
    const w = watch(c, d);
    for (let k = 1; k <= 1500; k++) c.send('m', k);
    c.connect();
    await d.delivered();
    c.send('m', 'online');
    await d.delivered();
    expect(handled.map((h) => h[2])).toEqual([...Array.from({ length: 10 }, (_, i) => 1491 + i), 'online']);
    expect(numbers).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    expect(w.closes).toEqual([]);
    expect(w.errors).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Frame sizes against the real limits.

describe('reliable() frame sizes against the real limits', () => {
  it('over ws: the default maxFrame (990000 bytes) gets through surewire/server’s default (1 MiB); more is refused at send', async () => {
    const { handled, url } = await wsServer();
    const d = reliableClient();
    const c = new Surewire(url, { WebSocket: NodeWebSocket, reliable: d, ...fast });
    later(() => c.close());
    const w = watch(c, d);
    // ["$m",1,"big","…"]: 17 bytes around the text.
    const fits = 'x'.repeat(990_000 - 17);
    expect(() => c.send('big', '€'.repeat(400_000))).toThrow(expect.objectContaining({ code: 'encode' }));
    expect(() => c.send('big', '€'.repeat(400_000))).toThrow('"big" is 1200017 bytes, over reliable.maxFrame (990000): split it');
    c.send('big', fits);
    await d.delivered();
    expect(handled).toEqual([[d.session, 'big', fits]]);
    expect(w.closes).toEqual([]);
  });

  it('over socket.io: a packet is measured as JSON plus binary; the default gets through maxHttpBufferSize (1e6)', async () => {
    const { handled, url } = await sioServer();
    const d = reliableClient();
    const c = new Surewire(url, { transport: socketIo(io, { transports: ['websocket'] }), reliable: d, ...fast });
    later(() => c.close());
    const w = watch(c, d);
    // [1,"big","…"]: 12 bytes around the text.
    const fits = 'x'.repeat(990_000 - 12);
    for (const args of [['x'.repeat(990_000 - 11)], ['€'.repeat(400_000)], [Buffer.alloc(600_000), Buffer.alloc(400_000)]]) {
      let e: unknown;
      try {
        c.send('big', ...args);
      } catch (x) {
        e = x;
      }
      expect(e).toMatchObject({ code: 'encode' });
      expect((e as Error).message).toContain('over reliable.maxFrame (990000)');
    }
    c.send('big', fits);
    c.send('bin', Buffer.alloc(900_000, 1));
    await d.delivered();
    expect(handled.map((h) => [h[1], (h[2] as { length: number }).length])).toEqual([
      ['big', fits.length],
      ['bin', 900_000],
    ]);
    expect(w.closes).toEqual([]);
  });

  it('a message surewire/server refuses with 1009 is dropped at the second 1009 and reported; the rest is delivered once, in order', async () => {
    const round = bystanderRound();
    const { handled, url } = await wsServer({ maxFrame: 2000 });
    const d = reliableClient({ maxFrame: 100_000 });
    const c = new Surewire(url, { WebSocket: NodeWebSocket, reliable: d, ...fast });
    later(() => c.close());
    const w = watch(c, d);
    const drops: unknown[] = [];
    d.on('drop', (x) => void drops.push(x));
    await waitFor(() => w.opens == 1, 2000, 'open');
    c.send('m', 1);
    c.send('big', 'x'.repeat(5000));
    c.send('m', 3);
    await d.delivered();
    await waitFor(() => handled.length == 2, 2000, 'the two small messages');
    expect(handled).toEqual([
      [d.session, 'm', 1],
      [d.session, 'm', 3],
    ]);
    expect(drops).toEqual([{ message: { event: 'big', args: ['x'.repeat(5000)] }, frame: JSON.stringify(['$m', 2, 'big', 'x'.repeat(5000)]), reason: 'too-big' }]);
    expect(w.closes.map((x) => x.code)).toEqual([1009, 1009]);
    await round();
    expect(w.closes).toHaveLength(2);
  });
});
