// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Surewire } from '../src/client';
import type { SurewireOptions } from '../src/options';
import { fakeClientHarness, record } from './helpers/fake-client';
import type { MockServer } from './helpers/mock-server';

const { tick, serve, client } = fakeClientHarness();
let visibility: DocumentVisibilityState = 'visible';

beforeEach(() => {
  visibility = 'visible';
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => visibility });
});

afterEach(() => {
  delete (document as { visibilityState?: unknown }).visibilityState;
});

const online = (): boolean => window.dispatchEvent(new Event('online'));
const offline = (): boolean => window.dispatchEvent(new Event('offline'));
/** A page restored from the back/forward cache. */
const pageshow = (): boolean => window.dispatchEvent(Object.assign(new Event('pageshow'), { persisted: true }));
/** A first load: pageshow fires too, with persisted false. */
const firstShow = (): boolean => window.dispatchEvent(Object.assign(new Event('pageshow'), { persisted: false }));
const resume = (): boolean => document.dispatchEvent(new Event('resume'));
const becomes = (state: DocumentVisibilityState): boolean => {
  visibility = state;
  return document.dispatchEvent(new Event('visibilitychange'));
};

/** A client waiting out a one-minute backoff after the server dropped it. */
async function waitingOneMinute(srv: MockServer, o: SurewireOptions = {}): Promise<Surewire> {
  const c = client(srv.url, { reconnect: { initialDelay: 60_000, maxDelay: 60_000 }, ...o });
  await tick(4);
  srv.drop();
  await tick(4);
  expect(c.connection.getSnapshot()).toMatchObject({ state: 'reconnecting', retryAt: Date.now() + 60_000 });
  return c;
}

describe('browser awareness while reconnecting', () => {
  it.each([
    { event: 'window online', fire: online, reason: 'online' },
    { event: 'visibilitychange to visible', fire: () => becomes('visible'), reason: 'visible' },
    { event: 'window pageshow', fire: pageshow, reason: 'visible' },
    { event: 'document resume (unfrozen)', fire: resume, reason: 'visible' },
  ])('starts an attempt at once on $event instead of waiting out the backoff', async ({ fire, reason }) => {
    const srv = serve();
    const c = await waitingOneMinute(srv);
    const states = record(c, 'state');
    fire();
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'connecting', reason, retryAt: null });
    await tick(4);
    expect(c.connection.state).toBe('open');
    expect(srv.connections).toBe(2);
    expect(states).toEqual([
      { from: 'reconnecting', to: 'connecting', reason },
      { from: 'connecting', to: 'open', reason: 'open' },
    ]);
    // the backoff timer it replaced does not fire a second attempt
    await tick(120_000);
    expect(srv.connections).toBe(2);
  });

  it.each([
    { event: 'window offline', fire: offline },
    { event: 'visibilitychange to hidden', fire: () => becomes('hidden') },
  ])('keeps waiting on $event', async ({ fire }) => {
    const srv = serve();
    const c = await waitingOneMinute(srv);
    fire();
    expect(c.connection.state).toBe('reconnecting');
    await tick(59_999); // the retry is due at 60008
    expect(srv.connections).toBe(1);
    expect(c.connection.state).toBe('reconnecting');
    await tick(1 + 4);
    expect(srv.connections).toBe(2);
  });

  it('keeps counting attempts: a woken attempt that fails waits the next, longer delay', async () => {
    const srv = serve();
    const c = client(srv.url, { reconnect: { initialDelay: 1000, maxDelay: 60_000 } });
    const retries = record(c, 'reconnecting');
    await tick(4);
    srv.drop();
    await tick(4);
    srv.onConnection = (s) => s.close({ code: 1000, reason: '', wasClean: true });
    online();
    await tick(8);
    expect(srv.connections).toBe(2);
    expect(retries).toEqual([
      { attempt: 1, delay: 1000 },
      { attempt: 2, delay: 2000 },
    ]);
  });

  it('does not start a second attempt while one is already connecting', async () => {
    const srv = serve();
    const c = client(srv.url);
    const states = record(c, 'state');
    online();
    becomes('visible');
    pageshow();
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'connecting', reason: 'connect()' });
    await tick(4);
    expect(srv.connections).toBe(1);
    expect(states).toEqual([{ from: 'connecting', to: 'open', reason: 'open' }]);
  });

  it('ignores the pageshow of a first load (not restored from the back/forward cache)', async () => {
    const srv = serve({ pong: true });
    const c = client(srv.url, { heartbeat: { interval: 25_000, timeout: 10_000 } });
    await tick(8);
    expect(srv.pings).toBe(1); // the one at open
    firstShow();
    await tick(8);
    expect(srv.pings).toBe(1);
    pageshow();
    await tick(8);
    expect(srv.pings).toBe(2);
    expect(c.connection.state).toBe('open');
  });

  it('does not connect an idle client (autoConnect: false)', async () => {
    const srv = serve();
    const c = client(srv.url, { autoConnect: false });
    online();
    becomes('visible');
    pageshow();
    await tick(100);
    expect(c.connection.state).toBe('idle');
    expect(srv.connections).toBe(0);
  });
});

