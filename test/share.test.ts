// surewire/share in Node: the facade's logic between tabs of one process (Node's BroadcastChannel, a fake
// Web Locks manager, a `document` per tab) against a real `ws` server on loopback. Real tabs, freezing
// and crashes are in test/browser/share.spec.ts.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Surewire } from '../src/client';
import { ClosedError, DecodeError, OptionError, RemoteError, SurewireError, TimeoutError } from '../src/errors';
import { reliable } from '../src/reliable';
import { shareTabs } from '../src/share';
import { origin, type Tab } from './helpers/share-tabs';
import { serveWs } from './server/fixtures';
import { parseJson, startWsServer, type MessageHandler, type TestWsServer } from './helpers/ws-server';
import { delay, record, waitFor } from './helpers/wait';

/**
 * `["say", …]` is told to every connection as `["said", …]`; requests: `add(a, b)` answers the sum, `fail`
 * answers an error, `never` gets no answer. Everything else is only recorded.
 */
const handler: MessageHandler = (frame, conn, server) => {
  const m = parseJson(frame) as unknown[] | { id: number; event: string; args: number[] } | undefined;
  if (Array.isArray(m) && m[0] == 'say') server.broadcast(JSON.stringify(['said', ...m.slice(1)]));
  else if (m && !Array.isArray(m) && typeof m.id == 'number') {
    if (m.event == 'add') conn.socket.send(JSON.stringify({ id: m.id, result: m.args.reduce((a, b) => a + b, 0) }));
    if (m.event == 'fail') conn.socket.send(JSON.stringify({ id: m.id, error: { why: 'nope' } }));
  }
};

let o: ReturnType<typeof origin> | undefined;
let srv: TestWsServer | undefined;
const tabs: Tab[] = [];

afterEach(async () => {
  vi.useRealTimers();
  for (const t of tabs.splice(0)) t.client.close();
  o?.restore();
  o = undefined;
  await srv?.close();
  srv = undefined;
});

const fast = { reconnect: { initialDelay: 10, maxDelay: 20, jitter: 0 }, heartbeat: false } as const;

/** `n` tabs of one origin sharing a client to a fresh server; the first one leads. */
async function open(n: number, options: object = {}, serve = true): Promise<Tab[]> {
  srv = await startWsServer({ onMessage: handler });
  o = origin();
  for (let i = 0; i < n; i++) {
    tabs.push(o.tab(srv.url(), { ...fast, ...options }));
    // The first tab gets the lock before the next asks: it leads.
    if (i == 0) await waitFor(() => tabs[0]!.role == 'leader', 2000, 'the first tab leads');
  }
  if (serve) await waitFor(() => tabs.every((t) => t.client.connection.state == 'open'), 3000, 'every tab open');
  return tabs.slice();
}

/** The `[event, ...args]` arrays the server received, in order, leaving out requests. */
const events = (event: string): unknown[][] => srv!.messages().filter((m): m is unknown[] => Array.isArray(m) && m[0] == event);

describe('shareTabs() where the browser cannot share', () => {
  it('without Web Locks, the client is the core one, on its own socket, and the tab is told it is alone', async () => {
    srv = await startWsServer({ onMessage: handler });
    const roles: string[] = [];
    const { WebSocket } = await import('ws');
    const c = new Surewire(srv.url(), { ...fast, WebSocket: WebSocket as never, share: shareTabs('x', { onRole: (r) => roles.push(r) }) });
    tabs.push({ client: c } as unknown as Tab);
    expect(c).toBeInstanceOf(Surewire);
    expect(roles).toEqual(['alone']);
    await waitFor(() => c.connection.state == 'open', 2000, 'open');
    expect(c.send('say', 1)).toBe('sent');
    await waitFor(() => events('say').length == 1, 2000, 'the server got it');
  });
});

