// The seed chat's pages (examples/seed/) in Chromium, served by the demo server (examples/server/index.mjs) in
// this process, against the seed servers run unchanged as child processes (their stdout read for the
// `received: …` lines they log). Driven as a visitor would: type, press Enter, read the list and the status
// line (#state, #queued, #messages li[data-nick] .text). Needs `npm run build`.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchChromium } from './helpers/browser';
import { expectCleanPage, expectQuietServer, openChat, pwned, say, shown, startDemo, stateHistory, textOf, until, untilState, type ChatPage, type Demo } from './helpers/demo';
import { GREETING, hundred, otherOutput, PING, startSeed, type Seed, type SeedKind } from '../helpers/seed-server';
import { waitFor } from '../helpers/wait';

let browser: Browser;
let demo: Demo;
const contexts: BrowserContext[] = [];
const seeds: Seed[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  demo = await startDemo();
});
afterAll(async () => {
  await demo?.close();
  await browser?.close();
});
afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close().catch(() => {});
  for (const s of seeds.splice(0)) {
    await s.stop();
    expect(otherOutput(s), `what the ${s.kind} server printed besides received: lines`).toEqual([]);
  }
  expectQuietServer(demo);
});

/** A seed server for this test, and its page in a fresh context (`clock`: Playwright's fake clock in the page). */
async function open(kind: SeedKind, o: { clock?: boolean } = {}): Promise<{ s: Seed; p: ChatPage }> {
  const s = await startSeed(kind);
  seeds.push(s);
  const ctx = await browser.newContext();
  contexts.push(ctx);
  if (o.clock) await ctx.clock.install();
  const path = kind == 'ws' ? '/seed/' : '/seed/socket.io.html';
  const p = await openChat(ctx, `${demo.origin}${path}?port=${s.port}`, { name: `seed page (${kind})` });
  return { s, p };
}

/** `[who, text]` of each line of the page's list. */
const lines = async (p: ChatPage): Promise<[string | undefined, string | undefined][]> => (await shown(p)).map((m) => [m.nick, m.text]);
const greetings = async (p: ChatPage): Promise<number> => (await shown(p)).filter((m) => m.nick == 'server').length;
const untilGreetings = (p: ChatPage, n: number): Promise<void> =>
  until(p, `${n} greeting(s) shown`, (n) => document.querySelectorAll('#messages li[data-nick="server"]').length == n, n);
const logged = (s: Seed, n: number, what: string): Promise<unknown> => waitFor(() => s.texts().length >= n, 10_000, `${what} (server log: ${JSON.stringify(s.stdout.slice(-3))})`);

