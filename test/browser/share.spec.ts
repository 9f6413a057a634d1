// One connection for every tab (surewire/share) in a real Chromium: pages of one browser context, each loading
// the CDN build plus surewire.share.min.js under `script-src 'self'` (fixtures/share.html, share-sio.html), against
// the reliable-delivery server (src/server) over `ws` or socket.io. The pages are made through a second CDP
// connection without focus emulation (see connectWithoutFocusEmulation), so that CDP can really freeze one.
//   - three tabs hold exactly one socket; each sends 500 numbered messages while the leading tab is closed and
//     the next leader frozen mid-stream: with `reliable`, 0 lost and 0 duplicated at the server, and every server
//     event seen once, in order, by every tab left; each takeover is timed (printed) and within 1 s;
//   - the same over socket.io, and a leader that crashes; leaders that crash mid-burst, again and again (the
//     counts of lost and duplicated messages are printed);
//   - a tab that led, was frozen and is elected again leads with its reliable() again;
//   - requests from a follower, their timeout in that tab, and the store every tab mirrors;
//   - without the Web Locks API (deleted before any script runs) each tab connects on its own, and works.
//   - the demo page in two tabs, and the docs' picture of it (docs/images/tabs.png).
import { existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import { REPO, startStaticServer, type StaticServer } from './helpers/static-server';
import { connectWithoutFocusEmulation, expectNoPageErrors, launchForVisibility, pageWatch, type TestPage } from './helpers/browser';
import {
  numbersByTag,
  openTab,
  sendRange,
  startShareServer,
  tabCall,
  tabDelivered,
  tabRequest,
  tabSend,
  tabSnapshot,
  type ShareConfig,
  type ShareServer,
  type ShareSnapshot,
} from './helpers/share';
import { inOrderOnce, sequenceProblems, upTo } from './helpers/reliable';
import { delay, waitFor } from '../helpers/wait';
import { expectCleanPage as expectCleanDemo, expectQuietServer, openChat, resent, say, startDemo, textOf, untilShown, untilState } from './helpers/demo';
import { echo, startWsServer } from '../helpers/ws-server';

let browser: Browser;
let tabs: Browser;
let web: StaticServer;
let srv: ShareServer | undefined;
const cleanups: (() => Promise<unknown>)[] = [];
// Every test uses its own share name: the default context (its locks) lives as long as the file.
let run = 0;

beforeAll(async () => {
  [browser, web] = await Promise.all([launchForVisibility(), startStaticServer()]);
  tabs = await connectWithoutFocusEmulation(browser);
});
afterAll(async () => {
  await tabs?.close();
  await browser?.close();
  await web?.close();
});
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
  await srv?.close();
  srv = undefined;
});

/** The default context of the connection without focus emulation: its pages can be frozen. */
const context = (): BrowserContext => tabs.contexts()[0]!;

const fast = { reconnect: { initialDelay: 20, maxDelay: 50, jitter: 0 } };

/** `tags.length` tabs sharing one client, opened one after the other (the first one leads). */
async function openTabs(cfg: Omit<ShareConfig, 'tag' | 'name'>, tags: string[], ctx = context()): Promise<TestPage[]> {
  const name = `share-${++run}`;
  const out: TestPage[] = [];
  for (const tag of tags) {
    const t = await openTab(ctx, web.origin, { ...cfg, name, tag });
    cleanups.push(() => t.close());
    out.push(t);
  }
  return out;
}

const live = (t: TestPage[]): TestPage[] => t.filter((x) => !x.page.isClosed());
const snapshots = (t: TestPage[]): Promise<ShareSnapshot[]> => Promise.all(live(t).map(tabSnapshot));
const allOpen = (t: TestPage[], timeout = 5000): Promise<unknown> =>
  waitFor(async () => (await snapshots(t)).every((s) => s.conn?.state == 'open'), timeout, 'every tab open');

/** The tab that leads now (polled: roles change over the channel). */
async function leaderOf(t: TestPage[], timeout = 3000): Promise<TestPage> {
  let found: TestPage | undefined;
  await waitFor(
    async () => {
      for (const x of live(t)) if ((await tabSnapshot(x)).role == 'leader') return (found = x);
      return undefined;
    },
    timeout,
    'a leading tab',
  );
  return found!;
}

