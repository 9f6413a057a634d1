// The socket.io CDN build (dist/surewire.socket.io.min.js) in a real Chromium, against a real socket.io server.
// The page (fixtures/sio.html) loads the library, socket.io-client included, by one plain <script src>, plus
// its own app script (fixtures/sio-main.js), under `Content-Security-Policy: script-src 'self'`. The page
// comes from the static server and the socket.io server listens on another port of 127.0.0.1: a cross-origin
// connection, which the socket.io server allows for the page's origin only (`cors.origin`). The CSP/error
// watcher (fixtures/csp-watch.js) is injected as an init script, so it sees everything from the start and the
// page's own scripts are just those two.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import { CSP, DIST, FIXTURES, startStaticServer, type StaticServer } from './helpers/static-server';
import { launchChromium, openPage, pageWatch, states, waitForEntry, type TestPage } from './helpers/browser';
import { startSioServer, type SioSetup, type TestSioServer } from '../helpers/sio-server';
import { deferred, waitFor, type Deferred } from '../helpers/wait';

const BUNDLE = 'surewire.socket.io.min.js';

let browser: Browser;
let web: StaticServer;
let sio: TestSioServer | undefined;
let context: BrowserContext | undefined;
let t: TestPage;
/** Script URLs the page requested, in order. */
let scripts: string[];

beforeAll(async () => {
  // global-setup.ts checks only the plain builds.
  if (!existsSync(resolve(DIST, BUNDLE))) throw new Error(`socketio.spec.ts needs ${resolve(DIST, BUNDLE)}. Run \`npm run build\` first.`);
  [browser, web] = await Promise.all([launchChromium(), startStaticServer()]);
});
afterAll(async () => {
  await browser?.close();
  await web?.close();
});
afterEach(async () => {
  await context?.close();
  await sio?.close();
  context = sio = undefined;
});

interface SioWindow {
  S: {
    api(): Record<string, unknown>;
    start(url: string, options: object, sio: object, events: string[], early: unknown[][]): { state: string; sent: string[] };
    send(event: string, args: unknown[]): string;
    request(event: string, args: unknown[], timeout: number): Promise<{ ok?: unknown; error?: string }>;
    state(): string;
  };
}
/** `say(...args)` → `echo(...args)`; request `add(a, b)` → ack(a + b). */
const serve: SioSetup = (socket) => {
  socket.on('say', (...args: unknown[]) => socket.emit('echo', ...args));
  socket.on('add', (a: number, b: number, ack: (sum: number) => void) => ack(a + b));
};

/** What the namespace middleware saw, per handshake, in order. */
interface Handshake {
  auth: unknown;
  origin: string | undefined;
}

/**
 * A socket.io server that lets the page's origin in (CORS, for the long-polling requests), records every
 * handshake in `handshakes`, and holds a handshake while `gate.current` is set, until it is resolved.
 */
async function startServer(handshakes: Handshake[], gate: { current?: Deferred<void> } = {}): Promise<TestSioServer> {
  return startSioServer({
    io: { cors: { origin: web.origin } },
    use(socket, next) {
      handshakes.push({ auth: socket.handshake.auth, origin: socket.handshake.headers.origin });
      const held = gate.current;
      if (held) void held.promise.then(() => next());
      else next();
    },
    onConnection: serve,
  });
}

/** A fresh context and page on fixtures/sio.html, with the watcher injected before anything runs. */
async function load(): Promise<void> {
  context = await browser.newContext();
  t = await openPage(context);
  scripts = [];
  t.page.on('request', (r) => void (r.resourceType() == 'script' && scripts.push(r.url())));
  await t.page.addInitScript({ path: resolve(FIXTURES, 'csp-watch.js') });
  const res = await t.page.goto(`${web.origin}/fixtures/sio.html`);
  expect(res?.status(), 'sio.html').toBe(200);
  expect(res?.headers()['content-security-policy']).toBe(CSP);
  await t.page.waitForFunction(() => typeof (window as unknown as SioWindow).S == 'object', undefined, { timeout: 5000 });
}

function start(url: string, options: object, sioOptions: object, events: string[], early: unknown[][] = []): Promise<{ state: string; sent: string[] }> {
  return t.page.evaluate(([u, o, s, e, m]) => (window as unknown as SioWindow).S.start(u, o, s, e, m), [url, options, sioOptions, events, early] as const);
}
function send(event: string, ...args: unknown[]): Promise<string> {
  return t.page.evaluate(([e, a]) => (window as unknown as SioWindow).S.send(e, a), [event, args] as const);
}
function request(event: string, args: unknown[], timeout = 2000): Promise<{ ok?: unknown; error?: string }> {
  return t.page.evaluate(([e, a, ms]) => (window as unknown as SioWindow).S.request(e, a, ms), [event, args, timeout] as const);
}
const pageState = (): Promise<string> => t.page.evaluate(() => (window as unknown as SioWindow).S.state());

/** The args of every `echo` the page received, in order. */
const echoes = (): unknown[][] => t.of('msg').map((e) => e.args as unknown[]);

/** Waits for the echo whose first argument is `text`. */
const echoOf = (text: string): Promise<unknown> => waitForEntry(t, 'msg', 1, 3000, (e) => (e.args as unknown[])[0] == text);

/** Gives a queued `securitypolicyviolation` or error event the chance to fire (they are dispatched as tasks). */
const settle = (): Promise<unknown> => t.page.evaluate(() => new Promise((r) => setTimeout(r, 100)));

