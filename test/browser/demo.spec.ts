// The demo chat of examples/, end to end in Chromium: its server (examples/server/index.mjs) in this process,
// its pages as a visitor uses them (type, press Send, read the list). Two pages chatting (and the README's
// screenshot), a server restart mid-conversation, user text that looks like HTML, the existing chat's
// before/after pages, and the React and Vue pages. Chaos is in demo-chaos.spec.ts, `npm start` in
// demo-npm-start.spec.ts. Needs `npm run build && npm run build:examples`.
//
// The first case also takes the README's screenshot (900×600, the CDN page mid-conversation). It is written to
// examples/screenshot.png when that file is missing or SUREWIRE_SCREENSHOT=1 (`SUREWIRE_SCREENSHOT=1 npm run
// test:browser` to refresh it), and otherwise to the temp dir, so that test runs leave the tree unchanged.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchChromium } from './helpers/browser';
import { REPO } from './helpers/static-server';
import {
  expectCleanPage,
  expectQuietServer,
  openChat,
  pwned,
  say,
  setNick,
  shown,
  startDemo,
  textOf,
  until,
  untilShown,
  untilState,
  type ChatPage,
  type Demo,
  type Shown,
} from './helpers/demo';

let browser: Browser;
const contexts: BrowserContext[] = [];
const servers: Demo[] = [];

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close().catch(() => {});
  for (const s of servers.splice(0)) await s.close();
});

async function demo(...args: Parameters<typeof startDemo>): Promise<Demo> {
  const d = await startDemo(...args);
  servers.push(d);
  return d;
}
async function context(options: Parameters<Browser['newContext']>[0] = {}): Promise<BrowserContext> {
  const c = await browser.newContext(options);
  contexts.push(c);
  return c;
}

/** `[nick, text]` of each message shown. */
const lines = (list: Shown[]): [string | undefined, string | undefined][] => list.map((m) => [m.nick, m.text]);

/** Each message shown is well formed: an id (unique), its nick in .nick, a time. */
function expectWellFormed(list: Shown[], name: string): void {
  for (const m of list) {
    expect(m.id, `${name}: data-id of ${m.text}`).toMatch(/./);
    expect(m.who, `${name}: .nick of ${m.text}`).toBe(m.nick);
    expect(m.time, `${name}: time of ${m.text}`).toBe(true);
  }
  expect(new Set(list.map((m) => m.id)).size, `${name}: ids shown once each`).toBe(list.length);
}

/** #chaos says whether chaos is on, and its href toggles `chaos=1`, keeping the room. */
async function expectChaosLink(p: ChatPage, on: boolean, room: string): Promise<void> {
  const link = p.page.locator('#chaos');
  expect(await link.innerText(), `${p.name}: #chaos`).toMatch(on ? /chaos: on/ : /chaos: off/);
  const href = new URL((await link.getAttribute('href')) ?? '', p.page.url());
  expect(href.pathname, `${p.name}: #chaos href`).toBe(new URL(p.page.url()).pathname);
  expect(href.searchParams.get('chaos'), `${p.name}: #chaos href`).toBe(on ? null : '1');
  expect(href.searchParams.get('room'), `${p.name}: #chaos href`).toBe(room);
}

/** `examples/screenshot.png` is (re)written when missing or when SUREWIRE_SCREENSHOT=1; otherwise the shot goes to the temp dir. */
const SCREENSHOT = join(REPO, 'examples/screenshot.png');
const screenshotPath = (): string => (process.env.SUREWIRE_SCREENSHOT == '1' || !existsSync(SCREENSHOT) ? SCREENSHOT : join(tmpdir(), 'surewire-demo-screenshot.png'));