/** No uncaught error and no console error in the page, no CSP violation. */
async function expectCleanPage(t: TestPage): Promise<void> {
  expect(await pageWatch(t.page)).toEqual({ violations: [], errors: [] });
  expectNoPageErrors(t);
}

/** The server app pushes `p(1)`, `p(2)`, … to the shared session, one every `every` ms, until `stop()`. */
function stream(s: ShareServer, every = 5): { count(): number; stop(): Promise<void> } {
  let n = 0;
  let going = true;
  const done = (async () => {
    const [session] = s.sessions();
    while (going) {
      await s.server.send(session!, 'p', ++n);
      await new Promise((r) => setTimeout(r, every));
    }
  })();
  return { count: () => n, stop: async () => ((going = false), await done) };
}

/** The tag a tab was started with. */
const tagOf = (x: TestPage): string => x.log.find((e) => e.kind == 'start')!.tag as string;

/** Per tab (by tag), the last number it has sent so far. */
async function sentSoFar(t: TestPage[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const x of t) out[tagOf(x)] = (await tabSnapshot(x)).sent;
  return out;
}

/**
 * After the takeovers: each tab's numbers reached the server app once each, in order, all of them (a tab that
 * was closed: every number up to the last one it sent); every server event reached every tab left once, in order.
 */
async function expectExactlyOnce(left: TestPage[], s: ShareServer, sentBefore: Record<string, number>, N: number, pushed: number): Promise<void> {
  await waitFor(async () => (await snapshots(left)).every((x) => !x.sending), 20_000, 'every tab left sent all');
  const tags = Object.keys(sentBefore);
  const expected = (tag: string): number => (left.some((x) => tagOf(x) == tag) ? N : sentBefore[tag]!);
  const why = async (): Promise<string> =>
    JSON.stringify({
      numbers: Object.fromEntries(Object.entries(numbersByTag(s.handled)).map(([tag, got]) => [tag, sequenceProblems(got, expected(tag))])),
      events: (await snapshots(left)).map((x) => ({ role: x.role, conn: x.conn, ...sequenceProblems(x.got.p as number[], pushed) })),
      conns: s.conns,
      sentBefore,
    });
  await waitFor(() => tags.every((tag) => (numbersByTag(s.handled)[tag]?.length ?? 0) >= expected(tag)), 15_000, 'every number at the server').catch(async (e) => {

    throw new Error(`${e}: ${await why()}`);
  });
  await waitFor(async () => (await snapshots(left)).every((x) => x.got.p!.length >= pushed), 10_000, 'every event in every tab').catch(async (e) => {
    throw new Error(`${e}: ${await why()}`);
  });
  const problems = await why();
  const byTag = numbersByTag(s.handled);
  for (const tag of tags) {
    const got = byTag[tag]!;
    // A closed tab sent at least what it had sent when it was closed, and nothing is missing below its last.
    const n = Math.max(expected(tag), got.length);
    expect(sequenceProblems(got, n), `tab ${tag}: ${problems}`).toEqual(inOrderOnce(n));
  }
  for (const x of await snapshots(left)) expect(sequenceProblems(x.got.p as number[], pushed), problems).toEqual(inOrderOnce(pushed));
  expect(new Set(s.handled.map((h) => h.session)).size).toBe(1);
  expect(s.errors).toEqual([]);
}

