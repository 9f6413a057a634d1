import { describe, expect, it, vi } from 'vitest';
import type { Client } from 'mock-socket';
import { Surewire } from '../src/client';
import { ClosedError, OptionError, OverflowError, RemoteError, SurewireError, TimeoutError } from '../src/errors';
import { blackholeWebSocket, MockServer, uniqueUrl, WS } from './helpers/mock-server';
import { fakeClientHarness, record } from './helpers/fake-client';

const { tick, serve, client, own } = fakeClientHarness();

/** A server that answers every request `{id, event, args}` with `{id, result: [event, ...args]}`. */
const echo = (): MockServer =>
  serve({
    onConnection: (s: Client) =>
      s.on('message', (d) => {
        const m = JSON.parse(d as string) as { id?: number; event: string; args: unknown[] };
        if (m.id != null) s.send(JSON.stringify({ id: m.id, result: [m.event, ...m.args] }));
      }),
  });

/** Follows a promise without leaving a rejection unhandled. */
interface Tracked<T> {
  status: 'pending' | 'resolved' | 'rejected';
  value?: T;
  error?: unknown;
}
function track<T>(p: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { status: 'pending' };
  p.then(
    (value) => void Object.assign(t, { status: 'resolved', value }),
    (error: unknown) => void Object.assign(t, { status: 'rejected', error }),
  );
  return t;
}

function expectRejected(t: Tracked<unknown>, type: typeof SurewireError, code: string): void {
  expect(t.status).toBe('rejected');
  expect(t.error).toBeInstanceOf(type);
  expect((t.error as SurewireError).code).toBe(code);
}