describe('the demo chat in Chromium', () => {
  it('two pages (CDN and ESM) chat in one room: every message once, in order, with its nick, in both; "typing…" shows', async () => {
    const d = await demo();
    const ctx = await context({ viewport: { width: 900, height: 600 } });
    const room = 'release';
    const ada = await openChat(ctx, `${d.origin}/cdn/?room=${room}`, { name: 'CDN page (ada)', nick: 'ada' });
    const linus = await openChat(ctx, `${d.origin}/esm/?room=${room}`, { name: 'ESM page (linus)', nick: 'linus' });
    await Promise.all([untilState(ada, 'open'), untilState(linus, 'open')]);
    for (const p of [ada, linus]) {
      expect(await textOf(p, 'room'), p.name).toBe(room);
      await expectChaosLink(p, false, room);
    }

    // Typing in one page shows "… is typing" in the other, and not in the typist's own.
    await linus.page.locator('#text').pressSequentially('hey', { delay: 20 });
    await until(ada, '"linus is typing…" in #typing', () => document.getElementById('typing')?.textContent == 'linus is typing…', null);
    expect(await textOf(linus, 'typing')).toBe('');
    await linus.page.locator('#text').fill('');

    const conversation: [ChatPage, string][] = [
      [ada, 'Morning! Is the new build up on staging?'],
      [linus, "Deploying now. I'm on the train, so I may drop out in the tunnels."],
      [ada, 'No problem: whatever you type offline waits in your outbox.'],
      [linus, 'Typed that last line in a tunnel. Did it arrive?'],
      [ada, 'Once, and in the right order.'],
      [linus, 'I had the chaos link on all morning too. Nothing lost.'],
      [ada, 'Then the release can go out after lunch.'],
    ];
    for (const [from, text] of conversation) {
      // With the Send button here; the other cases press Enter.
      await say(from, text, { submitButton: true });
      await Promise.all([untilShown(ada, [text]), untilShown(linus, [text])]);
    }

    const want = conversation.map(([from, text]) => [from == ada ? 'ada' : 'linus', text]);
    const [a, l] = await Promise.all([shown(ada), shown(linus)]);
    expect(lines(a)).toEqual(want);
    expect(l).toEqual(a);
    expectWellFormed(a, ada.name);
    // The server has them, in the same order, in that room only.
    expect(d.chat.rooms.get(room)?.messages.map((m) => [m.nick, m.text])).toEqual(want);
    expect([...d.chat.rooms.keys()]).toEqual([room]);

    // The README's screenshot: ada's page, with the round trip known and linus typing his next line.
    await until(ada, '#rtt in ms', () => /^\d+ ms$/.test(document.getElementById('rtt')?.textContent ?? ''), null, 8000);
    await linus.page.locator('#text').pressSequentially('Great, I will write the changelog', { delay: 80 });
    await until(ada, '"linus is typing…" again', () => document.getElementById('typing')?.textContent == 'linus is typing…', null);
    expect(await textOf(ada, 'state')).toBe('open');
    expect(await textOf(ada, 'queued')).toBe('0');
    const png = await ada.page.screenshot({ type: 'png' });
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(900);
    expect(png.readUInt32BE(20)).toBe(600);
    await writeFile(screenshotPath(), png);

    for (const p of [ada, linus]) await expectCleanPage(p);
    expectQuietServer(d);
  }, 30_000);

  it('the server is killed and restarted on the same port: what both pages typed while it was down arrives, once each, in order, in both', async () => {
    const first = await demo();
    const port = first.port;
    const ctx = await context();
    const room = 'restart';
    const carol = await openChat(ctx, `${first.origin}/cdn/?room=${room}`, { name: 'CDN page (carol)', nick: 'carol' });
    const dave = await openChat(ctx, `${first.origin}/esm/?room=${room}`, { name: 'ESM page (dave)', nick: 'dave' });
    const both = [carol, dave];
    await Promise.all(both.map((p) => untilState(p, 'open')));
    await say(carol, 'before the restart');
    await Promise.all(both.map((p) => untilShown(p, ['before the restart'])));
    // Everything acknowledged: the outboxes are empty before the server goes.
    await Promise.all(both.map((p) => until(p, '#queued 0', () => document.getElementById('queued')?.textContent == '0', null)));

    await first.close();
    // Both pages say so: reconnecting, with a countdown to the next attempt.
    await Promise.all(
      both.map((p) =>
        until(
          p,
          '#state reconnecting with "retry in N s" in #countdown',
          () => document.getElementById('state')?.className == 'reconnecting' && /^retry in \d+ s$/.test(document.getElementById('countdown')?.textContent ?? ''),
          null,
        ),
      ),
    );

    // Typed while the server is down, in turns: each lands in its page's outbox.
    const offline = { carol: ['carol offline #1', 'carol offline #2', 'carol offline #3'], dave: ['dave offline #1', 'dave offline #2'] };
    for (let i = 0; i < 3; i++) {
      if (offline.carol[i]) await say(carol, offline.carol[i]!);
      if (offline.dave[i]) await say(dave, offline.dave[i]!);
    }
    await until(carol, '#queued 3', () => document.getElementById('queued')?.textContent == '3', null);
    await until(dave, '#queued 2', () => document.getElementById('queued')?.textContent == '2', null);
    for (const p of both) expect(await textOf(p, 'state'), p.name).not.toBe('open');

    // Back, on the same port: a new server, with nothing in memory.
    const second = await demo({}, port);
    const all = [...offline.carol, ...offline.dave];
    await Promise.all(both.map((p) => untilState(p, 'open', 10_000)));
    await Promise.all(both.map((p) => untilShown(p, all, 10_000)));
    await Promise.all(both.map((p) => until(p, '#queued 0', () => document.getElementById('queued')?.textContent == '0', null)));

    const [c, v] = await Promise.all([shown(carol), shown(dave)]);
    // The same list in both pages ...
    expect(v).toEqual(c);
    expectWellFormed(c, carol.name);
    // ... with each message typed offline once, each sender's in the order typed, under its nick.
    for (const t of all) expect(c.filter((m) => m.text == t), `"${t}" shown once`).toHaveLength(1);
    expect(c.filter((m) => m.nick == 'carol' && offline.carol.includes(m.text ?? '')).map((m) => m.text)).toEqual(offline.carol);
    expect(c.filter((m) => m.nick == 'dave' && offline.dave.includes(m.text ?? '')).map((m) => m.text)).toEqual(offline.dave);
    // The new server got each one once.
    const stored = second.chat.rooms.get(room)?.messages.map((m) => m.text) ?? [];
    for (const t of all) expect(stored.filter((s) => s == t), `"${t}" stored once`).toHaveLength(1);

    for (const p of both) await expectCleanPage(p);
    expectQuietServer(first);
    expectQuietServer(second);
  }, 30_000);

  it('a message (and a nick) made of HTML is shown as text in the other pages and runs nothing', async () => {
    const d = await demo();
    const PAYLOAD = '<img src=x onerror=window.__pwned=1> and <script>window.__pwned=2</script> <b>bold?</b>';
    const NICK = '<i>mallory</i>';
    const room = 'xss';
    // The sender: the CDN page, under its own Content-Security-Policy.
    const sender = await openChat(await context(), `${d.origin}/cdn/?room=${room}`, { name: 'CDN page (sender)', nick: NICK });
    // The receivers with their CSP switched off (bypassCSP), so that only their own rendering stands
    // between the payload and a run: the control below shows the payload does run there once parsed as HTML.
    const loose = await context({ bypassCSP: true });
    const receivers = [
      await openChat(loose, `${d.origin}/esm/?room=${room}`, { name: 'ESM page', nick: 'esm' }),
      await openChat(loose, `${d.origin}/socket.io/?room=${room}`, { name: 'socket.io page', nick: 'sio' }),
      await openChat(loose, `${d.origin}/react/?room=${room}`, { name: 'React page', nick: 'react' }),
      await openChat(loose, `${d.origin}/vue/?room=${room}`, { name: 'Vue page', nick: 'vue' }),
    ];
    const control = await openChat(loose, `${d.origin}/`, { name: 'control (the index page)' });
    await control.page.evaluate((html) => document.body.insertAdjacentHTML('beforeend', html), PAYLOAD);
    await until(control, 'the payload, inserted as HTML, runs', () => (window as unknown as { __pwned?: unknown }).__pwned === 1, null);

    await Promise.all([sender, ...receivers].map((p) => untilState(p, 'open')));
    await say(sender, PAYLOAD);
    for (const p of [sender, ...receivers]) {
      await untilShown(p, [PAYLOAD]);
      const list = await shown(p);
      expect(list.map((m) => [m.nick, m.who, m.text]), p.name).toEqual([[NICK, NICK, PAYLOAD]]);
      expect(await p.page.locator('#messages img, #messages script, #messages b, #messages i').count(), `${p.name}: elements from the text`).toBe(0);
      expect(await p.page.locator('img').count(), `${p.name}: img anywhere`).toBe(0);
    }
    for (const p of [sender, ...receivers]) expect(await pwned(p.page), `${p.name}: window.__pwned`).toBeUndefined();

    // The existing chat's pages have no CSP at all: the page is all there is. Both ways.
    const ctx = await context();
    const before = await openChat(ctx, `${d.origin}/existing-chat/before.html`, { name: 'existing chat before.html' });
    const after = await openChat(ctx, `${d.origin}/existing-chat/after.html`, { name: 'existing chat after.html' });
    await Promise.all([untilState(before, 'open'), untilState(after, 'open')]);
    await setNick(after, NICK);
    await say(after, PAYLOAD);
    await untilShown(before, [PAYLOAD]);
    await setNick(before, NICK + '2');
    await say(before, PAYLOAD + '2');
    await untilShown(after, [PAYLOAD + '2']);
    for (const p of [before, after]) {
      await untilShown(p, [PAYLOAD, PAYLOAD + '2']);
      expect((await shown(p)).map((m) => [m.who, m.text]).slice(-2), p.name).toEqual([
        [NICK, PAYLOAD],
        [NICK + '2', PAYLOAD + '2'],
      ]);
      expect(await p.page.locator('img, #messages script, #messages b, #messages i').count(), `${p.name}: elements from the text`).toBe(0);
      expect(await pwned(p.page), `${p.name}: window.__pwned`).toBeUndefined();
    }

    for (const p of [sender, ...receivers, before, after]) await expectCleanPage(p);
    expectQuietServer(d);
  }, 30_000);

  it("the existing chat: after.html (surewire + codec) and before.html (hand-written WebSocket) chat both ways through the unchanged /legacy server", async () => {
    const d = await demo();
    const ctx = await context();
    const before = await openChat(ctx, `${d.origin}/existing-chat/before.html`, { name: 'existing chat before.html' });
    const after = await openChat(ctx, `${d.origin}/existing-chat/after.html`, { name: 'existing chat after.html' });
    const both = [before, after];
    await Promise.all(both.map((p) => untilState(p, 'open')));
    await setNick(before, 'old-page');
    await setNick(after, 'new-page');

    const conversation: [ChatPage, string, string][] = [
      [before, 'old-page', 'hello from the hand-written WebSocket page'],
      [after, 'new-page', 'hello back from surewire, same server, same format'],
      [before, 'old-page', 'no change on my side?'],
      [after, 'new-page', 'not a line of the server'],
    ];
    for (const [from, , text] of conversation) {
      await say(from, text);
      await Promise.all(both.map((p) => untilShown(p, [text])));
    }
    const [b, a] = await Promise.all([shown(before), shown(after)]);
    expect(lines(b)).toEqual(conversation.map(([, nick, text]) => [nick, text]));
    expect(lines(a)).toEqual(lines(b));
    for (const m of [...a, ...b]) expect(m.who).toBe(m.nick);
    // surewire's page knows its outbox; the old one has none.
    expect(await textOf(after, 'queued')).toBe('0');
    expect(await textOf(before, 'queued')).toBe('–');
    // It went through /legacy (not the reliable chat, which saw no connection).
    expect(d.seen.ws.opened + d.seen.io.opened).toBe(0);

    for (const p of both) await expectCleanPage(p);
    expectQuietServer(d);
  });

  it('the React and Vue pages load, connect (state open) and chat with the CDN page', async () => {
    const d = await demo();
    const ctx = await context();
    const room = 'frameworks';
    const pages = [
      await openChat(ctx, `${d.origin}/react/?room=${room}`, { name: 'React page', nick: 'react-fan' }),
      await openChat(ctx, `${d.origin}/vue/?room=${room}`, { name: 'Vue page', nick: 'vue-fan' }),
      await openChat(ctx, `${d.origin}/cdn/?room=${room}`, { name: 'CDN page', nick: 'no-build' }),
    ];
    const [react, vue, cdn] = pages as [ChatPage, ChatPage, ChatPage];
    await Promise.all(pages.map((p) => untilState(p, 'open')));
    for (const p of pages) {
      expect(await textOf(p, 'room'), p.name).toBe(room);
      await expectChaosLink(p, false, room);
    }
    // "typing…" from the React page reaches the Vue page (first thing typed: the page sends it at most every 2 s).
    await react.page.locator('#text').pressSequentially('hi', { delay: 20 });
    await until(vue, '"react-fan is typing…"', () => document.getElementById('typing')?.textContent == 'react-fan is typing…', null);

    const conversation: [ChatPage, string, string][] = [
      [react, 'react-fan', 'useSyncExternalStore, one line'],
      [vue, 'vue-fan', 'a shallowRef here'],
      [cdn, 'no-build', 'and a script tag over here'],
      [react, 'react-fan', 'all three in one room'],
    ];
    for (const [from, , text] of conversation) {
      await say(from, text);
      await Promise.all(pages.map((p) => untilShown(p, [text])));
    }
    const lists = await Promise.all(pages.map(shown));
    expect(lines(lists[0]!)).toEqual(conversation.map(([, nick, text]) => [nick, text]));
    for (const [i, list] of lists.entries()) {
      expect(list, pages[i]!.name).toEqual(lists[0]);
      expectWellFormed(list, pages[i]!.name);
    }

    for (const p of pages) await expectCleanPage(p);
    expectQuietServer(d);
  });
});