describe('three tabs, one connection', () => {
  it('each tab sends 500 numbered messages while the leader tab is closed and the next leader frozen: 0 lost, 0 duplicated, every event once in every tab, takeover within 1 s', async () => {
    const N = 500;
    srv = await startShareServer();
    const t = await openTabs({ url: srv.url, reliable: true, options: fast }, ['a', 'b', 'c']);
    await allOpen(t);
    expect(srv.conns).toHaveLength(1);
    expect(srv.maxOpen).toBe(1);
    const first = await leaderOf(t);
    expect((await snapshots(t)).map((s) => s.role).sort()).toEqual(['follower', 'follower', 'leader']);

    const events = stream(srv);
    // 5 messages every 20 ms from each tab: about 2 s of steady sending.
    for (const x of t) await sendRange(x, N, 5, 20);
    await waitFor(() => srv!.handled.length >= 300, 10_000, '300 messages at the server');

    // The leading tab goes, mid-stream.
    const sentBefore = await sentSoFar(t);
    const closedAt = Date.now();
    await first.close();
    await waitFor(() => srv!.conns[1]?.hello, 3000, 'the next leader on the server');
    const takeover1 = srv.conns[1]!.hello! - closedAt;
    const second = await leaderOf(t);
    expect(second).not.toBe(first);
    await waitFor(() => srv!.handled.length >= 700, 10_000, '700 messages at the server');

    // The next leader is frozen, mid-stream.
    const cdp = await context().newCDPSession(second.page);
    const frozenAt = Date.now();
    await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
    await waitFor(() => srv!.conns[2]?.hello, 3000, 'the third leader on the server');
    const takeover2 = srv.conns[2]!.hello! - frozenAt;
    const third = live(t).find((x) => x !== second)!;
    expect((await tabSnapshot(third)).role).toBe('leader');
    expect(srv.conns[1]!.closed).toBeDefined();
    // It stays frozen a while (it sends nothing meanwhile: its timers are stopped), then comes back, follows,
    // and sends the rest of its numbers.
    const whileFrozen = numbersByTag(srv.handled)[tagOf(second)]!.length;
    await delay(300);
    expect(numbersByTag(srv.handled)[tagOf(second)]).toHaveLength(whileFrozen);
    await cdp.send('Page.setWebLifecycleState', { state: 'active' });
    await waitFor(async () => (await tabSnapshot(second)).role == 'follower', 3000, 'the thawed tab follows');

    await waitFor(async () => (await snapshots(t)).every((s) => !s.sending), 20_000, 'every tab sent all');
    await events.stop();
    console.log(
      `[share.spec] takeover after the leader tab closed: ${takeover1} ms; after the next leader froze: ${takeover2} ms ` +
        `(from the close / the CDP freeze to the new leader's $hello at the server)`,
    );
    expect(takeover1).toBeLessThan(1000);
    expect(takeover2).toBeLessThan(1000);
    await expectExactlyOnce(live(t), srv, sentBefore, N, events.count());
    console.log(`[share.spec] ${srv.handled.length} messages at the server, each once; ${events.count()} server events, each once in each of the 2 tabs left`);
    // Three sockets in all, the first leader's, the second's, the third's; each closed as the next came (the
    // closing handshake of one may overlap the opening of the next by a few ms); one open now.
    expect(srv.conns).toHaveLength(3);
    expect(srv.conns.map((c) => !!c.closed)).toEqual([true, true, false]);
    for (const x of live(t)) await expectCleanPage(x);
  }, 60_000);

  it('over socket.io: one connection for three tabs; the leader tab closes mid-stream, 0 lost, 0 duplicated', async () => {
    const N = 300;
    srv = await startShareServer({ sio: { origin: web.origin } });
    const t = await openTabs({ url: srv.url, reliable: true, sio: { transports: ['websocket'] }, options: fast }, ['a', 'b', 'c']);
    await allOpen(t);
    expect(srv.conns).toHaveLength(1);
    const first = await leaderOf(t);
    const events = stream(srv);
    for (const x of t) await sendRange(x, N, 5, 20);
    await waitFor(() => srv!.handled.length >= 200, 10_000, '200 messages at the server');
    const sentBefore = await sentSoFar(t);
    const closedAt = Date.now();
    await first.close();
    await waitFor(() => srv!.conns[1]?.hello, 3000, 'the next leader on the server');
    console.log(`[share.spec] socket.io: takeover after the leader tab closed: ${srv.conns[1]!.hello! - closedAt} ms`);
    expect(srv.conns[1]!.hello! - closedAt).toBeLessThan(1000);
    await waitFor(async () => (await snapshots(t)).every((s) => !s.sending), 20_000, 'every tab sent all');
    await events.stop();
    await expectExactlyOnce(live(t), srv, sentBefore, N, events.count());
    expect(srv.conns.map((c) => !!c.closed)).toEqual([true, false]);
    for (const x of live(t)) await expectCleanPage(x);
  }, 60_000);

  it('a leader tab that crashes: another takes over and nothing is lost or doubled', async () => {
    const N = 200;
    srv = await startShareServer();
    const ctx = await browser.newContext();
    cleanups.push(() => ctx.close());
    const t = await openTabs({ url: srv.url, reliable: true, options: fast }, ['a', 'b'], ctx);
    await allOpen(t);
    expect((await tabSnapshot(t[0]!)).role).toBe('leader');
    for (const x of t) await sendRange(x, N, 5, 20);
    await waitFor(() => srv!.handled.length >= 100, 10_000, '100 messages at the server');
    const sentBefore = { a: (await tabSnapshot(t[0]!)).sent, b: 0 };
    const crashedAt = Date.now();
    // chrome://crash makes the tab's renderer crash itself at once: no pagehide, no script runs; the browser
    // releases the tab's lock and closes its socket.
    const crashed = new Promise((resolve) => t[0]!.page.once('crash', resolve));
    const cdp = await ctx.newCDPSession(t[0]!.page);
    void cdp.send('Page.navigate', { url: 'chrome://crash' }).catch(() => {});
    await crashed;
    await waitFor(() => srv!.conns[1]?.hello, 3000, 'the next leader on the server');
    expect(t[0]!.of('pagehide')).toEqual([]);
    console.log(`[share.spec] takeover after the leader tab crashed: ${srv.conns[1]!.hello! - crashedAt} ms`);
    expect(srv.conns[1]!.hello! - crashedAt).toBeLessThan(1000);
    expect((await tabSnapshot(t[1]!)).role).toBe('leader');
    const events = stream(srv);
    await waitFor(() => events.count() >= 20, 3000, '20 events');
    await events.stop();
    await expectExactlyOnce([t[1]!], srv, sentBefore, N, events.count());
    // The crashed tab's socket may outlive it for a moment: the server closes it when the session moves.
    expect(srv.conns).toHaveLength(2);
    expect(srv.conns.filter((c) => !c.closed)).toHaveLength(1);
    expect(srv.conns[0]!.closed).toBeDefined();
  }, 40_000);
});