describe('tabs that share one client', () => {
  it('one tab leads and holds the only socket; the others follow, and every store says open', async () => {
    const [a, b, c] = await open(3);
    expect([a!.roles, b!.roles, c!.roles]).toEqual([['leader'], ['follower'], ['follower']]);
    expect(srv!.connections).toHaveLength(1);
    for (const t of [b!, c!]) expect(t.client.connection.getSnapshot()).toEqual(a!.client.connection.getSnapshot());
    expect(o!.locks.requests.map((r) => r.name)).toEqual(['surewire:test', 'surewire:test', 'surewire:test']);
  });

  it("every tab's listeners get each server event once; sends go out in each tab's order", async () => {
    const [a, b, c] = await open(3);
    const got = [a!, b!, c!].map((t) => record(t.client, ['said']).log);
    const results: string[][] = [[], [], []];
    for (let i = 1; i <= 20; i++) [a!, b!, c!].forEach((t, j) => results[j]!.push(t.client.send('say', j, i)));
    await waitFor(() => got.every((g) => g.length == 60), 3000, '60 events in every tab');
    // The leader's send is the client's own; a follower's is handed to the leader.
    expect(results[0]).toEqual(Array(20).fill('sent'));
    expect(results[1]).toEqual(Array(20).fill('queued'));
    const said = events('say');
    expect(said).toHaveLength(60);
    for (let j = 0; j < 3; j++)
      expect(said.filter((m) => m[1] == j).map((m) => m[2])).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    // `record` keeps the first argument: the tab number. Each tab saw each of the 60 once.
    for (const g of got) expect(g.map(([, j]) => j).sort()).toEqual([...Array(20).fill(0), ...Array(20).fill(1), ...Array(20).fill(2)]);
    expect(srv!.connections).toHaveLength(1);
  });

  it('a request is answered in the tab that asked; a server error is a RemoteError of the app’s class', async () => {
    const [a, b] = await open(2);
    await expect(b!.client.request('add', 2, 3)).resolves.toBe(5);
    await expect(a!.client.request('add', 4, 5)).resolves.toBe(9);
    await expect(b!.client.timeout(1000).request('add', 1, 1)).resolves.toBe(2);
    const e = await b!.client.request('fail').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RemoteError);
    expect(e).toMatchObject({ code: 'remote', data: { why: 'nope' } });
  });

  it("timeout(ms).request runs its timeout in the tab that asked", async () => {
    const [, b] = await open(2);
    const errors = record(b!.client.connection, ['error']).log;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let outcome: unknown;
    void b!.client
      .timeout(500)
      .request('never', 1)
      .then((v: unknown) => (outcome = v), (e: unknown) => (outcome = e));
    // The request reaches the server through the leader…
    // (Polled with setImmediate: the clock is fake, the channel and the socket are not.)
    for (let i = 0; i < 20_000 && !srv!.messages().some((m) => (m as { event?: string }).event == 'never'); i++) await new Promise((r) => setImmediate(r));
    expect(srv!.messages()).toContainEqual({ id: 1, event: 'never', args: [1] });
    // …and times out in the follower, after 500 ms of its own clock.
    await vi.advanceTimersByTimeAsync(499);
    expect(outcome).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(outcome).toBeInstanceOf(TimeoutError);
    expect((outcome as Error).message).toBe('surewire: no reply to "never" within 500 ms');
    // The leader's client gives up on it too: that answer finds nothing to settle, and is no error.
    await vi.advanceTimersByTimeAsync(100);
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    expect(vi.getTimerCount()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('a request in flight when the leading tab closes rejects with a ClosedError, and the closing tab stays quiet', async () => {
    const [a, b] = await open(3);
    const asked = b!.client.request('never').catch((e: unknown) => e);
    await waitFor(() => srv!.messages().some((m) => (m as { event?: string }).event == 'never'), 2000, 'the request at the server');
    // The leader's client rejects what it had sent as it closes; its channel is closed by then.
    a!.client.close();
    expect(await asked).toBeInstanceOf(ClosedError);
    await expect(b!.client.request('add', 1, 2)).resolves.toBe(3);
  });

  it('timeout(ms) refuses a timeout that is not a number of ms with an OptionError', async () => {
    const [, b] = await open(2);
    for (const bad of [0, -1, 0.5, NaN, 2 ** 31, Infinity, undefined as never]) expect(() => b!.client.timeout(bad)).toThrow(OptionError);
  });

  it('a follower gets an encode error at send when an argument cannot cross tabs', async () => {
    const [, b] = await open(2);
    const e = (() => {
      try {
        b!.client.send('say', () => 1);
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(SurewireError);
    expect(e).toMatchObject({ code: 'encode', message: expect.stringMatching(/could not be cloned/) });
    await expect(b!.client.request('add', () => 1)).rejects.toMatchObject({ code: 'encode' });
  });

  it("a message the leader's client refuses is reported by an error event in the tab that sent it", async () => {
    const [a, b, c] = await open(3);
    const errors = [a!, b!, c!].map((t) => record(t.client.connection, ['error']).log);
    // The JSON codec cannot encode a BigInt: the leader's client throws, and tells the follower.
    expect(b!.client.send('say', 1n)).toBe('queued');
    await waitFor(() => errors[1]!.length, 2000, 'an error in the tab that sent it');
    expect(errors[1]![0]![1]).toBeInstanceOf(SurewireError);
    expect(errors[1]![0]![1]).toMatchObject({ code: 'encode' });
    expect(errors[0]).toEqual([]);
    expect(errors[2]).toEqual([]);
    expect(() => a!.client.send('say', 2n)).toThrow(SurewireError);
  });

  it('errors of the shared connection reach every tab with their class: a frame the codec cannot read is a DecodeError', async () => {
    const [a, b] = await open(2);
    const errors = [a!, b!].map((t) => record(t.client.connection, ['error']).log);
    srv!.broadcast('not json');
    await waitFor(() => errors.every((e) => e.length == 1), 2000, 'an error in each tab');
    for (const e of errors) {
      expect(e[0]![1]).toBeInstanceOf(DecodeError);
      expect(e[0]![1]).toMatchObject({ code: 'decode', frame: 'not json', name: 'DecodeError' });
    }
  });

  it("every tab's store mirrors the shared connection while it reconnects, and its lifecycle events", async () => {
    const [a, b, c] = await open(3, { reconnect: { initialDelay: 100, maxDelay: 100, jitter: 0 } });
    const lifecycle = [b!, c!].map((t) => record(t.client.connection, ['close', 'reconnecting', 'open']).log);
    await srv!.stop();
    await waitFor(() => a!.client.connection.getSnapshot().attempt >= 2, 3000, 'two failed attempts');
    a!.client.send('say', 'x');
    b!.client.send('say', 'y');
    await waitFor(() => a!.client.connection.getSnapshot().queued == 2, 2000, 'two queued');
    await waitFor(
      () => [b!, c!].every((t) => JSON.stringify(t.client.connection.getSnapshot()) == JSON.stringify(a!.client.connection.getSnapshot())),
      2000,
      'the same snapshot in every tab',
    );
    expect(b!.client.connection.getSnapshot()).toMatchObject({ queued: 2, state: expect.stringMatching(/reconnecting|connecting/) });
    await srv!.start();
    await waitFor(() => [a!, b!, c!].every((t) => t.client.connection.state == 'open'), 3000, 'open again');
    await waitFor(() => events('say').length == 2, 2000, 'the queued messages sent');
    for (const l of lifecycle) {
      expect(l[0]).toEqual(['close', { code: 1006, reason: '', willReconnect: true }]);
      expect(l.filter(([e]) => e == 'reconnecting').length).toBeGreaterThanOrEqual(2);
      expect(l[l.length - 1]![0]).toBe('open');
    }
    expect(b!.client.connection.getSnapshot()).toEqual(a!.client.connection.getSnapshot());
  });

  it('a drop reaches the tab whose message was dropped, and no other', async () => {
    const [a, b, c] = await open(3, { queue: { max: 2, overflow: 'drop-oldest' } });
    const drops = [a!, b!, c!].map((t) => record(t.client.connection, ['drop']).log);
    await srv!.stop();
    await waitFor(() => a!.client.connection.state != 'open', 2000, 'not open');
    b!.client.send('say', 'b1');
    await waitFor(() => a!.client.connection.getSnapshot().queued == 1, 2000, 'b1 queued');
    c!.client.send('say', 'c1');
    c!.client.send('say', 'c2'); // the outbox is full: b1, the oldest, goes
    await waitFor(() => drops[1]!.length == 1, 2000, 'b1 dropped');
    expect(drops[1]![0]![1]).toMatchObject({ reason: 'overflow', message: { event: 'say', args: ['b1'] } });
    await waitFor(() => a!.client.connection.getSnapshot().queued == 2, 2000, 'c1 and c2 queued');
    expect(drops[0]).toEqual([]);
    expect(drops[2]).toEqual([]);
  });

  it("tells a tab its message was taken only after the leader's stored state that holds it went to every tab", async () => {
    const [a, b] = await open(2);
    await srv!.stop();
    await waitFor(() => a!.client.connection.state != 'open', 2000, 'not open');
    // What the channel carries, in order, as a third party on it sees it.
    const spy = new BroadcastChannel('surewire:test');
    const seen: string[] = [];
    spy.onmessage = ({ data: [kind, , , , x, y] }) => {
      if (kind == 'L' && JSON.stringify(y ?? {}).includes('queued-once')) seen.push('state');
      if (kind == 'k' && Object.keys(x as object).length) seen.push('taken');
    };
    b!.client.send('say', 'queued-once');
    await waitFor(() => seen.includes('taken'), 2000, 'taken');
    spy.close();
    expect(seen.slice(0, 2)).toEqual(['state', 'taken']);
  });

  it('a drop of the message being sent (no queue) reaches the tab that sent it', async () => {
    const [a, b] = await open(2, { queue: false });
    const drops = [a!, b!].map((t) => record(t.client.connection, ['drop']).log);
    await srv!.stop();
    await waitFor(() => b!.client.connection.state != 'open', 2000, 'not open');
    b!.client.send('say', 'lost');
    await waitFor(() => drops[1]!.length == 1, 2000, 'dropped');
    expect(drops[1]![0]![1]).toMatchObject({ reason: 'offline', message: { event: 'say', args: ['lost'] } });
    expect(drops[0]).toEqual([]);
  });
});

describe('close() in one tab', () => {
  it('detaches that tab only: what it handed over still goes out, its requests reject, the others go on on the same socket', async () => {
    const [a, b, c] = await open(3);
    const lc = record(b!.client.connection, ['close', 'drop', 'state']).log;
    // Sent and asked right before close(): handed to the leader, not answered yet.
    b!.client.send('say', 'late');
    const asked = b!.client.request('add', 1, 2).catch((e: unknown) => e);
    b!.client.close();
    expect(await asked).toBeInstanceOf(ClosedError);
    expect(lc).toEqual([
      ['state', { from: 'open', to: 'closed', reason: 'close()' }],
      ['close', { code: 1000, reason: '', willReconnect: false }],
    ]);
    expect(b!.client.send('say', 'after')).toBe('dropped');
    expect(lc[2]).toEqual(['drop', { message: { event: 'say', args: ['after'] }, reason: 'closed' }]);
    await expect(b!.client.request('add', 1, 1)).rejects.toBeInstanceOf(ClosedError);
    expect(c!.client.send('say', 'c')).toBe('queued');
    await waitFor(() => events('say').length == 2, 2000, "b's and c's messages");
    expect(events('say')).toEqual([['say', 'late'], ['say', 'c']]);
    expect(a!.client.connection.state).toBe('open');
    expect(srv!.connections).toHaveLength(1);
  });

  it('drops and reports what waited for a leader when the tab closes before it heard of one', async () => {
    await open(1);
    // A new tab has not heard of the leader yet (the channel is asynchronous): its message waits.
    const b = o!.tab(srv!.url(), fast);
    tabs.push(b);
    const drops = record(b.client.connection, ['drop']).log;
    expect(b.client.send('say', 'early')).toBe('queued');
    b.client.close();
    expect(drops).toEqual([['drop', { message: { event: 'say', args: ['early'] }, reason: 'closed' }]]);
    await delay(100);
    expect(events('say')).toEqual([]);
  });

  it('in the leader: the next tab leads and reconnects; the socket closes when the last tab leaves', async () => {
    const [a, b, c] = await open(3);
    a!.client.close();
    await waitFor(() => b!.role == 'leader' || c!.role == 'leader', 2000, 'a new leader');
    await waitFor(() => srv!.connections.length == 2 && b!.client.connection.state == 'open' && c!.client.connection.state == 'open', 3000, 'open again');
    expect(srv!.connections[0]!.closed).toEqual({ code: 1000, reason: '' });
    const [next, last] = b!.role == 'leader' ? [b!, c!] : [c!, b!];
    expect(last.role).toBe('follower');
    next.client.close();
    await waitFor(() => last.role == 'leader' && srv!.connections.length == 3 && last.client.connection.state == 'open', 3000, 'the last tab leads');
    last.client.close();
    await waitFor(() => srv!.connections[2]!.closed, 2000, 'the socket closed');
    expect(srv!.open).toEqual([]);
  });

  it("hands the leader's outbox to the next leader: queued messages go out once, in order", async () => {
    const [a, b, c] = await open(3);
    await srv!.stop();
    await waitFor(() => a!.client.connection.state != 'open', 2000, 'not open');
    for (let i = 1; i <= 5; i++) a!.client.send('say', 'a', i), b!.client.send('say', 'b', i);
    await waitFor(() => c!.client.connection.getSnapshot().queued == 10, 2000, '10 queued, as every tab sees it');
    a!.client.close();
    await waitFor(() => b!.role == 'leader' || c!.role == 'leader', 2000, 'a new leader');
    await srv!.start();
    await waitFor(() => events('say').length == 10, 3000, '10 messages');
    const said = events('say');
    for (const tag of ['a', 'b']) expect(said.filter((m) => m[1] == tag).map((m) => m[2])).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('Page Lifecycle', () => {
  it('a frozen leader lets go: a follower leads; on resume the tab follows it', async () => {
    const [a, b] = await open(2);
    a!.fire('freeze');
    await waitFor(() => b!.role == 'leader' && srv!.connections.length == 2 && b!.client.connection.state == 'open', 3000, 'b leads');
    expect(srv!.connections[0]!.closed).toMatchObject({ code: 1001 });
    a!.fire('resume');
    await waitFor(() => a!.role == 'follower', 2000, 'a follows');
    expect(a!.roles).toEqual(['leader', 'follower']);
    const got = record(a!.client, ['said']).log;
    b!.client.send('say', 'hi');
    await waitFor(() => got.length == 1, 2000, 'a hears the server again');
    expect(srv!.open).toHaveLength(1);
  });

  it('a tab that goes (pagehide) hands over at once, before the browser tears it down', async () => {
    const [a, b] = await open(2);
    const drops = record(b!.client.connection, ['drop']).log;
    a!.fire('pagehide');
    // Its socket closed as it went (going away), and the next tab leads.
    await waitFor(() => srv!.connections[0]!.closed, 2000, 'the socket closed');
    expect(srv!.connections[0]!.closed).toMatchObject({ code: 1001 });
    await waitFor(() => b!.role == 'leader' && b!.client.connection.state == 'open', 3000, 'b leads');
    b!.client.send('say', 'after');
    await waitFor(() => events('say').length == 1, 2000, 'the message');
    expect(drops).toEqual([]);
  });

  it('a frozen follower gives up its place in the queue; the tab after it leads', async () => {
    const [a, b, c] = await open(3);
    b!.fire('freeze');
    await waitFor(() => o!.locks.requests.length == 3, 1000, 'three requests');
    a!.client.close();
    await waitFor(() => c!.role == 'leader', 2000, 'c leads, not the frozen b');
    expect(b!.role).toBe('follower');
  });
});

describe('with reliable()', () => {
  it("a new leader whose copy of the state lags what the server has (the last leader's last state never reached it) numbers on after the server's: it connects, and nothing is lost", async () => {
    const handled: unknown[] = [];
    const { server, url, wss } = await serveWs({ onMessage: (_s, _e, n) => void handled.push(n), onError: (e) => void handled.push(e) });
    const sockets: Parameters<typeof server.session>[0][] = [];
    wss.on('connection', (ws) => void sockets.push(ws));
    const post = BroadcastChannel.prototype.postMessage;
    try {
      o = origin();
      const a = o.tab(url, { ...fast, reliable: reliable() });
      await waitFor(() => a.role == 'leader', 2000, 'a leads');
      const b = o.tab(url, { ...fast, reliable: reliable() });
      tabs.push(a, b);
      await waitFor(() => a.client.connection.state == 'open' && b.client.connection.state == 'open', 3000, 'both open');
      a.client.send('m', 1);
      await waitFor(() => handled.length == 1, 2000, 'one message');
      // What the leader stores and takes stops reaching the other tab (as when a crashing tab's last messages
      // are lost): b's copy stays at 1, while the server gets 2 and 3.
      BroadcastChannel.prototype.postMessage = function (this: BroadcastChannel, m: unknown) {
        if (!(Array.isArray(m) && (m[0] == 'L' || m[0] == 'k'))) post.call(this, m);
      };
      a.client.send('m', 2);
      a.client.send('m', 3);
      await waitFor(() => handled.length == 3, 2000, 'three messages');
      BroadcastChannel.prototype.postMessage = post;
      const errors = record(b.client.connection, ['error']).log;
      a.client.close();
      await waitFor(() => b.role == 'leader' && b.client.connection.state == 'open', 3000, 'b leads, connected');
      for (let i = 4; i <= 6; i++) b.client.send('m', i);
      await waitFor(() => handled.length >= 6, 2000, 'six messages');
      await delay(50);
      // Without taking the server's number, b would number 4 as 2: dropped as a duplicate (and its $welcome
      // would be refused as a lie: a protocol error and a reconnect, for ever).
      expect(handled).toEqual([1, 2, 3, 4, 5, 6]);
      expect(errors).toEqual([]);
      expect(new Set(sockets.map((ws) => server.session(ws))).size).toBe(1);
    } finally {
      BroadcastChannel.prototype.postMessage = post;
    }
  });

  it('a tab that led, froze and is elected again leads again with its reliable(), from the state every tab kept: nothing lost or doubled', async () => {
    const handled: unknown[] = [];
    const { server, url, wss } = await serveWs({ onMessage: (_s, _e, n) => void handled.push(n), onError: (e) => void handled.push(e) });
    const sockets: Parameters<typeof server.session>[0][] = [];
    wss.on('connection', (ws) => void sockets.push(ws));
    o = origin();
    const a = o.tab(url, { ...fast, reliable: reliable() });
    await waitFor(() => a.role == 'leader', 2000, 'a leads');
    const b = o.tab(url, { ...fast, reliable: reliable() });
    tabs.push(a, b);
    const got = record(a.client, ['p']).log;
    await waitFor(() => a.client.connection.state == 'open' && b.client.connection.state == 'open', 3000, 'both open');
    a.client.send('m', 1);
    b.client.send('m', 2);
    await waitFor(() => handled.length == 2, 2000, 'two messages');
    // a freezes: b leads, and numbers on from the state a left.
    a.fire('freeze');
    await waitFor(() => b.role == 'leader' && b.client.connection.state == 'open', 3000, 'b leads');
    for (let i = 3; i <= 5; i++) b.client.send('m', i);
    await waitFor(() => handled.length == 5, 2000, 'five messages');
    a.fire('resume');
    await waitFor(() => a.role == 'follower', 2000, 'a follows');
    // b goes: a is elected again, and its reliable() serves the new client from what b left.
    b.client.close();
    await waitFor(() => a.role == 'leader' && a.client.connection.state == 'open', 3000, 'a leads again');
    expect(a.roles).toEqual(['leader', 'follower', 'leader']);
    for (let i = 6; i <= 8; i++) a.client.send('m', i);
    await waitFor(() => handled.length >= 8, 2000, 'eight messages');
    const sessions = new Set(sockets.map((ws) => server.session(ws)));
    expect(sessions.size).toBe(1);
    await server.send([...sessions][0]!, 'p', 'after');
    await waitFor(() => got.length == 1, 2000, 'the server event');
    await delay(50);
    expect(handled).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(sockets).toHaveLength(3);
  });
});
