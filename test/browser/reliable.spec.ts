// Reliable delivery (PROTOCOL.md) in a real Chromium, with faults injected: the CDN build (dist/surewire.min.js,
// `Surewire.reliable()`) on a page under `script-src 'self'` (fixtures/reliable.html), the protocol's server
// side (`reliable()` from src/server, memory store) behind a real `ws` server, and a TCP proxy in between that
// cuts or stalls the connection at seeded random points (the seed is printed; replay with SUREWIRE_SEED=<seed>).
//   - client → server: numbers sent steadily by the page reach the server app once each, in order;
//   - a reload mid-stream with `queue.storage: localStorage`: the next page load continues the same session
//     and nothing pending at the reload is lost or handed over twice;
//   - server → client: a stream resumed across cuts, each message delivered to the page once, in order; with a
//     history too short to replay, a `discontinuity` instead of a silent gap.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import { startStaticServer, type StaticServer } from './helpers/static-server';
import { expectNoPageErrors, launchChromium, pageWatch, waitForEntry, type Entry, type TestPage } from './helpers/browser';
import {
  inOrderOnce,
  openReliablePage,
  pageGot,
  pagePending,
  pageSnapshot,
  seedFor,
  sequenceProblems,
  startReliableServer,
  until,
  upTo,
  waitInPage,
  type PageSnapshot,
  type ReliableTestServer,
} from './helpers/reliable';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';
import { delay, waitFor } from '../helpers/wait';

let browser: Browser;
let web: StaticServer;
let srv: ReliableTestServer | undefined;
let proxy: TcpProxy | undefined;
let context: BrowserContext | undefined;

beforeAll(async () => {
  [browser, web] = await Promise.all([launchChromium(), startStaticServer()]);
});
afterAll(async () => {
  await browser?.close();
  await web?.close();
});
afterEach(async () => {
  await context?.close();
  await proxy?.close();
  await srv?.close();
  context = proxy = srv = undefined;
});

/** A reliable server, a proxy in front of it, and a fresh browser context (so a fresh localStorage). */
async function setUp(o: { history?: number } = {}): Promise<{ srv: ReliableTestServer; proxy: TcpProxy; context: BrowserContext }> {
  srv = await startReliableServer(o);
  proxy = await startTcpProxy({ port: srv.port });
  context = await browser.newContext();
  return { srv, proxy, context };
}

/** No uncaught error, no console error (beyond the browser's own failed-connection messages), no CSP violation. */
async function expectCleanPage(t: TestPage): Promise<void> {
  // Gives a queued `securitypolicyviolation` or error event the chance to be dispatched first.
  await t.page.evaluate(() => new Promise((r) => setTimeout(r, 50)));
  expect(await pageWatch(t.page)).toEqual({ violations: [], errors: [] });
  expectNoPageErrors(t);
}

/** `count` points in [lo, hi), one at a random place in each of `count` equal slots (so they are spread out). */
const spread = (random: () => number, count: number, lo: number, hi: number): number[] =>
  Array.from({ length: count }, (_, i) => Math.floor(lo + ((hi - lo) / count) * (i + random() * 0.8)));

const fastReconnect = { initialDelay: 20, maxDelay: 50, jitter: 0 };

/**
 * The page's `close` events, each fault (fired at `at`, Node's and the page's `Date.now()`) matched to the first
 * close after it. `extra`: closes no fault caused: a heartbeat that timed out on a working link because the
 * machine was too busy to answer in time (code 4000). They are allowed (delivery must survive them too) and
 * reported; anything else is not.
 */
function closesOf(t: TestPage, faults: { at: number }[]): { matched: (Entry | undefined)[]; extra: Entry[] } {
  const closes = t.of('close');
  const matched = faults.map((f, i) => closes.find((c) => c.t >= f.at && c.t < (faults[i + 1]?.at ?? Infinity)));
  return { matched, extra: closes.filter((c) => !matched.includes(c)) };
}

/** Waits until the page's client is open on a connection made after the `opens`th open. */
const reopened = (t: TestPage, opens: number, timeout = 5000): Promise<PageSnapshot> =>
  waitInPage(t, (s) => s.state == 'open' && s.opens > opens, timeout, `the page open again (after open #${opens})`);