describe('a tab that leads again', () => {
  it('a leader frozen by the browser follows on resume, and leads again when the other tab closes: with reliable, 0 lost, 0 duplicated', async () => {
    srv = await startShareServer();
    const t = await openTabs({ url: srv.url, reliable: true, options: fast }, ['a', 'b']);
    const [a, b] = t as [TestPage, TestPage];
    await allOpen(t);
    expect((await tabSnapshot(a)).role).toBe('leader');
    for (let i = 1; i <= 20; i++) await tabSend(a, 'm', 'a', i);
    for (let i = 1; i <= 20; i++) await tabSend(b, 'm', 'b', i);
    await waitFor(() => srv!.handled.length == 40, 3000, '40 messages');
    const cdp = await context().newCDPSession(a.page);
    await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
    await waitFor(async () => (await tabSnapshot(b)).role == 'leader' && srv!.conns[1]?.hello, 3000, 'b leads');
    for (let i = 21; i <= 40; i++) await tabSend(b, 'm', 'b', i);
    await cdp.send('Page.setWebLifecycleState', { state: 'active' });
    await waitFor(async () => (await tabSnapshot(a)).role == 'follower', 3000, 'a follows');
    for (let i = 21; i <= 40; i++) await tabSend(a, 'm', 'a', i);
    await waitFor(() => srv!.handled.length == 80, 3000, '80 messages');
    // b goes: a is elected a second time, and its reliable() serves its new client from the state b left.
    await b.close();
    await waitFor(async () => (await tabSnapshot(a)).role == 'leader' && (await tabSnapshot(a)).conn?.state == 'open', 3000, 'a leads again');
    expect((await tabSnapshot(a)).roles).toEqual(['leader', 'follower', 'leader']);
    for (let i = 41; i <= 60; i++) await tabSend(a, 'm', 'a', i);
    await waitFor(() => srv!.handled.length >= 100, 3000, '100 messages');
    const [session] = srv.sessions();
    await srv.server.send(session!, 'p', 1);
    await waitFor(async () => (await tabSnapshot(a)).got.p!.length == 1, 3000, 'the event in a');
    await delay(100);
    expect(numbersByTag(srv.handled)).toEqual({ a: upTo(60), b: upTo(40) });
    expect(new Set(srv.handled.map((h) => h.session)).size).toBe(1);
    expect(srv.conns).toHaveLength(3);
    expect(srv.errors).toEqual([]);
    await expectCleanPage(a);
  });
});