describe('browser awareness while open', () => {
  it.each([
    { event: 'window online', fire: online },
    { event: 'visibilitychange to visible', fire: () => becomes('visible') },
    { event: 'window pageshow', fire: pageshow },
    { event: 'document resume (unfrozen)', fire: resume },
  ])('checks the connection at once with a ping on $event', async ({ fire }) => {
    const srv = serve({ pong: true });
    const c = client(srv.url, { heartbeat: { interval: 25_000, timeout: 10_000 } });
    const beats = record(c, 'heartbeat');
    await tick(4);
    await tick(996); // t = 1000, the first scheduled ping is at 25004
    expect(srv.pings).toBe(1); // the one at open
    fire();
    await tick(4);
    expect(srv.pings).toBe(2);
    expect(beats).toEqual([{ rtt: 4 }, { rtt: 4 }]);
    expect(c.connection.state).toBe('open');
  });

  it('replaces a connection that does not answer the wake-up ping within the heartbeat timeout', async () => {
    const srv = serve({ pong: true }); // answers the ping at open, then falls silent
    const c = client(srv.url, { heartbeat: { interval: 25_000, timeout: 1000 }, reconnect: { initialDelay: 100 } });
    const errors = record(c, 'error');
    await tick(8);
    srv.pong = false;
    await tick(992);
    online(); // ping at 1000, dead at 2000
    await tick(999);
    expect(c.connection.state).toBe('open');
    await tick(1);
    expect(c.connection.state).toBe('reconnecting');
    expect(errors.map((e) => e.code)).toEqual(['heartbeat']);
    await tick(104);
    expect(srv.connections).toBe(2);
  });

  it('does not ping on visibilitychange to hidden', async () => {
    const srv = serve({ pong: true });
    client(srv.url, { heartbeat: { interval: 25_000, timeout: 10_000 } });
    await tick(8);
    becomes('hidden');
    await tick(100);
    expect(srv.pings).toBe(1); // the one at open only
  });

  it('sends nothing extra with the heartbeat turned off', async () => {
    const srv = serve();
    const c = client(srv.url);
    const errors = record(c, 'error');
    await tick(4);
    online();
    becomes('visible');
    pageshow();
    await tick(100);
    expect(srv.received).toEqual([]);
    expect(errors).toEqual([]);
    expect(c.connection.state).toBe('open');
  });
});

describe('browser awareness after close()', () => {
  it('ignores online, visibilitychange and pageshow once closed', async () => {
    const srv = serve({ pong: true });
    const c = client(srv.url, { heartbeat: {} });
    await tick(4);
    c.close();
    const states = record(c, 'state');
    online();
    becomes('visible');
    pageshow();
    await tick(60_000);
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'closed', reason: 'close()' });
    expect(srv.connections).toBe(1);
    expect(srv.pings).toBe(1); // the one at open only
    expect(states).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('removes every listener it added to window and document', async () => {
    const added: [EventTarget, string, unknown][] = [];
    const removed: [EventTarget, string, unknown][] = [];
    for (const target of [window, document] as EventTarget[]) {
      const add = target.addEventListener.bind(target);
      const remove = target.removeEventListener.bind(target);
      vi.spyOn(target, 'addEventListener').mockImplementation((type, fn, o) => {
        added.push([target, type, fn]);
        add(type, fn, o);
      });
      vi.spyOn(target, 'removeEventListener').mockImplementation((type, fn, o) => {
        removed.push([target, type, fn]);
        remove(type, fn, o);
      });
    }
    const srv = serve();
    const c = client(srv.url);
    await tick(4);
    expect(added.map(([t, type]) => [t === window ? 'window' : 'document', type]).sort()).toEqual([
      ['document', 'resume'],
      ['document', 'visibilitychange'],
      ['window', 'offline'],
      ['window', 'online'],
      ['window', 'pageshow'],
    ]);
    expect(removed).toEqual([]);
    c.close();
    expect(removed).toHaveLength(added.length);
    for (const a of added) expect(removed).toContainEqual(a);
  });

  it('leaves the other clients listening', async () => {
    const a = serve();
    const b = serve();
    const ca = await waitingOneMinute(a);
    const cb = await waitingOneMinute(b);
    ca.close();
    online();
    await tick(4);
    expect(cb.connection.state).toBe('open');
    expect(b.connections).toBe(2);
    expect(a.connections).toBe(1);
  });
});