/** No CSP violation, nothing thrown, nothing logged as an error: seen by the page itself and by Playwright. */
async function expectCleanPage(): Promise<void> {
  await settle();
  const watch = await pageWatch(t.page);
  expect(watch.violations, 'securitypolicyviolation events').toEqual([]);
  expect(watch.errors, 'errors seen by the page').toEqual([]);
  expect(t.pageErrors, 'uncaught errors in the page').toEqual([]);
  expect(t.consoleErrors, 'console errors in the page').toEqual([]);
}

const AUTH = { token: 'tok-7f3a', user: { id: 42, name: 'Ada' } };

describe('the socket.io CDN build (dist/surewire.socket.io.min.js)', () => {
  it("works from one <script src> under script-src 'self': events, request/ack, auth, open; no violation, no error", async () => {
    const handshakes: Handshake[] = [];
    sio = await startServer(handshakes);
    await load();

    // The page ran exactly the bundle and its own script: socket.io-client came from the bundle.
    expect(scripts).toEqual([`${web.origin}/dist/${BUNDLE}`, `${web.origin}/fixtures/sio-main.js`]);
    expect(await t.page.evaluate(() => (window as unknown as SioWindow).S.api())).toEqual({
      client: 'function',
      socketIo: 'function',
      io: 'function',
      ioManager: 'function',
      isSurewireError: 'function',
    });

    const started = await start(sio.url(), { reconnect: { initialDelay: 50, maxDelay: 200, jitter: 0 } }, { auth: AUTH }, ['echo'], [['say', 'early', 0]]);
    // Sent before anything could open: it waits in the outbox.
    expect(started).toEqual({ state: 'connecting', sent: ['queued'] });

    const open = await waitForEntry(t, 'open', 1);
    expect(open).toMatchObject({ recovered: false });
    // The auth payload reached the server's middleware and the socket's handshake, from the page's origin.
    expect(handshakes).toEqual([{ auth: AUTH, origin: web.origin }]);
    const conn = await sio.waitForConnections(1);
    expect(conn.auth).toEqual(AUTH);

    // A typed event with several arguments of several types, there and back.
    const args = ['hello', 42, { nested: [1, 'two', null], ok: true }, [3, 4], false];
    expect(await send('say', ...args)).toBe('sent');
    await echoOf('hello');
    expect(echoes()).toEqual([['early', 0], args]);

    // A request answered by the server's acknowledgement.
    expect(await request('add', [2, 3])).toEqual({ ok: 5 });

    expect(sio.received).toEqual([
      { conn: 1, event: 'say', args: ['early', 0], ack: false },
      { conn: 1, event: 'say', args, ack: false },
      { conn: 1, event: 'add', args: [2, 3], ack: true },
    ]);
    // socket.io-client upgraded from long-polling to WebSocket, across origins, under the page's policy.
    await waitFor(() => conn.socket.conn.transport.name == 'websocket', 3000, 'the engine.io upgrade to websocket');
    expect(sio.connections).toHaveLength(1);
    expect(t.of('open')).toHaveLength(1);
    expect(t.of('error')).toEqual([]);
    expect(states(t)).toEqual(['open']);

    await expectCleanPage();
  });

  it('reconnects by itself after the server drops the transport, and delivers what was sent meanwhile, in order', async () => {
    const handshakes: Handshake[] = [];
    const gate: { current?: Deferred<void> } = {};
    sio = await startServer(handshakes, gate);
    await load();
    await start(sio.url(), { reconnect: { initialDelay: 50, maxDelay: 50, jitter: 0 } }, { auth: AUTH }, ['echo']);
    await waitForEntry(t, 'open', 1);
    expect(await send('say', 'before', 1)).toBe('sent');
    await echoOf('before');

    // The next handshake is held at the server until released: the client stays down, deterministically.
    gate.current = deferred<void>();
    sio.last!.socket.conn.close();
    const close = await waitForEntry(t, 'close', 1);
    expect(close).toMatchObject({ code: 1006, reason: 'transport close', willReconnect: true });
    // Nobody asks it to: the client comes back by itself (its handshake reaches the middleware).
    await waitFor(() => handshakes.length >= 2, 3000, 'the second handshake');
    expect(await pageState()).toBe('connecting');

    expect(await send('say', 'down-1', 2)).toBe('queued');
    expect(await send('say', 'down-2', 3)).toBe('queued');
    expect(await send('say', 'down-3', 4)).toBe('queued');
    expect(t.of('open')).toHaveLength(1);
    gate.current.resolve();

    await waitForEntry(t, 'open', 2);
    expect(await send('say', 'after', 5)).toBe('sent');
    await echoOf('after');

    expect(sio.connections).toHaveLength(2);
    // What the server did: it closed the engine.io connection (not the namespace's socket.disconnect()).
    expect(sio.connections[0]!.disconnected).toBe('forced close');
    expect(sio.events(1)).toEqual([['say', 'before', 1]]);
    // The outbox went out first, in order, then what was sent after the reopen.
    expect(sio.events(2)).toEqual([
      ['say', 'down-1', 2],
      ['say', 'down-2', 3],
      ['say', 'down-3', 4],
      ['say', 'after', 5],
    ]);
    expect(echoes()).toEqual([
      ['before', 1],
      ['down-1', 2],
      ['down-2', 3],
      ['down-3', 4],
      ['after', 5],
    ]);
    // The reconnect carried the auth payload again.
    expect(handshakes).toEqual([
      { auth: AUTH, origin: web.origin },
      { auth: AUTH, origin: web.origin },
    ]);
    expect(states(t)).toEqual(['open', 'reconnecting', 'connecting', 'open']);
    expect(t.of('reconnecting')).toEqual([expect.objectContaining({ attempt: 1, delay: 50 })]);

    await expectCleanPage();
  });
});