describe('a leader that crashes in a send burst', () => {
  // A leader that dies has no pagehide: the next leader starts from the state the dead one shared before it
  // went. Both tabs send as fast as the page's timers go while the server pushes events, and the leader's
  // renderer crashes (chrome://crash) at a random moment of the stream; each run checks that the server got
  // every number of the follower once, in order, and of the crashed leader a gapless prefix, each once, and that
  // the follower got every server event once, in order. SHARE_CRASH_RUNS=<n> runs it more.
  // SHARE_CRASH_LOAD=heavy saturates the follower (the leader 20 messages every 4 ms, the follower 10, an event
  // every 2 ms; the reliable state goes to the follower after each burst): there the window docs/tabs.md
  // describes opens (the last state messages of the crashed tab never reach the follower) and this test fails
  // in about one run in two; it is the load to try a fix against.
  const runs = Number(process.env.SHARE_CRASH_RUNS ?? 6);
  const heavy = process.env.SHARE_CRASH_LOAD == 'heavy';
  it(`${runs} crashes mid-burst${heavy ? ' (heavy load)' : ''}: 0 lost, 0 duplicated at the server, every server event once in the tab left`, async () => {
    const totals = { runs: 0, lost: 0, duplicated: 0, eventProblems: 0, takeover: [] as number[] };
    const N = heavy ? 1500 : 600;
    for (let i = 0; i < runs; i++) {
      srv = await startShareServer();
      const ctx = await browser.newContext();
      const t = await openTabs({ url: srv.url, reliable: true, options: fast }, ['a', 'b'], ctx);
      await allOpen(t);
      expect((await tabSnapshot(t[0]!)).role).toBe('leader');
      const events = stream(srv, heavy ? 2 : 5);
      await sendRange(t[0]!, 1e9, heavy ? 20 : 5, 4);
      await sendRange(t[1]!, N, heavy ? 10 : 5, 4);
      await waitFor(() => srv!.handled.length >= 50, 5000, 'messages at the server');
      await delay(Math.floor(Math.random() * 250));
      const crashed = new Promise((resolve) => t[0]!.page.once('crash', resolve));
      const cdp = await ctx.newCDPSession(t[0]!.page);
      const at = Date.now();
      void cdp.send('Page.navigate', { url: 'chrome://crash' }).catch(() => {});
      await crashed;
      await waitFor(() => srv!.conns[1]?.hello, 5000, 'the next leader on the server');
      totals.takeover.push(srv.conns[1]!.hello! - at);
      await waitFor(async () => !(await tabSnapshot(t[1]!)).sending, 20_000, 'the follower sent all');
      // A loss shows as a number missing once the next ones are there; a run that stalls fails here.
      await waitFor(() => (numbersByTag(srv!.handled).b ?? []).includes(N), 15_000, "the follower's last number");
      await events.stop();
      await waitFor(async () => (await tabSnapshot(t[1]!)).got.p!.includes(events.count()), 10_000, 'the last event');
      await delay(50);
      const byTag = numbersByTag(srv.handled);
      const a = sequenceProblems(byTag.a ?? [], byTag.a?.length ?? 0);
      const b = sequenceProblems(byTag.b ?? [], N);
      const ev = sequenceProblems((await tabSnapshot(t[1]!)).got.p as number[], events.count());
      totals.runs++;
      totals.lost += b.missing.length + a.missing.length;
      totals.duplicated += b.duplicates.length + a.duplicates.length;
      if (ev.missing.length || ev.duplicates.length || ev.firstWrong >= 0) totals.eventProblems++;
      if (a.firstWrong >= 0 || b.firstWrong >= 0 || ev.firstWrong >= 0)
        console.log(`[share.spec] crash run ${i}: ${JSON.stringify({ a, b, ev, discontinuity: t[1]!.of('discontinuity') })}`);
      expect(srv.errors).toEqual([]);
      await ctx.close();
      await srv.close();
      srv = undefined;
    }
    const ms = totals.takeover.sort((x, y) => x - y);
    // The takeover is timed (within 1 s) by the test above, at an ordinary load; here both tabs keep the CPU busy.
    console.log(
      `[share.spec] ${totals.runs} leaders crashed mid-burst${heavy ? ' (heavy load)' : ''}: ${totals.lost} lost, ${totals.duplicated} duplicated at the server ` +
        `(lists capped at 20 a run), ${totals.eventProblems} runs with server events not once in order; takeover ${ms[0]}–${ms[ms.length - 1]} ms (median ${ms[ms.length >> 1]})`,
    );
    expect({ lost: totals.lost, duplicated: totals.duplicated, eventProblems: totals.eventProblems }).toEqual({ lost: 0, duplicated: 0, eventProblems: 0 });
  }, 30_000 + runs * 15_000);
});