describe('the seed page over WebSocket (/seed/): the plain server, through textCodec', () => {
  it('shows the greeting once, and the server logs the page\'s hello and 100 typed lines verbatim and in order', async () => {
    const { s, p } = await open('ws');
    await untilState(p, 'open');
    await untilGreetings(p, 1);
    for (const text of hundred) await say(p, text);
    await logged(s, 101, 'the hello and 100 lines logged');
    expect(s.texts()).toEqual(['hello server!', ...hundred]);
    // The page's hello went out of the queue at open, then the heartbeat's ping; one more when the connection
    // opened before the page's load event (surewire pings on `pageshow`). Then no ping within 25 s.
    const first = s.received().indexOf(hundred[0]!);
    expect(first, 'lines before the first typed one').toBeLessThanOrEqual(3);
    expect(s.received().slice(0, first)).toEqual(['hello server!', ...Array(first - 1).fill(PING)]);
    expect(s.received().slice(first)).toEqual(hundred);
    expect(await lines(p)).toEqual([
      ['you', 'hello server!'],
      ['server', GREETING],
      ...hundred.map((t) => ['you', t]),
    ]);
    expect(await textOf(p, 'queued')).toBe('0');
    expect(await pwned(p.page), 'user text shown as text, never run').toBeUndefined();
    await expectCleanPage(p);
  }, 60_000);

  it('queues while the server restarts and then delivers in order; the greeting comes again on the new connection', async () => {
    const { s, p } = await open('ws');
    await untilState(p, 'open');
    await untilGreetings(p, 1);
    for (const n of [1, 2, 3]) await say(p, `before ${n}`);
    await logged(s, 4, 'the lines before the restart');

    await s.stop();
    await until(p, '#state not open', () => document.getElementById('state')?.textContent != 'open', null);
    const queued = Array.from({ length: 10 }, (_, i) => `while down ${i + 1}`);
    for (const text of queued) await say(p, text);
    await until(p, '#queued 10', () => document.getElementById('queued')?.textContent == '10', null);
    expect(s.texts(), 'nothing reached a server while it was down').toHaveLength(4);
    // Each line the page could not send yet says so.
    expect(await p.page.$$eval('#messages li[data-nick="you"] .note', (n) => n.map((e) => e.textContent))).toEqual([
      'queued',
      ...queued.map(() => 'queued'),
    ]);

    await s.start();
    await untilState(p, 'open', 10_000);
    await logged(s, 14, 'the queued lines after the restart');
    expect(s.texts()).toEqual(['hello server!', 'before 1', 'before 2', 'before 3', ...queued]);
    await untilGreetings(p, 2);
    await until(p, '#queued 0', () => document.getElementById('queued')?.textContent == '0', null);
    await expectCleanPage(p);
  }, 60_000);

  it('stays on one connection for ten heartbeat intervals (the default 25 s, on a fake clock) against a server that never answers', async () => {
    const { s, p } = await open('ws', { clock: true });
    await untilState(p, 'open');
    await untilGreetings(p, 1);
    // The ping at open (and the one on `pageshow`, when the socket opened before the load event) went out
    // before this line, on the same connection: once it is logged, so are they.
    await say(p, 'loaded');
    await logged(s, 2, 'the line after the load');
    const base = s.pings();
    expect(base).toBeGreaterThanOrEqual(1);
    for (let n = 1; n <= 10; n++) {
      await p.page.clock.runFor(25_000);
      await waitFor(() => s.pings() == base + n, 5000, `ping ${base + n}`);
    }
    expect(s.texts()).toEqual(['hello server!', 'loaded']);
    expect(s.received().slice(-10)).toEqual(Array(10).fill(PING));
    expect(await textOf(p, 'state')).toBe('open');
    // One connection: it opened once, never left `open`, and was greeted once.
    const history = await stateHistory(p);
    expect(history.filter((x) => x == 'open')).toEqual(['open']);
    expect(history.at(-1)).toBe('open');
    expect(await greetings(p)).toBe(1);
    await expectCleanPage(p);
  }, 60_000);

  it('says so on the page, and connects nowhere, when ?port= is not a port', async () => {
    const ctx = await browser.newContext();
    contexts.push(ctx);
    const p = await openChat(ctx, `${demo.origin}/seed/?port=80a`, { name: 'seed page (bad port)' });
    await until(p, '#error shown', () => !!document.getElementById('error')?.textContent, null);
    const message = '?port= must be a port number from 1 to 65535, not "80a": the page does not connect.';
    expect(await textOf(p, 'error')).toBe(message);
    expect(await textOf(p, 'state')).toBe('idle');
    expect(p.pageErrors.map((e) => e.split('\n')[0])).toEqual([`Error: ${message}`]);
  });
});

describe('the seed page over socket.io (/seed/socket.io.html)', () => {
  it('shows the greeting, its typed lines are logged verbatim, and lines typed while the server restarts arrive after it, in order', async () => {
    const { s, p } = await open('socket.io');
    await untilState(p, 'open', 10_000);
    await untilGreetings(p, 1);
    const typed = hundred.slice(0, 11);
    for (const text of typed) await say(p, text);
    await logged(s, 12, 'the hello and the typed lines');

    await s.stop();
    await until(p, '#state not open', () => document.getElementById('state')?.textContent != 'open', null);
    for (const n of [1, 2, 3]) await say(p, `while down ${n}`);
    await until(p, '#queued 3', () => document.getElementById('queued')?.textContent == '3', null);
    await s.start();
    await logged(s, 15, 'the queued lines after the restart');
    // socket.io checks liveness itself (engine.io's ping): the log holds only what the page sent.
    expect(s.received()).toEqual(['hello server!', ...typed, 'while down 1', 'while down 2', 'while down 3']);
    await untilGreetings(p, 2);
    expect(await pwned(p.page), 'user text shown as text, never run').toBeUndefined();
    await expectCleanPage(p);
  }, 60_000);
});