describe('reliable delivery in Chromium, through a TCP proxy that breaks the connection', () => {
  it('client → server: 1,500 numbers sent steadily by the page reach the server app once each, in order, across 5–8 seeded cuts and stalls', async () => {
    const { seed, random } = seedFor('client → server');
    const N = 1500;
    const K = 5 + Math.floor(random() * 4);
    const kinds: ('cut' | 'stall')[] = Array.from({ length: K }, () => (random() < 0.5 ? 'cut' : 'stall'));
    if (!kinds.includes('cut')) kinds[0] = 'cut';
    if (!kinds.includes('stall')) kinds[K - 1] = 'stall';
    // Each fault fires inside the server app's handler of message number `points[i]` (or of the first one after
    // it, if the connection is not back from the previous fault yet): after that message is stored and handed
    // over, before its `$ack` can leave. So every fault leaves the page with messages the server has and the page
    // does not know it has (the next `$welcome` tells it, and they must not reach the app again), and, on a
    // stall, messages written to a dead socket (they must be resent).
    const points = spread(random, K, N * 0.04, N * 0.85);
    const { srv, proxy, context } = await setUp();

    // 5 messages every 20 ms: ~6 s of steady sending. A stall is found by the heartbeat (interval + timeout).
    const t = await openReliablePage(context, web.origin, {
      url: proxy.url(),
      options: { reconnect: fastReconnect, heartbeat: { interval: 150, timeout: 400 } },
      send: { to: N, batch: 5, every: 20 },
    });
    const { session } = await pageSnapshot(t);
    const faults: { kind: string; point: number; handled: number; sent: number; at: number }[] = [];
    let opens = 0;
    for (let i = 0; i < K; i++) {
      // Armed on a live connection (a new one after the previous fault): it hits that connection.
      opens = (await reopened(t, opens)).opens;
      let handled = 0;
      let at = 0;
      srv.onHandled = (h) => {
        if (h.event != 'm' || (h.args[0] as number) < points[i]!) return;
        srv.onHandled = undefined;
        at = Date.now();
        if (kinds[i] == 'cut') proxy.cut();
        else proxy.stall(); // the TCP connection stays up and silent; new connections go through
        handled = h.args[0] as number;
      };
      await waitFor(() => handled, 10_000, `fault ${i + 1} (${kinds[i]} at message ${points[i]})`);
      faults.push({ kind: kinds[i]!, point: points[i]!, handled, sent: (await pageSnapshot(t)).sent, at });
    }
    await reopened(t, opens);
    await waitForEntry(t, 'delivered', 1, 15_000);
    const page = await pageSnapshot(t);
    const numbers = srv.numbers();
    const { matched, extra } = closesOf(t, faults);
    // Per stall: how many messages the page wrote to the dead socket before the heartbeat closed it.
    const lost = faults.map((f, i) => (f.kind == 'stall' ? (matched[i]?.sent as number) - f.handled : null));
    const connLog = t.log
      .filter((e) => ['open', 'close', 'error'].includes(e.kind))
      .map((e) => `${e.kind}${e.code ? `:${String(e.code)}` : ''}@${e.t - t.log[0]!.t}ms/sent ${String(e.sent)}`);
    console.log(
      `[reliable.spec] client → server: seed ${seed}, ${N} messages, faults ${JSON.stringify(faults.map(({ at: _, ...f }) => f))}, ` +
        `written to stalled links ${JSON.stringify(lost)}, ` +
        `$m frames that reached the server ${srv.frames} (${srv.frames - N} more than once), ` +
        `${page.results.queued} queued by the page while reconnecting` +
        (extra.length ? `; closes no fault caused (heartbeat false alarms on a busy machine): ${extra.length}` : ''),
    );
    const why = `seed ${seed}, faults ${JSON.stringify(faults)}, page: ${connLog.join(' ')}`;

    // Every fault hit the stream while the page was still sending.
    expect(faults.every((f) => f.handled > 0 && f.handled < N), why).toBe(true);
    // Each number handed to the app once, in order, all in the page's one session.
    expect(sequenceProblems(numbers, N), why).toEqual(inOrderOnce(N));
    expect(numbers).toEqual(upTo(N));
    expect(new Set(srv.handled.map((h) => h.session))).toEqual(new Set([session]));
    expect(srv.store.size).toBe(1);
    expect(srv.errors).toEqual([]);
    // Each fault closed the connection it hit: a cut is seen by the browser (1006), a stall by the heartbeat (4000).
    expect(matched.map((c) => c?.code), why).toEqual(kinds.map((k) => (k == 'cut' ? 1006 : 4000)));
    expect(extra.map((c) => c.code), why).toEqual(extra.map(() => 4000));
    // One connection per close, plus the first, every one for the page's session.
    const closes = K + extra.length;
    expect(page.opens).toBe(closes + 1);
    expect(srv.connections).toBe(closes + 1);
    expect(srv.sessions()).toEqual(Array(closes + 1).fill(session));
    // A stalled link forwards nothing, so the server's count stayed where it was at the stall, while the page
    // went on writing to the dead socket until the heartbeat noticed: those messages were lost on the way, and
    // resent (and handed over once) on the next connection.
    expect(lost.every((n) => n === null || n > 0), `${why}, written to stalled links ${JSON.stringify(lost)}`).toBe(true);
    // Nothing dropped on the way: the outbox held what was sent while reconnecting.
    expect(page.results.dropped ?? 0).toBe(0);
    expect(page.results.sent + page.results.queued).toBe(N);
    expect(t.of('drop')).toEqual([]);
    expect(page.delivered).toBe(true);
    await expectCleanPage(t);
  }, 40_000);

  it('a reload mid-stream with queue.storage: the new page load continues the same session, and nothing pending at the reload is lost or doubled', async () => {
    const KEY = 'reliable-spec:reload';
    const N = 400;
    const { srv, proxy, context } = await setUp();
    // 1 message every 10 ms. The app keeps its own counter in localStorage, so the next load goes on after it.
    const t = await openReliablePage(context, web.origin, {
      url: proxy.url(),
      storageKey: KEY,
      counterKey: `${KEY}:app-counter`,
      options: { reconnect: { initialDelay: 30, maxDelay: 30, jitter: 0 }, heartbeat: { interval: 150, timeout: 400 } },
      send: { to: N, batch: 1, every: 10 },
    });
    const first = await pageSnapshot(t);
    expect((await waitForEntry(t, 'start', 1)).restored).toMatchObject({ session: null, unacked: [], queued: [] });
    await waitForEntry(t, 'open', 1);
    await waitFor(() => srv.numbers().length >= 40, 5000, 'the server app has 40 messages');

    // The link goes silent and every new attempt is refused: what the page sends now is written to the dead
    // socket (unacknowledged) until the heartbeat notices, then queued in the outbox.
    proxy.mode = 'refuse';
    proxy.stall();
    const stalledAt = Date.now();
    expect(await waitForEntry(t, 'close', 1, 3000, (e) => e.t >= stalledAt)).toMatchObject({ code: 4000, willReconnect: true });
    const before = await until(() => pagePending(t), (p) => !!p && p.unacked.length > 0 && p.queued.length >= 10, 5000, 'unacknowledged and queued messages in localStorage');
    // Nothing gets through any more: the server's count is final until the reload.
    const handledAtReload = srv.numbers().length;
    expect(await pageWatch(t.page)).toEqual({ violations: [], errors: [] });
    await t.page.reload();

    // What was pending at the reload (read from localStorage just before it): every number after the last
    // acknowledged one, up to the last sent, either unacknowledged or queued, and some of it never reached the server.
    const b = before!;
    expect(b.session).toBe(first.session);
    expect(b.counter!).toBeLessThan(N); // the page was still sending
    expect([...b.unacked, ...b.queued]).toEqual(upTo(b.counter!, b.acked! + 1));
    expect(b.acked!).toBeLessThanOrEqual(handledAtReload);
    expect(handledAtReload).toBeLessThan(b.counter!);
    expect(srv.numbers()).toEqual(upTo(handledAtReload));

    // The new page load found it all in storage, and its new client took up the same session.
    const start2 = await waitForEntry(t, 'start', 2, 5000);
    const restored = start2.restored as NonNullable<typeof before>;
    expect(start2.session).toBe(first.session);
    expect(restored.session).toBe(first.session);
    expect(restored.counter!).toBeGreaterThanOrEqual(b.counter!);
    expect(restored.unacked).toEqual(b.unacked);
    expect([...restored.unacked, ...restored.queued]).toEqual(upTo(restored.counter!, b.acked! + 1));

    // It goes on sending while every attempt is still refused (queued), then the network comes back.
    const refused = proxy.refused;
    await waitInPage(t, (s) => s.results.queued >= 20, 5000, 'the new page load queued 20 messages');
    await waitFor(() => proxy.refused > refused, 3000, 'a refused attempt of the new page load');
    expect(srv.numbers().length).toBe(handledAtReload);
    proxy.mode = 'forward';
    await waitForEntry(t, 'delivered', 1, 10_000);
    const page = await pageSnapshot(t);
    const numbers = srv.numbers();
    console.log(
      `[reliable.spec] reload: ${N} messages, at the reload ${handledAtReload} handled, ${b.unacked.length} unacknowledged ` +
        `and ${b.queued.length} queued in localStorage (last sent ${b.counter}); the new load sent ${page.first}…${page.sent}`,
    );

    expect(page.session).toBe(first.session);
    expect(page.first).toBe(restored.counter! + 1);
    expect(page.results.dropped ?? 0).toBe(0);
    expect(sequenceProblems(numbers, N)).toEqual(inOrderOnce(N));
    expect(numbers).toEqual(upTo(N));
    // One session on the server, from both page loads: every connection said `$hello` for it.
    expect(new Set(srv.handled.map((h) => h.session))).toEqual(new Set([first.session]));
    expect(srv.store.size).toBe(1);
    expect(srv.sessions().length).toBeGreaterThanOrEqual(2);
    expect(new Set(srv.sessions())).toEqual(new Set([first.session]));
    expect(srv.errors).toEqual([]);
    expect(t.of('drop')).toEqual([]);
    // Nothing left behind in storage once everything is acknowledged.
    expect(await pagePending(t)).toMatchObject({ session: first.session, unacked: [], queued: [], acked: N });
    await expectCleanPage(t);
  }, 30_000);

  it('server → client: a stream resumed across seeded cuts, each message delivered to the page once, in order', async () => {
    const { seed, random } = seedFor('server → client');
    const N = 800;
    const K = 3 + Math.floor(random() * 2);
    const points = spread(random, K, N * 0.05, N * 0.85);
    const { srv, proxy, context } = await setUp();
    const t = await openReliablePage(context, web.origin, {
      url: proxy.url(),
      options: { reconnect: fastReconnect, heartbeat: { interval: 1000, timeout: 1000 } },
    });
    await waitForEntry(t, 'open', 1);
    const { session } = await pageSnapshot(t);

    // The server app streams 4 messages every 10 ms, whatever the connection is doing.
    let pushed = 0;
    const streaming = (async () => {
      while (pushed < N) {
        await srv.server.send(session, 'p', ++pushed);
        if (pushed % 4 == 0) await delay(10);
      }
    })();
    const cuts: { point: number; pushed: number; got: number; at: number }[] = [];
    let opens = 0;
    for (let i = 0; i < K; i++) {
      opens = (await reopened(t, opens)).opens;
      await waitFor(() => pushed >= points[i]!, 10_000, `${points[i]} pushed`);
      const at = Date.now();
      proxy.cut();
      cuts.push({ point: points[i]!, pushed, got: (await pageSnapshot(t)).got, at });
    }
    await streaming;
    await reopened(t, opens);
    await waitInPage(t, (s) => s.got >= N, 10_000, `${N} messages in the page`);
    // The page acknowledged everything: the server trimmed its history up to N, so nothing more will be replayed.
    await until(() => srv.store.since(session, N - 1), (v) => v === undefined, 3000, 'the history trimmed to N');
    const got = await pageGot(t);
    const page = await pageSnapshot(t);
    console.log(`[reliable.spec] server → client: seed ${seed}, ${N} messages, cuts ${JSON.stringify(cuts.map(({ at: _, ...c }) => c))}`);
    const why = `seed ${seed}, cuts ${JSON.stringify(cuts)}`;

    expect(cuts.every((c) => c.pushed < N), why).toBe(true);
    expect(sequenceProblems(got, N), why).toEqual(inOrderOnce(N));
    expect(got).toEqual(upTo(N));
    expect(page.discontinuities).toEqual([]);
    const { matched, extra } = closesOf(t, cuts);
    expect(matched.map((c) => c?.code), why).toEqual(Array(K).fill(1006));
    expect(extra.map((c) => c.code), why).toEqual(extra.map(() => 4000));
    expect(page.opens).toBe(K + extra.length + 1);
    expect(srv.connections).toBe(K + extra.length + 1);
    expect(srv.store.size).toBe(1);
    expect(srv.errors).toEqual([]);
    await expectCleanPage(t);
  }, 30_000);

  it('server → client with a history too short to replay: the page gets a discontinuity, not a silent gap', async () => {
    const { srv, proxy, context } = await setUp({ history: 5 });
    const t = await openReliablePage(context, web.origin, {
      url: proxy.url(),
      options: { reconnect: fastReconnect, heartbeat: { interval: 1000, timeout: 1000 } },
    });
    await waitForEntry(t, 'open', 1);
    const { session } = await pageSnapshot(t);
    for (let n = 1; n <= 3; n++) await srv.server.send(session, 'p', n);
    await waitInPage(t, (s) => s.got >= 3, 3000, 'the first 3 messages in the page');

    // Offline while the server app sends 27 more: the history keeps only the last 5 (26–30).
    proxy.mode = 'refuse';
    proxy.cut();
    await waitForEntry(t, 'close', 1);
    for (let n = 4; n <= 30; n++) await srv.server.send(session, 'p', n);
    proxy.mode = 'forward';

    const gap = await waitForEntry(t, 'discontinuity', 1, 5000);
    expect(gap).toMatchObject({ from: 3, to: 30, got: 3 });
    await waitForEntry(t, 'open', 2, 3000);
    // The stream goes on from the server's offset.
    for (let n = 31; n <= 33; n++) await srv.server.send(session, 'p', n);
    await waitInPage(t, (s) => s.got >= 6, 3000, 'the 3 live messages after the gap');
    expect(await pageGot(t)).toEqual([1, 2, 3, 31, 32, 33]);
    expect((await pageSnapshot(t)).discontinuities).toEqual([{ from: 3, to: 30 }]);
    expect(srv.errors).toEqual([]);
    await expectCleanPage(t);
  }, 20_000);
});