describe('the API in every tab', () => {
  it("a follower's request gets its reply; its timeout runs in that tab; a server error is the app's RemoteError", async () => {
    srv = await startShareServer();
    const t = await openTabs({ url: srv.url, reliable: true, options: fast }, ['a', 'b']);
    await allOpen(t);
    const leader = await leaderOf(t);
    const follower = t.find((x) => x !== leader)!;
    expect(await tabRequest(follower, 'add', [2, 3])).toMatchObject({ ok: 5 });
    expect(await tabRequest(leader, 'add', [4, 5], 2000)).toMatchObject({ ok: 9 });
    expect((await tabRequest(follower, 'fail', [])).error).toMatchObject({ klass: 'RemoteError', code: 'remote', data: { why: 'nope' } });
    const timedOut = await tabRequest(follower, 'never', [], 300);
    expect(timedOut.error).toMatchObject({ klass: 'TimeoutError', code: 'timeout', message: 'surewire: no reply to "never" within 300 ms' });
    expect(timedOut.ms).toBeGreaterThanOrEqual(290);
    expect(timedOut.ms).toBeLessThan(1000);
    expect(srv.requests).toEqual(['add', 'add', 'fail', 'never']);
  });

  it('a request in flight when the leader tab closes rejects with a ClosedError in the follower that asked', async () => {
    srv = await startShareServer();
    const t = await openTabs({ url: srv.url, reliable: true, options: fast }, ['a', 'b']);
    await allOpen(t);
    const leader = await leaderOf(t);
    const follower = t.find((x) => x !== leader)!;
    const asked = tabRequest(follower, 'never', [], 5000);
    await waitFor(() => srv!.requests.includes('never'), 2000, 'the request at the server');
    await leader.close();
    const r = await asked;
    expect(r.error).toMatchObject({ klass: 'ClosedError', code: 'closed' });
    expect(r.ms).toBeLessThan(2000);
    expect((await tabRequest(follower, 'add', [1, 2])).ok).toBe(3);
  });

  it("every tab's store mirrors the shared connection while the server is away", async () => {
    const plain = await startWsServer({ onMessage: echo() });
    cleanups.push(() => plain.close());
    const t = await openTabs({ url: plain.url(), options: { reconnect: { initialDelay: 200, maxDelay: 200, jitter: 0 } } }, ['a', 'b', 'c']);
    await allOpen(t);
    await plain.stop();
    await waitFor(async () => (await snapshots(t)).every((s) => (s.conn?.attempt ?? 0) >= 2), 5000, 'two failed attempts in every tab');
    for (const x of t) await tabSend(x, 'm', 'x', 1);
    await waitFor(async () => (await snapshots(t)).every((s) => s.conn?.queued == 3), 3000, 'three queued, in every tab');
    const [a, b, c] = (await snapshots(t)).map((s) => s.conn);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(a).toMatchObject({ queued: 3, state: expect.stringMatching(/^(reconnecting|connecting)$/) });
    // The server is back on the same port: the queued messages go out once, and every store says so.
    await plain.start();
    await waitFor(async () => (await snapshots(t)).every((s) => s.conn?.state == 'open' && s.conn.queued == 0), 3000, 'open, nothing queued');
    await waitFor(() => plain.messages().length == 3, 2000, 'three messages');
    expect(plain.connections.filter((c) => c.closed === undefined)).toHaveLength(1);
    // The round trip of the ping at open reaches the followers a moment after the leader: the stores agree once it has.
    const same = async (): Promise<boolean> => new Set((await snapshots(t)).map((s) => JSON.stringify(s.conn))).size == 1;
    await waitFor(same, 2000, 'every store the same');
    const opens = (await snapshots(t)).map((s) => s.conn);
    expect(opens[1]).toEqual(opens[0]);
    expect(opens[2]).toEqual(opens[0]);
    expect(opens[0]).toMatchObject({ state: 'open', queued: 0 });
  });

  it('delivered() of reliable() answers in a follower once its messages are stored', async () => {
    srv = await startShareServer();
    const t = await openTabs({ url: srv.url, reliable: true, options: fast }, ['a', 'b']);
    await allOpen(t);
    const leader = await leaderOf(t);
    const follower = t.find((x) => x !== leader)!;
    for (let i = 1; i <= 50; i++) await tabSend(follower, 'm', 'b', i);
    expect(await tabDelivered(follower)).toBe('delivered');
    expect(numbersByTag(srv.handled).b).toEqual(upTo(50));
  });

  it('close() in a follower detaches that tab only; close() in the last tab closes the socket', async () => {
    srv = await startShareServer();
    const t = await openTabs({ url: srv.url, reliable: true, options: fast }, ['a', 'b']);
    await allOpen(t);
    const leader = await leaderOf(t);
    const follower = t.find((x) => x !== leader)!;
    await tabCall(follower, 'close');
    expect((await tabSnapshot(follower)).conn).toMatchObject({ state: 'closed', reason: 'close()' });
    expect(await tabSend(follower, 'm', 'b', 1)).toBe('dropped');
    expect(await tabSend(leader, 'm', 'a', 1)).toBe('sent');
    await waitFor(() => srv!.handled.length == 1, 2000, "the leader's message");
    expect(srv.conns[0]!.closed).toBeUndefined();
    await tabCall(leader, 'close');
    await waitFor(() => srv!.conns[0]!.closed, 2000, 'the socket closed');
    expect(srv.conns).toHaveLength(1);
  });
});