describe('request()', () => {
  it('sends {"id":n,"event":…,"args":[…]} and resolves with the result of the reply carrying that id', async () => {
    const srv = serve();
    const c = client(srv.url);
    await tick(4);
    const sum = track(c.request('sum', 1, 2));
    const echoed = track(c.request('echo', 'x', { deep: [1] }));
    await tick(4);
    expect(srv.frames()).toEqual(['{"id":1,"event":"sum","args":[1,2]}', '{"id":2,"event":"echo","args":["x",{"deep":[1]}]}']);
    const timers = vi.getTimerCount();
    srv.send('{"id":2,"result":{"ok":true}}');
    await tick(0);
    expect(echoed).toEqual({ status: 'resolved', value: { ok: true } });
    expect(sum).toEqual({ status: 'pending' });
    srv.send('{"id":1,"result":3}');
    await tick(0);
    expect(sum).toEqual({ status: 'resolved', value: 3 });
    // each answered request released its timeout timer
    expect(vi.getTimerCount()).toBe(timers - 2);
  });

  it('gives each request a new id, across reconnects', async () => {
    const srv = echo();
    const c = client(srv.url, { reconnect: { initialDelay: 100 } });
    await tick(4);
    const a = track(c.request('a'));
    await tick(4);
    srv.drop();
    await tick(4 + 100 + 4);
    const b = track(c.request('b'));
    await tick(4);
    expect(srv.frames(0)).toEqual(['{"id":1,"event":"a","args":[]}']);
    expect(srv.frames(1)).toEqual(['{"id":2,"event":"b","args":[]}']);
    expect(a).toEqual({ status: 'resolved', value: ['a'] });
    expect(b).toEqual({ status: 'resolved', value: ['b'] });
  });

  it('types the reply from the acknowledgement callback of the event map', async () => {
    interface ClientEvents {
      sum: (a: number, b: number, ack: (total: number) => void) => void;
    }
    const srv = serve({
      onConnection: (s) =>
        s.on('message', (d) => {
          const m = JSON.parse(d as string) as { id: number; args: [number, number] };
          s.send(JSON.stringify({ id: m.id, result: m.args[0] + m.args[1] }));
        }),
    });
    const c = new Surewire<Record<string, never>, ClientEvents>(srv.url, { WebSocket: WS, heartbeat: false });
    own(c);
    await tick(4);
    const p = c.request('sum', 2, 3);
    await tick(4);
    const total: number = await p;
    expect(total).toBe(5);
  });

  it('rejects with a RemoteError carrying the data when the server answers with an error', async () => {
    const srv = serve();
    const c = client(srv.url);
    await tick(4);
    const r = track(c.request('pay', 100));
    await tick(4);
    srv.send('{"id":1,"error":{"code":"E_FUNDS","message":"not enough"}}');
    await tick(0);
    expectRejected(r, RemoteError, 'remote');
    expect((r.error as RemoteError).data).toEqual({ code: 'E_FUNDS', message: 'not enough' });
  });

  it('rejects with a TimeoutError after the timeout given by timeout(ms), naming the event, the server and the time', async () => {
    const srv = serve();
    const c = client(srv.url);
    const errors = record(c, 'error');
    await tick(4);
    const r = track(c.timeout(50).request('slow', 'x'));
    await tick(4);
    expect(srv.frames()).toEqual(['{"id":1,"event":"slow","args":["x"]}']);
    await tick(45);
    expect(r).toEqual({ status: 'pending' });
    await tick(1);
    expectRejected(r, TimeoutError, 'timeout');
    expect((r.error as Error).message).toBe(`surewire: no reply to "slow" from ${srv.url.replace(/\/$/, '/')} within 50 ms`);
    // a late reply is ignored
    srv.send('{"id":1,"result":"late"}');
    await tick(0);
    expect(errors).toEqual([]);
    expect(c.connection.state).toBe('open');
  });

  it('removes a request that timed out while still queued from the outbox', async () => {
    const srv = serve();
    const c = client(srv.url, { autoConnect: false });
    const drops = record(c, 'drop');
    const r = track(c.timeout(50).request('q'));
    expect(c.send('after')).toBe('queued');
    expect(c.connection.getSnapshot().queued).toBe(2);
    await tick(49);
    expect(r).toEqual({ status: 'pending' });
    await tick(1);
    expectRejected(r, TimeoutError, 'timeout');
    expect(c.connection.getSnapshot().queued).toBe(1);
    expect(drops).toEqual([]);
    c.connect();
    await tick(8);
    expect(srv.frames()).toEqual(['["after"]']);
  });

  it('uses the requestTimeout option as the default timeout', async () => {
    const srv = serve();
    const c = client(srv.url, { requestTimeout: 200 });
    await tick(4);
    const r = track(c.request('slow'));
    await tick(199);
    expect(r).toEqual({ status: 'pending' });
    await tick(1);
    expectRejected(r, TimeoutError, 'timeout');
  });

  it('lets timeout(ms) override the requestTimeout option', async () => {
    const srv = serve();
    const c = client(srv.url, { requestTimeout: 1000 });
    await tick(4);
    const r = track(c.timeout(50).request('slow'));
    await tick(49);
    expect(r).toEqual({ status: 'pending' });
    await tick(1);
    expectRejected(r, TimeoutError, 'timeout');
  });

  it('never takes an argument as options: an object with a timeout key is sent to the server as it is', async () => {
    const srv = serve();
    const c = client(srv.url, { requestTimeout: 1000 });
    await tick(4);
    const r = track(c.request('save', { timeout: 5 }));
    await tick(4);
    expect(srv.frames()).toEqual(['{"id":1,"event":"save","args":[{"timeout":5}]}']);
    await tick(10);
    expect(r).toEqual({ status: 'pending' });
  });

  it.each([0, -1, NaN, 2 ** 31, '50', undefined])('throws an OptionError naming timeout for timeout(%s)', (ms) => {
    const c = client(uniqueUrl(), { autoConnect: false });
    expect(() => c.timeout(ms as number)).toThrow(OptionError);
    expect(() => c.timeout(ms as number)).toThrow(/`timeout`/);
  });

  it('times out after 10000 ms without a requestTimeout', async () => {
    const srv = serve();
    const c = client(srv.url);
    await tick(4);
    const r = track(c.request('slow'));
    await tick(9999);
    expect(r).toEqual({ status: 'pending' });
    await tick(1);
    expectRejected(r, TimeoutError, 'timeout');
  });

  it('rejects a request in flight with a ClosedError when the connection closes, then reconnects', async () => {
    const srv = serve();
    const c = client(srv.url, { reconnect: { initialDelay: 100 } });
    await tick(4);
    const r = track(c.request('slow'));
    await tick(4);
    srv.drop(1001, 'restart');
    await tick(3);
    expect(r).toEqual({ status: 'pending' });
    await tick(1);
    expectRejected(r, ClosedError, 'closed');
    expect(c.connection.state).toBe('reconnecting');
    await tick(104);
    expect(c.connection.state).toBe('open');
  });

  it('rejects a request in flight with a ClosedError when reconnect() replaces the socket', async () => {
    const srv = serve();
    const c = client(srv.url);
    await tick(4);
    const r = track(c.request('slow'));
    await tick(4);
    c.reconnect();
    await tick(0);
    expectRejected(r, ClosedError, 'closed');
    await tick(4);
    expect(c.connection.state).toBe('open');
    // the old socket is gone: a reply sent on it never reaches the client
    srv.sockets[0]!.send('{"id":1,"result":"too late"}');
    await tick(0);
    expect(r.status).toBe('rejected');
  });

  it('rejects a request in flight with a ClosedError when the heartbeat declares the connection dead', async () => {
    const srv = serve({ pong: true });
    const c = client(srv.url, { heartbeat: { interval: 1000, timeout: 500 }, requestTimeout: 60_000 });
    await tick(8); // the ping at open is answered: the heartbeat is enforced from now on
    srv.pong = false;
    const r = track(c.request('slow'));
    await tick(1495);
    expect(r).toEqual({ status: 'pending' });
    await tick(1); // 1504: dead
    expectRejected(r, ClosedError, 'closed');
  });

  it('queues a request made while offline and resolves it after open', async () => {
    const srv = echo();
    const c = client(srv.url, { autoConnect: false });
    const r = track(c.request('hello', 'world'));
    expect(c.connection.getSnapshot().queued).toBe(1);
    await tick(1000);
    expect(r).toEqual({ status: 'pending' });
    c.connect();
    await tick(8);
    expect(srv.frames()).toEqual(['{"id":1,"event":"hello","args":["world"]}']);
    expect(r).toEqual({ status: 'resolved', value: ['hello', 'world'] });
  });

  it('queues a request made while reconnecting and resolves it on the next connection', async () => {
    const srv = echo();
    const c = client(srv.url, { reconnect: { initialDelay: 100 } });
    await tick(4);
    srv.drop();
    await tick(4);
    const r = track(c.request('again'));
    await tick(99);
    expect(r).toEqual({ status: 'pending' });
    await tick(1 + 4 + 4);
    expect(r).toEqual({ status: 'resolved', value: ['again'] });
  });

  it('keeps a still-queued request through a failed attempt and sends it on the next open', async () => {
    const srv = echo();
    const { WebSocket } = blackholeWebSocket();
    const urls = ['ws://blackhole.local/', srv.url];
    const c = new Surewire(() => urls.shift() ?? srv.url, {
      WebSocket,
      heartbeat: false,
      connectTimeout: 500,
      reconnect: { initialDelay: 100 },
    });
    own(c);
    const r = track(c.request('patient'));
    await tick(500);
    expect(c.connection.state).toBe('reconnecting');
    expect(r).toEqual({ status: 'pending' });
    await tick(100 + 4 + 4);
    expect(r).toEqual({ status: 'resolved', value: ['patient'] });
  });

  it('rejects pending requests, sent and queued, with a ClosedError on close()', async () => {
    const srv = serve();
    const c = client(srv.url);
    await tick(4);
    const sent = track(c.request('sent'));
    await tick(4);
    c.close();
    await tick(0);
    expectRejected(sent, ClosedError, 'closed');

    const c2 = client(srv.url, { autoConnect: false });
    const drops = record(c2, 'drop');
    const queued = track(c2.request('queued', 1));
    c2.close();
    await tick(0);
    expectRejected(queued, ClosedError, 'closed');
    expect(drops).toEqual([
      { message: { id: 1, event: 'queued', args: [1] }, frame: '{"id":1,"event":"queued","args":[1]}', reason: 'closed' },
    ]);
    await tick(4);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with a ClosedError when called after close()', async () => {
    const srv = serve();
    const c = client(srv.url);
    await tick(4);
    c.close();
    const r = track(c.request('late'));
    await tick(0);
    expectRejected(r, ClosedError, 'closed');
    await tick(10);
    expect(srv.frames()).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects at once with a ClosedError (code closed, message offline) when not open and queue is false', async () => {
    const srv = serve();
    const c = client(srv.url, { queue: false });
    const r = track(c.request('now'));
    await tick(0);
    expectRejected(r, ClosedError, 'closed');
    expect((r.error as Error).message).toContain('offline');
  });

  it('rejects a request dropped by the outbox overflow (drop-oldest) with an OverflowError', async () => {
    const srv = echo();
    const c = client(srv.url, { autoConnect: false, queue: { max: 1, overflow: 'drop-oldest' } });
    const drops = record(c, 'drop');
    const first = track(c.request('first'));
    const second = track(c.request('second'));
    await tick(0);
    expectRejected(first, OverflowError, 'overflow');
    expect(second).toEqual({ status: 'pending' });
    expect(drops).toEqual([
      { message: { id: 1, event: 'first', args: [] }, frame: '{"id":1,"event":"first","args":[]}', reason: 'overflow' },
    ]);
    c.connect();
    await tick(8);
    expect(srv.frames()).toEqual(['{"id":2,"event":"second","args":[]}']);
    expect(second).toEqual({ status: 'resolved', value: ['second'] });
  });

  it('rejects a request refused by the outbox overflow (drop-newest) with an OverflowError', async () => {
    const srv = echo();
    const c = client(srv.url, { autoConnect: false, queue: { max: 1, overflow: 'drop-newest' } });
    const first = track(c.request('first'));
    const second = track(c.request('second'));
    await tick(0);
    expect(first).toEqual({ status: 'pending' });
    expectRejected(second, OverflowError, 'overflow');
    c.connect();
    await tick(8);
    expect(first).toEqual({ status: 'resolved', value: ['first'] });
  });

  it('ignores replies to unknown ids and second replies to a settled request', async () => {
    const srv = serve();
    const c = client(srv.url);
    const errors = record(c, 'error');
    await tick(4);
    const r = track(c.request('once'));
    await tick(4);
    srv.send('{"id":99,"result":"stranger"}');
    srv.send('{"id":1,"result":"first"}');
    srv.send('{"id":1,"result":"second"}');
    srv.send('{"id":1,"error":"third"}');
    await tick(0);
    expect(r).toEqual({ status: 'resolved', value: 'first' });
    expect(errors).toEqual([]);
    expect(c.connection.state).toBe('open');
  });
});
