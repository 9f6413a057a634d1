// `surewire/server` over a real `ws` server: PROTOCOL.md frame by frame, with raw protocol clients.
// Real sockets and timers; every wait is on a frame or a close, `delay` only opens an observation window
// for something that must NOT happen.
import { describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { memoryStore, reliable, type Store } from '../../src/server';
import { ACK_EVERY } from '../../src/server/session';
import { ProtocolClient, ReliableRawClient } from '../helpers/protocol-client';
import { startTcpProxy } from '../helpers/tcp-proxy';
import { delay, deferred, waitFor } from '../helpers/wait';
import { watchTimers } from '../helpers/leaks';
import { cleanup, flakyStore, serveWs, sid } from './fixtures';

async function hello(url: string, session: string, offset = 0) {
  const r = await ProtocolClient.hello(url, session, offset);
  cleanup(() => r.client.kill());
  return r;
}

async function open(url: string) {
  const c = await ProtocolClient.open(url);
  cleanup(() => c.kill());
  return c;
}

describe('hello and welcome', () => {
  it('welcomes a new session with seq null, offset 0, resumed', async () => {
    const { url } = await serveWs();
    const { welcome } = await hello(url, sid());
    expect(welcome).toEqual({ seq: null, offset: 0, resumed: true });
  });

  it('welcomes a known session with its last sequence number and offset', async () => {
    const { url, server } = await serveWs();
    const s = sid();
    const a = await hello(url, s);
    a.client.send('$m', 1, 'chat', 'a');
    a.client.send('$m', 2, 'chat', 'b');
    await a.client.ackOf(2);
    await server.send(s, 'news', 1);
    await a.client.until(() => a.client.messages().length == 1, '$m');
    a.client.kill();
    const b = await hello(url, s, 1);
    expect(b.welcome).toEqual({ seq: 2, offset: 1, resumed: true });
  });

  it('takes any sequence number above the stored one as new (numbers may skip: the outbox dropped one unsent)', async () => {
    const { url, of } = await serveWs();
    const s = sid();
    const { client } = await hello(url, s);
    client.send('$m', 1, 'e', 1);
    client.send('$m', 4, 'e', 4);
    client.send('$m', 3, 'e', 3); // below the stored 4 now: a duplicate
    client.send('$m', 9, 'e', 9);
    await client.ackOf(9);
    expect(of(s)).toEqual([
      ['e', 1],
      ['e', 4],
      ['e', 9],
    ]);
    expect(client.open).toBe(true);
  });

  it('takes the first sequence number of an unknown session as its start', async () => {
    const { url, of } = await serveWs();
    const s = sid();
    const { client } = await hello(url, s);
    client.send('$m', 7, 'chat', 'x');
    client.send('$m', 8, 'chat', 'y');
    expect(await client.ackOf(8)).toBe(8);
    expect(of(s)).toEqual([['chat', 'x'], ['chat', 'y']]);
    client.kill();
    expect((await hello(url, s)).welcome.seq).toBe(8);
  });

  it('does not resume a client whose offset the server never reached (its state was lost)', async () => {
    const { url } = await serveWs();
    const { client, welcome } = await hello(url, sid(), 5);
    expect(welcome).toEqual({ seq: null, offset: 0, resumed: false });
    await delay(30);
    expect(client.messages()).toEqual([]);
  });

  it('tolerates an $ack up to the $hello offset before the $welcome (a timer left from the last connection)', async () => {
    const { url, server } = await serveWs();
    const s = sid();
    for (let i = 1; i <= 3; i++) await server.send(s, 'n', i);
    const c = await open(url);
    c.send('$hello', s, 2);
    c.send('$ack', 2);
    expect(await c.welcome()).toEqual({ seq: null, offset: 3, resumed: true });
    await c.until(() => c.messages().length == 1, 'replay');
    c.send('$ack', 3);
    await delay(30);
    expect(c.open).toBe(true);
  });

  it('holds what comes after $hello while authenticate is pending, and handles it once the $welcome is out', async () => {
    const gate = deferred<string>();
    const { url, of } = await serveWs({ authenticate: () => gate.promise });
    const c = await open(url);
    const s = sid();
    c.send('$hello', s, 0);
    c.send('$m', 1, 'e', 'early');
    c.raw(JSON.stringify({ id: 1, event: 'ask', args: [] }));
    await delay(30);
    expect(of(s)).toEqual([]);
    gate.resolve('alice');
    await c.ackOf(1);
    expect(of(s)).toEqual([['e', 'early']]);
    expect(c.of('$welcome')).toEqual([[null, 0, true]]);
  });

  it('closes with 1013 when authenticate does not answer within helloTimeout (the client tries again)', async () => {
    const { url } = await serveWs({ helloTimeout: 50, authenticate: () => new Promise<string>(() => {}) });
    const c = await open(url);
    c.send('$hello', sid(), 0);
    expect(await c.closeOf()).toEqual({ code: 1013, reason: 'no $welcome in time: authentication or the store is slow' });
  });

  it('without authenticate, counts its limits per remote address, also when the app passes no request', async () => {
    const server = reliable({ onMessage() {}, maxSessionsPerPrincipal: 1 });
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    wss.on('connection', (ws) => server.ws(ws));
    cleanup(async () => (await server.close(), wss.clients.forEach((c) => c.terminate()), await new Promise((r) => wss.close(r))));
    const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;
    const from = async (localAddress: string) => {
      const c = new WebSocket(url, { localAddress });
      cleanup(() => c.terminate());
      await new Promise((r) => c.once('open', r));
      c.send(JSON.stringify(['$hello', sid(), 0]));
      return new Promise<unknown>((resolve) => (c.once('message', (d) => resolve(JSON.parse(String(d))[0])), c.once('close', (code) => resolve(code))));
    };
    expect(await from('127.0.0.1')).toBe('$welcome');
    expect(await from('127.0.0.2')).toBe('$welcome');
    expect(await from('127.0.0.1')).toBe(1013);
  });

  it('speaks through a custom codec', async () => {
    const codec = {
      encode: (p: { event?: string; args: unknown[] }) => JSON.stringify({ type: p.event, data: p.args }),
      decode: (f: unknown) => {
        const m = JSON.parse(String(f));
        return { event: m.type, args: m.data };
      },
    };
    const { url, of } = await serveWs({ codec });
    const s = sid();
    const c = await open(url);
    c.raw(JSON.stringify({ type: '$hello', data: [s, 0] }));
    await c.until(() => c.texts.some((t) => t.includes('$welcome')), '$welcome');
    c.raw(JSON.stringify({ type: '$m', data: [1, 'chat', 'hi'] }));
    await c.until(() => c.texts.some((t) => t.includes('$ack')), '$ack');
    expect(c.texts.map((t) => JSON.parse(t))).toEqual([
      { type: '$welcome', data: [null, 0, true] },
      { type: '$ack', data: [1] },
    ]);
    expect(of(s)).toEqual([['chat', 'hi']]);
    // A protocol frame the codec decodes without an argument array is malformed.
    c.raw(JSON.stringify({ type: '$m' }));
    expect((await c.closeOf()).code).toBe(1008);
  });

  it('answers ping with pong, before and after $hello', async () => {
    const { url } = await serveWs();
    const c = await open(url);
    c.raw('["ping"]');
    await c.until(() => c.of('pong').length == 1, 'pong');
    c.send('$hello', sid(), 0);
    await c.welcome();
    c.raw('["ping"]');
    await c.until(() => c.of('pong').length == 2, 'second pong');
  });

  it('passes non-protocol frames after $hello to onFrame, with the session and the decoded packet', async () => {
    const seen: unknown[] = [];
    const { url, server } = await serveWs({
      onFrame(ws, frame, info) {
        seen.push([frame, info]);
        if (info.packet?.id != null) ws.send(JSON.stringify({ id: info.packet.id, result: server.session(ws) }));
      },
    });
    const s = sid();
    const { client } = await hello(url, s);
    client.send('typing', 'ada');
    client.raw(JSON.stringify({ id: 3, event: 'whoami', args: [] }));
    client.raw('not json');
    const reply = await client.until(() => client.texts.find((t) => t.includes('"id":3')), 'reply');
    expect(JSON.parse(reply)).toEqual({ id: 3, result: s });
    await waitFor(() => seen.length == 3);
    expect(seen).toEqual([
      ['["typing","ada"]', { session: s, packet: { event: 'typing', args: ['ada'] } }],
      ['{"id":3,"event":"whoami","args":[]}', { session: s, packet: { id: 3, event: 'whoami', args: [] } }],
      ['not json', { session: s, packet: undefined }],
    ]);
  });
});

describe('client → server: dedupe, order, acks', () => {
  it('hands each sequence number to onMessage once, and acknowledges resends again', async () => {
    const { url, of } = await serveWs();
    const s = sid();
    const a = await hello(url, s);
    for (const n of [1, 2, 3]) a.client.send('$m', n, 'chat', n);
    await a.client.ackOf(3);
    const acks = a.client.acks().length;
    a.client.send('$m', 2, 'chat', 2);
    a.client.send('$m', 3, 'chat', 3);
    await a.client.until(() => a.client.acks().length > acks, 'a second $ack');
    expect(a.client.acks().at(-1)).toBe(3);
    a.client.kill();
    // After a reconnect, a client that missed the acks resends everything.
    const b = await hello(url, s);
    expect(b.welcome.seq).toBe(3);
    for (const n of [1, 2, 3, 4]) b.client.send('$m', n, 'chat', n);
    await b.client.ackOf(4);
    expect(of(s)).toEqual([1, 2, 3, 4].map((n) => ['chat', n]));
  });

  it('batches acks: one cumulative $ack covers a burst', async () => {
    const { url, of } = await serveWs({ ackDelay: 20 });
    const s = sid();
    const { client } = await hello(url, s);
    for (let n = 1; n <= 300; n++) client.send('$m', n, 'e', n);
    await client.ackOf(300);
    await delay(40);
    const acks = client.acks();
    expect(of(s)).toHaveLength(300);
    expect(acks.length).toBeLessThan(10);
    expect(acks).toEqual([...acks].sort((x, y) => x - y));
    expect(new Set(acks).size).toBe(acks.length);
    expect(acks.at(-1)).toBe(300);
  });

  it(`acknowledges at once every ${ACK_EVERY} messages, so a client with a full window does not wait out the delay`, async () => {
    const handled: unknown[] = [];
    const { url } = await serveWs({ ackDelay: 60_000, onMessage: (_s, _e, n) => void handled.push(n) });
    const { client } = await hello(url, sid());
    for (let n = 1; n <= 300; n++) client.send('$m', n, 'e', n);
    await client.ackOf(2 * ACK_EVERY);
    await waitFor(() => handled.length == 300, 2000, 'all handled');
    await delay(20);
    // The last 44 wait for the (long) delay: below the threshold, acknowledgements stay batched.
    expect(client.acks()).toEqual([ACK_EVERY, 2 * ACK_EVERY]);
  });

  it('acknowledges only once the async handler has settled, and handles one message at a time', async () => {
    const gate = deferred<void>();
    let running = 0;
    let overlap = false;
    const { url } = await serveWs({
      async onMessage(_s, _e, n) {
        overlap ||= running++ > 0;
        if (n == 1) await gate.promise;
        else await delay(1);
        running--;
      },
    });
    const s = sid();
    const { client } = await hello(url, s);
    client.send('$m', 1, 'e', 1);
    client.send('$m', 2, 'e', 2);
    await delay(40);
    expect(client.acks()).toEqual([]);
    gate.resolve();
    await client.ackOf(2);
    expect(overlap).toBe(false);
  });

  it('keeps each session in order over a store whose calls take random time, sessions running concurrently', async () => {
    const store = flakyStore();
    store.jitter = 4;
    const order: Record<string, number[]> = {};
    const { url } = await serveWs({ store, onMessage: (s, _e, n) => void (order[s] ??= []).push(n as number) });
    const ids = [sid(), sid(), sid()];
    const clients = await Promise.all(ids.map((s) => hello(url, s)));
    for (let n = 1; n <= 40; n++) for (const { client } of clients) client.send('$m', n, 'e', n);
    await Promise.all(clients.map(({ client }) => client.ackOf(40, 5000)));
    for (const s of ids) expect(order[s]).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('reports a handler that throws, acknowledges its message and does not hand it over again', async () => {
    const calls: unknown[] = [];
    const { url, errors } = await serveWs({
      onMessage(_s, _e, n) {
        calls.push(n);
        if (n == 1) throw new Error('app bug');
      },
    });
    const s = sid();
    const a = await hello(url, s);
    a.client.send('$m', 1, 'e', 1);
    a.client.send('$m', 2, 'e', 2);
    await a.client.ackOf(2);
    a.client.kill();
    const b = await hello(url, s);
    b.client.send('$m', 1, 'e', 1);
    await b.client.ackOf(1);
    expect(calls).toEqual([1, 2]);
    expect(errors).toEqual([expect.objectContaining({ message: 'app bug' })]);
  });
});

describe('server → client: offsets, replay, history', () => {
  it('delivers live with offsets from 1, and replays after a reconnect (resumed: true)', async () => {
    const { url, server } = await serveWs();
    const s = sid();
    const a = await hello(url, s);
    expect(await server.send(s, 'n', 'one')).toBe(1);
    expect(await server.send(s, 'n', 'two')).toBe(2);
    await a.client.until(() => a.client.messages().length == 2, 'two $m');
    expect(a.client.messages()).toEqual([
      [1, 'n', 'one'],
      [2, 'n', 'two'],
    ]);
    a.client.kill();
    // Sent while the client is away: kept in the history.
    await server.send(s, 'n', 'three');
    await server.send(s, 'n', 'four', { x: 1 });
    const b = await hello(url, s, 2);
    expect(b.welcome).toEqual({ seq: null, offset: 4, resumed: true });
    await b.client.until(() => b.client.messages().length == 2, 'replay');
    expect(b.client.frames.map((f) => f[0])).toEqual(['$welcome', '$m', '$m']);
    expect(b.client.messages()).toEqual([
      [3, 'n', 'three'],
      [4, 'n', 'four', { x: 1 }],
    ]);
    // Live messages continue after the replay.
    await server.send(s, 'n', 'five');
    await b.client.until(() => b.client.messages().length == 3, 'live $m');
    expect(b.client.messages()[2]).toEqual([5, 'n', 'five']);
  });

  it('says resumed: false when the history no longer reaches back, and replays nothing', async () => {
    const { url, server } = await serveWs({ store: memoryStore({ history: 3 }) });
    const s = sid();
    for (let i = 1; i <= 10; i++) await server.send(s, 'n', i);
    const late = await hello(url, s, 6);
    expect(late.welcome).toEqual({ seq: null, offset: 10, resumed: false });
    late.client.kill();
    // Within the last 3: replayed.
    const recent = await hello(url, s, 7);
    expect(recent.welcome).toEqual({ seq: null, offset: 10, resumed: true });
    await recent.client.until(() => recent.client.messages().length == 3, 'replay');
    expect(recent.client.messages().map((m) => m[0])).toEqual([8, 9, 10]);
    await delay(20);
    expect(late.client.messages()).toEqual([]);
  });

  it('trims the history up to what the client acknowledged', async () => {
    const store = memoryStore();
    const { url, server } = await serveWs({ store });
    const s = sid();
    const { client } = await hello(url, s);
    for (let i = 1; i <= 5; i++) await server.send(s, 'n', i);
    await client.until(() => client.messages().length == 5, '5 $m');
    expect(await store.since(s, 0)).toHaveLength(5);
    client.send('$ack', 3);
    while ((await store.since(s, 0)) !== undefined) await delay(5);
    expect((await store.since(s, 3))!.map((m) => m.offset)).toEqual([4, 5]);
  });

  it('loses and repeats nothing sent while a client is being welcomed (between the replay and live delivery)', async () => {
    const store = flakyStore();
    const { url, server } = await serveWs({ store });
    const s = sid();
    await server.send(s, 'n', 1);
    await server.send(s, 'n', 2);
    // The store has read the history for the replay, and its answer is on its way back…
    const gate = deferred<void>();
    store.hold.set('since', gate.promise);
    const c = await open(url);
    c.send('$hello', s, 0);
    await waitFor(() => store.calls.includes(`since:${s}`));
    // …when the app sends a third message: it must neither be lost (appended after the read, not live yet)
    // nor come twice, nor before the replay.
    const third = server.send(s, 'n', 3);
    await delay(20);
    gate.resolve();
    expect(await third).toBe(3);
    await c.until(() => c.messages().length >= 3, 'three $m');
    await delay(20);
    expect(c.frames).toEqual([
      ['$welcome', null, 2, true],
      ['$m', 1, 'n', 1],
      ['$m', 2, 'n', 2],
      ['$m', 3, 'n', 3],
    ]);
  });

  it('with a shared store, delivers what another process appended before its own next message, in order', async () => {
    const store = memoryStore();
    const { url, server } = await serveWs({ store });
    const elsewhere = reliable({ store, onMessage() {} });
    cleanup(() => elsewhere.close());
    const s = sid();
    const { client } = await hello(url, s);
    await server.send(s, 'n', 'here 1');
    expect(await elsewhere.send(s, 'n', 'elsewhere 2')).toBe(2);
    expect(await elsewhere.send(s, 'n', 'elsewhere 3')).toBe(3);
    await server.send(s, 'n', 'here 4');
    await client.until(() => client.messages().length == 4, 'four $m');
    expect(client.messages()).toEqual([
      [1, 'n', 'here 1'],
      [2, 'n', 'elsewhere 2'],
      [3, 'n', 'elsewhere 3'],
      [4, 'n', 'here 4'],
    ]);
  });

  it('closes with 1013 when the store lost a connected session (its offsets went back); the reconnect is told', async () => {
    // A store that loses everything at once (a shared store flushed, say): memoryStore never forgets a held session.
    let base = memoryStore();
    const store: Store = {
      open: (...a) => base.open(...a),
      accept: (...a) => base.accept(...a),
      append: (...a) => base.append(...a),
      since: (...a) => base.since(...a),
    };
    const { url, server } = await serveWs({ store });
    const s = sid();
    const a = await hello(url, s);
    await server.send(s, 'n', 1);
    await server.send(s, 'n', 2);
    await a.client.until(() => a.client.messages().length == 2, 'two $m');
    base = memoryStore();
    expect(await server.send(s, 'n', 'again')).toBe(1);
    expect((await a.client.closeOf()).code).toBe(1013);
    expect(a.client.messages()).toHaveLength(2);
    const b = await hello(url, s, 2);
    expect(b.welcome).toEqual({ seq: null, offset: 1, resumed: false });
  });

  it('lets a handler await send() to its own session (no deadlock)', async () => {
    let server!: ReturnType<typeof reliable>;
    const served = await serveWs({ onMessage: async (s, e, ...a) => void (await server.send(s, `re:${e}`, ...a)) });
    server = served.server;
    const { client } = await hello(served.url, sid());
    client.send('$m', 1, 'echo', 'hi');
    await client.ackOf(1);
    expect(client.messages()).toEqual([[1, 're:echo', 'hi']]);
  });

  it('broadcasts to every known session; one offline gets it on its reconnect', async () => {
    const { url, server } = await serveWs();
    const [s1, s2] = [sid(), sid()];
    const a = await hello(url, s1);
    const b = await hello(url, s2);
    b.client.kill();
    expect(await server.broadcast('all', 'x')).toBe(2);
    await a.client.until(() => a.client.messages().length == 1, '$m');
    expect(a.client.messages()).toEqual([[1, 'all', 'x']]);
    const b2 = await hello(url, s2);
    await b2.client.until(() => b2.client.messages().length == 1, 'replay');
    expect(b2.client.messages()).toEqual([[1, 'all', 'x']]);
  });

  it('refuses protocol event names and bad session ids in send()', async () => {
    const { server } = await serveWs();
    await expect(server.send(sid(), '$m', 1)).rejects.toThrow(expect.objectContaining({ name: 'OptionError', option: 'event' }));
    await expect(server.send('bad id!', 'x')).rejects.toThrow(expect.objectContaining({ name: 'OptionError', option: 'session' }));
  });
});

describe('takeover', () => {
  it('a newer connection takes the session over: the older one is closed with 1001', async () => {
    const { url, server, of } = await serveWs();
    const s = sid();
    const a = await hello(url, s);
    a.client.send('$m', 1, 'e', 'from a');
    await a.client.ackOf(1);
    const b = await hello(url, s);
    expect(b.welcome.seq).toBe(1);
    expect(await a.client.closeOf()).toEqual({ code: 1001, reason: 'session taken over' });
    await server.send(s, 'n', 'to b');
    await b.client.until(() => b.client.messages().length == 1, '$m');
    b.client.send('$m', 2, 'e', 'from b');
    await b.client.ackOf(2);
    expect(of(s)).toEqual([
      ['e', 'from a'],
      ['e', 'from b'],
    ]);
    expect(a.client.messages()).toEqual([]);
  });
});

// Each bad input closes only the offending connection, with its code; a bystander session goes on untouched.
describe('bad input', () => {
  type Case = [name: string, code: number, act: (c: ProtocolClient, s: string) => void, o?: Parameters<typeof serveWs>[0]];
  const hello0 = (c: ProtocolClient, s: string) => c.send('$hello', s, 0);
  const cases: Case[] = [
    ['a plain event before $hello', 1008, (c) => c.send('chat', 'hi')],
    ['a frame that is not JSON before $hello', 1008, (c) => c.raw('garbage')],
    ['$m before $hello', 1008, (c) => c.send('$m', 1, 'e')],
    ['no $hello in time', 1008, () => {}, { helloTimeout: 50 }],
    ['$hello with a session id that is too long', 1008, (c) => c.send('$hello', 'x'.repeat(65), 0)],
    ['$hello with a bad character in the session id', 1008, (c) => c.send('$hello', 'a b', 0)],
    ['$hello with a numeric session id', 1008, (c) => c.send('$hello', 42, 0)],
    ['$hello with a negative offset', 1008, (c, s) => c.send('$hello', s, -1)],
    ['$hello with a fractional offset', 1008, (c, s) => c.send('$hello', s, 1.5)],
    ['$hello with a string offset', 1008, (c, s) => c.send('$hello', s, '0')],
    ['$hello without an offset', 1008, (c, s) => c.send('$hello', s)],
    ['$hello as a request', 1008, (c, s) => c.raw(JSON.stringify({ id: 1, event: '$hello', args: [s, 0] }))],
    ['a second $hello', 1008, (c, s) => (hello0(c, s), hello0(c, s))],
    ['$m with sequence number 0', 1008, (c, s) => (hello0(c, s), c.send('$m', 0, 'e'))],
    ['$m with a string sequence number', 1008, (c, s) => (hello0(c, s), c.send('$m', '1', 'e'))],
    ['$m without an event', 1008, (c, s) => (hello0(c, s), c.send('$m', 1))],
    ['$m carrying a $ event', 1008, (c, s) => (hello0(c, s), c.send('$m', 1, '$hello', 'x', 0))],
    ['$ack with a string', 1008, (c, s) => (hello0(c, s), c.send('$ack', 'x'))],
    ['$ack with a negative number', 1008, (c, s) => (hello0(c, s), c.send('$ack', -1))],
    ['$ack beyond the last offset sent', 1008, (c, s) => (hello0(c, s), c.send('$ack', 1))],
    ['an unknown $ event', 1008, (c, s) => (hello0(c, s), c.send('$resume', 1))],
    ['an unknown $ event with a long name (the close reason stays within 123 bytes)', 1008, (c, s) => (hello0(c, s), c.send('$' + 'é'.repeat(500)))],
    ['an oversized frame', 1009, (c, s) => (hello0(c, s), c.send('$m', 1, 'e', 'x'.repeat(2000))), { maxFrame: 1000 }],
    [
      'a flood (more messages awaiting the store than maxPending)',
      1013,
      (c, s) => {
        hello0(c, s);
        for (let n = 1; n <= 20; n++) c.send('$m', n, 'e');
      },
      { maxPending: 5, onMessage: () => delay(20) },
    ],
  ];

  it.each(cases)('%s → %i', async (_name, code, act, o) => {
    const { url, server, of, handled } = await serveWs(o);
    const bystander = sid('bystander');
    const b = await hello(url, bystander);
    b.client.send('$m', 1, 'e', 'before');
    await b.client.ackOf(1, 3000);
    await server.send(bystander, 'n', 1);

    const bad = await open(url);
    act(bad, bystander.replace('bystander', 'bad'));
    const closed = await bad.closeOf();
    expect(closed.code).toBe(code);
    // `ws` itself refuses a frame over `maxPayload` (set to maxFrame), from its header, without a reason.
    if (code != 1009) expect(closed.reason).not.toBe('');

    // The bystander's session is untouched: its sequence and offsets go on, and it is still attached.
    b.client.send('$m', 2, 'e', 'after');
    await b.client.ackOf(2, 3000);
    expect(await server.send(bystander, 'n', 2)).toBe(2);
    await b.client.until(() => b.client.messages().length == 2, 'two $m');
    expect(b.client.messages().map((m) => m[0])).toEqual([1, 2]);
    expect(b.client.open).toBe(true);
    expect(of(bystander).map((m) => m[1])).toEqual(['before', 'after']);
    // Nothing of the bad connection reached the app, except what it was allowed before breaking the rules.
    expect(handled.filter((h) => h[0] != bystander).length).toBeLessThanOrEqual(1);
  });
});

describe('store failures', () => {
  it('a store that throws on accept closes with 1013; once it recovers, the resend is handled once', async () => {
    const store = flakyStore();
    const { url, of, server } = await serveWs({ store });
    const other = sid('other');
    const o = await hello(url, other);
    const s = sid();
    const a = await hello(url, s);
    store.fail.add('accept');
    a.client.send('$m', 1, 'e', 1);
    expect((await a.client.closeOf()).code).toBe(1013);
    expect(of(s)).toEqual([]);
    store.fail.delete('accept');
    const b = await hello(url, s);
    expect(b.welcome.seq).toBe(null);
    b.client.send('$m', 1, 'e', 1);
    await b.client.ackOf(1);
    expect(of(s)).toEqual([['e', 1]]);
    // The other session never noticed.
    o.client.send('$m', 1, 'e', 'ok');
    await o.client.ackOf(1);
    expect(await server.send(other, 'n')).toBe(1);
    expect(o.client.open).toBe(true);
  });

  it('a store that throws at $hello closes with 1013, before any $welcome', async () => {
    const store = flakyStore();
    const { url } = await serveWs({ store });
    store.fail.add('open');
    const c = await open(url);
    c.send('$hello', sid(), 0);
    expect((await c.closeOf()).code).toBe(1013);
    expect(c.of('$welcome')).toEqual([]);
  });

  it('a store that throws on append rejects send()', async () => {
    const store = flakyStore();
    const { server } = await serveWs({ store });
    store.fail.add('append');
    await expect(server.send(sid(), 'n')).rejects.toThrow('store.append failed');
  });
});

describe('exactly once across reconnects', () => {
  it('onMessage sees every sequence number once, in order, over 20 cut connections; the server stream arrives once, in order', async () => {
    const store = flakyStore();
    store.jitter = 2;
    const handled: unknown[][] = [];
    const { port, server } = await serveWs({
      store,
      // A longer ack delay keeps a window open in which messages are stored but not acknowledged yet.
      ackDelay: 20,
      // A handler that sometimes takes a while, so that cuts also land while one is in progress.
      onMessage: async (s, e, ...a) => {
        if (Math.random() < 0.1) await delay(2);
        handled.push([s, e, ...a]);
      },
    });
    const proxy = await startTcpProxy({ port });
    cleanup(() => proxy.close());
    const s = sid();
    const client = new ReliableRawClient(s);
    cleanup(() => client.stop());
    let sent = 0;
    let pushed = 0;
    for (let round = 0; round < 20; round++) {
      await client.connect(proxy.url());
      // Messages both ways while the connection lives; the network drops mid-stream, once the server has
      // made some progress (a random share of the messages acknowledged), with more still in flight.
      for (let i = 0; i < 25; i++) client.send('m', ++sent);
      const pushes = Array.from({ length: 5 }, () => server.send(s, 'p', ++pushed));
      const left = Math.floor(Math.random() * 20);
      await waitFor(() => client.unacked.length <= left, 3000, `at most ${left} unacknowledged`);
      for (let i = 0; i < 10; i++) client.send('m', ++sent);
      await delay(Math.random() * 3);
      proxy.cut();
      await Promise.all(pushes);
    }
    await client.connect(proxy.url());
    await waitFor(() => client.acked && client.seen == pushed, 5000, 'everything acknowledged and received');
    expect(handled.map((h) => h[2])).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
    expect(client.received.map((m) => m.args[0])).toEqual(Array.from({ length: pushed }, (_, i) => i + 1));
    expect(client.errors).toEqual([]);
    expect(client.discontinuities).toEqual([]);
    expect(client.welcomes).toHaveLength(21);
    // The cuts did land mid-stream: messages went again after a $welcome, and some were stored but not yet
    // acknowledged when their connection dropped (the window where a naive resend is handled twice).
    expect(client.resent).toBeGreaterThan(0);
    expect(client.storedUnacked).toBeGreaterThan(0);
  });
});

describe('close', () => {
  it('closes every connection with 1001, refuses new ones, and leaves no timer behind', async () => {
    const timers = watchTimers();
    cleanup(() => timers.stop());
    const { url, server } = await serveWs();
    const a = await hello(url, sid());
    const waiting = await open(url); // no $hello yet: its hello timer runs
    a.client.send('$m', 1, 'e');
    await server.close();
    expect((await a.client.closeOf()).code).toBe(1001);
    expect((await waiting.closeOf()).code).toBe(1001);
    const late = await open(url);
    expect((await late.closeOf()).code).toBe(1001);
    // (ws's own close-handshake timer, started by `ws.close()`, is ws's.)
    expect(timers.live().filter((t) => t.includes('src/server') && !t.includes('node_modules/ws'))).toEqual([]);
  });

  it('acknowledges what it handled before closing, so a restart with a forgetful store hands nothing over twice', async () => {
    const handled: unknown[] = [];
    const { url, server } = await serveWs({ ackDelay: 60_000, onMessage: (_s, _e, n) => void handled.push(n) });
    const a = await hello(url, sid());
    a.client.send('$m', 1, 'e', 1);
    a.client.send('$m', 2, 'e', 2);
    await waitFor(() => handled.length == 2, 2000, 'both handled');
    expect(a.client.acks()).toEqual([]); // the ack waits for its (long) delay
    await server.close();
    expect((await a.client.closeOf()).code).toBe(1001);
    expect(a.client.acks()).toEqual([2]); // it arrived before the close
  });

  it('validates its options: an OptionError naming the option, never a bare TypeError', () => {
    const option = (name: string) => expect.objectContaining({ name: 'OptionError', code: 'option', option: name });
    expect(() => reliable({} as never)).toThrow(option('onMessage'));
    expect(() => reliable({ onMessage() {}, maxFrame: -1 })).toThrow(option('maxFrame'));
    expect(() => reliable({ onMessage() {}, authenticate: 'yes' as never })).toThrow(option('authenticate'));
    expect(() => reliable({ onMessage() {}, onRequest: 1 as never })).toThrow(option('onRequest'));
    expect(() => reliable({ onMessage() {}, maxBuffered: Number.NaN })).toThrow(option('maxBuffered'));
    expect(() => reliable({ onMessage() {}, newSessionsPerSecond: -1 })).toThrow(option('newSessionsPerSecond'));
    expect(() => memoryStore({ history: -1 })).toThrow(option('history'));
    expect(() => memoryStore({ sessions: 1.5 })).toThrow(option('sessions'));
    expect(() => memoryStore({ resendGrace: -1 })).toThrow(option('resendGrace'));
    // ws with authenticate needs the upgrade request.
    const server = reliable({ onMessage() {}, authenticate: () => 'p' });
    cleanup(() => server.close());
    expect(() => server.ws({ readyState: 1, send() {}, close() {}, on() {} })).toThrow(option('request'));
  });
});

describe('memoryStore', () => {
  it('beyond `sessions`, forgets an idle session that owes nothing first, then one that owes messages; never a held one', async () => {
    const store = memoryStore({ sessions: 3 });
    expect(await store.open('held', 'p', true)).toEqual({ seq: null, offset: 0, principal: 'p', fresh: true });
    await store.open('owes', 'p', true);
    store.append('owes', 'n', []);
    store.release!('owes', true);
    await store.open('done', 'p', true);
    store.accept('done', 4);
    store.release!('done', true);
    expect(await store.open('d', 'p', true)).toMatchObject({ fresh: true });
    expect(await store.sessions!()).toEqual(['held', 'owes', 'd']);
    expect(await store.open('e', 'p', true)).toMatchObject({ fresh: true });
    expect(await store.sessions!()).toEqual(['held', 'd', 'e']);
    // Every session is held now: a new one is refused, and append cannot make room either.
    expect(await store.open('f', 'p', true)).toBeUndefined();
    expect(() => store.append('g', 'n', [])).toThrow(expect.objectContaining({ code: 'store' }));
    expect(store.size).toBe(3);
  });

  it('keeps a session released unsettled for `resendGrace`', async () => {
    const store = memoryStore({ sessions: 1, resendGrace: 50 });
    await store.open('a', 'p', true);
    store.accept('a', 1);
    store.release!('a', false);
    expect(await store.open('b', 'p', true)).toBeUndefined();
    await new Promise((r) => setTimeout(r, 60));
    expect(await store.open('b', 'p', true)).toMatchObject({ fresh: true });
  });

  it('binds a session to the principal that opens it first; another principal changes nothing', async () => {
    const store = memoryStore();
    store.append('s', 'n', []);
    expect(await store.open('s', 'alice', false)).toEqual({ seq: null, offset: 1, principal: 'alice', fresh: true });
    store.accept('s', 3);
    expect(await store.open('s', 'mallory', true)).toEqual({ seq: 3, offset: 1, principal: 'alice', fresh: false });
    expect(await store.open('s', 'alice', true)).toEqual({ seq: 3, offset: 1, principal: 'alice', fresh: false });
    expect(await store.open('unknown', 'alice', false)).toBeUndefined();
  });
});