describe('without the Web Locks API', () => {
  it('each tab connects on its own and still works', async () => {
    srv = await startShareServer();
    const ctx = await tabs.newContext();
    cleanups.push(() => ctx.close());
    // Before any script of the page runs.
    await ctx.addInitScript(() => delete (Navigator.prototype as { locks?: unknown }).locks);
    const t = await openTabs({ url: srv.url, reliable: true, options: fast }, ['a', 'b', 'c'], ctx);
    await allOpen(t);
    expect((await snapshots(t)).map((s) => s.roles)).toEqual([['alone'], ['alone'], ['alone']]);
    expect(srv.conns).toHaveLength(3);
    expect(srv.sessions().size).toBe(3);
    for (const x of t) await sendRange(x, 20, 5, 10);
    await waitFor(() => srv!.handled.length == 60, 5000, '60 messages');
    expect(numbersByTag(srv.handled)).toEqual({ a: upTo(20), b: upTo(20), c: upTo(20) });
    for (const s of srv.sessions()) await srv.server.send(s, 'p', 1);
    await waitFor(async () => (await snapshots(t)).every((s) => s.got.p!.length == 1), 3000, 'an event in every tab');
    for (const x of t) await expectCleanPage(x);
  });
});

describe('the demo (examples/share/)', () => {
  it('shows "this tab leads" in one tab and "this tab follows" in the other, over one connection; when the leader goes, the other leads', async () => {
    const demo = await startDemo();
    cleanups.push(() => demo.close());
    const ctx = context();
    const a = await openChat(ctx, `${demo.origin}/share/`, { name: 'A', nick: 'ann' });
    cleanups.push(() => a.close());
    await untilState(a, 'open');
    const b = await openChat(ctx, `${demo.origin}/share/`, { name: 'B', nick: 'ann' });
    cleanups.push(() => b.close());
    await untilState(b, 'open');
    await waitFor(async () => (await textOf(b, 'role')).includes('follows'), 3000, 'B follows');
    expect(await textOf(a, 'role')).toBe('this tab leads (it holds the connection)');
    expect(await textOf(b, 'role')).toBe('this tab follows (another tab holds the connection)');
    expect(demo.seen.ws).toMatchObject({ opened: 1, closed: 0 });

    await say(b, 'from the tab that follows');
    await untilShown(a, ['from the tab that follows']);
    await untilShown(b, ['from the tab that follows']);

    await a.page.close();
    await waitFor(async () => (await textOf(b, 'role')).includes('leads'), 3000, 'B leads');
    await untilState(b, 'open');
    await say(b, 'from the tab that leads now');
    await untilShown(b, ['from the tab that leads now']);
    expect(demo.seen.ws).toMatchObject({ opened: 2, closed: 1 });
    expect(resent(demo.seen.ws)).toEqual([]);
    await expectCleanDemo(b);
    expectQuietServer(demo);
  });

  // The README's picture (docs/images/tabs.png): two tabs of the demo side by side, one leading, one following,
  // after a short conversation over their one connection. Written when the file is missing or with
  // SUREWIRE_SCREENSHOT=1, otherwise to the temp dir, so that test runs leave the tree unchanged.
  it('the screenshot for the docs: two tabs of /share/ side by side, one leads and one follows', async () => {
    const demo = await startDemo();
    cleanups.push(() => demo.close());
    const ctx = await browser.newContext({ viewport: { width: 520, height: 640 }, deviceScaleFactor: 1 });
    cleanups.push(() => ctx.close());
    const a = await openChat(ctx, `${demo.origin}/share/`, { name: 'A', nick: 'ann' });
    await untilState(a, 'open');
    const b = await openChat(ctx, `${demo.origin}/share/`, { name: 'B', nick: 'ann' });
    await untilState(b, 'open');
    await waitFor(async () => (await textOf(b, 'role')).includes('follows'), 3000, 'B follows');
    await say(a, 'hi from the tab that leads');
    await untilShown(b, ['hi from the tab that leads']);
    await say(b, 'and from the tab that follows: same socket');
    await untilShown(a, ['hi from the tab that leads', 'and from the tab that follows: same socket']);
    await untilShown(b, ['hi from the tab that leads', 'and from the tab that follows: same socket']);
    expect(demo.seen.ws).toMatchObject({ opened: 1, closed: 0 });
    const shots = [await a.page.screenshot(), await b.page.screenshot()].map((png) => `data:image/png;base64,${png.toString('base64')}`);
    // Side by side, each under a caption, on a page of its own.
    const board = await ctx.newPage();
    await board.setViewportSize({ width: 2 * 520 + 3 * 16, height: 640 + 56 });
    await board.setContent(
      `<body style="margin:0;padding:0 16px;background:#e5e7eb;font:15px system-ui,sans-serif;display:flex;gap:16px">` +
        ['tab 1', 'tab 2']
          .map((cap, i) => `<figure style="margin:0"><figcaption style="padding:12px 0 8px">${cap}</figcaption><img src="${shots[i]}" style="display:block;box-shadow:0 1px 4px #0003"></figure>`)
          .join('') +
        `</body>`,
    );
    await board.waitForFunction(() => [...document.images].every((i) => i.complete && i.naturalWidth > 0));
    const target = join(REPO, 'docs/images/tabs.png');
    const file = process.env.SUREWIRE_SCREENSHOT == '1' || !existsSync(target) ? target : join(tmpdir(), 'surewire-tabs.png');
    const png = await board.screenshot({ path: file });
    expect(png.subarray(1, 4).toString(), 'a PNG was written').toBe('PNG');
    expect(statSync(file).size).toBeLessThan(150_000);
    console.log(`[share.spec] screenshot: ${file} (${statSync(file).size} B)`);
  });
});