describe('reliable delivery on a plain http: page (an insecure context), with a corrupt saved state', () => {
  // A host name other than localhost makes an insecure context, where crypto.randomUUID does not exist (only
  // getRandomValues does). Chromium resolves it to 127.0.0.1: the traffic stays on loopback.
  let insecure: Browser;
  beforeAll(async () => {
    insecure = await launchChromium(['--host-resolver-rules=MAP insecure.test 127.0.0.1']);
  });
  afterAll(async () => {
    await insecure?.close();
  });

  it('makes a 22-character session id from getRandomValues, reports the corrupt entry, starts afresh and delivers', async () => {
    srv = await startReliableServer();
    context = await insecure.newContext();
    const origin = web.origin.replace('127.0.0.1', 'insecure.test');
    const key = 'rel-insecure';
    // Before the app runs: what an older or broken page left in localStorage.
    const first = await context.newPage();
    await first.goto(`${origin}/fixtures/reliable.html`);
    expect(await first.evaluate(() => [isSecureContext, typeof crypto.randomUUID, typeof crypto.getRandomValues])).toEqual([false, 'undefined', 'function']);
    await first.evaluate((k) => localStorage.setItem(k + ':reliable', JSON.stringify(['not a session!', 1e300, -1, 'x', {}])), key);
    await first.close();

    const t = await openReliablePage(context, origin, {
      url: `ws://127.0.0.1:${srv.port}/`,
      storageKey: key,
      options: { reconnect: fastReconnect },
      send: { to: 20, batch: 5, every: 10 },
    });
    const error = await waitForEntry(t, 'error', 1);
    expect(error).toMatchObject({ name: 'SurewireError', code: 'storage' });
    expect(error.message).toContain(`bad saved state in queue.storage "${key}:reliable": discarded, new session`);
    await waitForEntry(t, 'delivered', 1, 5000);
    const { session } = await pageSnapshot(t);
    expect(session).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(srv.numbers()).toEqual(upTo(20));
    expect(srv.sessions()).toEqual([session]);
    expect((await pagePending(t))?.session).toBe(session);
    expect(t.of('error')).toHaveLength(1);
    expect(t.of('close')).toEqual([]);
    expect(t.pageErrors).toEqual([]);
  });
});
