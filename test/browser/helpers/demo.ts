// The demo chat (examples/) in Chromium: its server (examples/server/index.mjs) run in this process, and its
// pages opened as a visitor would, driven only through the elements of the demo's contract: #state,
// #countdown, #queued, #rtt, #room, #messages (li[data-nick][data-id] with .nick, .text, time), #typing,
// #nick, #text, #send, #chaos. Nothing here reaches into a page's code.
import type { BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { startServer, type DemoServer, type DemoServerOptions } from '../../../examples/server/index.mjs';
import { isNetworkNoise, openPage, type TestPage } from './browser';

/** The demo server, with what it logged and the connections it saw. */
export interface Demo extends DemoServer {
  origin: string;
  /** `log.warn` and `log.error` calls of the server, in order. */
  logged: { level: 'warn' | 'error'; args: unknown[] }[];
  /** Connections accepted and closed, per endpoint (the reliable chat's: /ws and socket.io). */
  seen: { ws: Seen; io: Seen };
}

export interface Seen {
  opened: number;
  closed: number;
  /** How many times each `message` text came over the wire in a `$m` frame: more than once is a resend. */
  frames: Map<string, number>;
}

/** The texts that reached the server more than once (resent after a cut; the server must drop the copies). */
export const resent = (seen: Seen): string[] => [...seen.frames].filter(([, n]) => n > 1).map(([text]) => text);

/** Counts a `$m` frame `[ "$m", n, "message", text ]` (already parsed). */
function countFrame(seen: Seen, frame: unknown): void {
  if (Array.isArray(frame) && frame[0] == '$m' && frame[2] == 'message' && typeof frame[3] == 'string')
    seen.frames.set(frame[3], (seen.frames.get(frame[3]) ?? 0) + 1);
}
const parse = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/** Starts the demo server in this process on 127.0.0.1 (`port` 0: any free port). */
export async function startDemo(options: DemoServerOptions = {}, port = 0): Promise<Demo> {
  const logged: Demo['logged'] = [];
  const log = {
    warn: (...args: unknown[]) => void logged.push({ level: 'warn', args }),
    error: (...args: unknown[]) => void logged.push({ level: 'error', args }),
  };
  const srv = await startServer(port, '127.0.0.1', { ...options, log });
  const seen = { ws: { opened: 0, closed: 0, frames: new Map() }, io: { opened: 0, closed: 0, frames: new Map() } };
  srv.wss.on('connection', (ws) => {
    seen.ws.opened++;
    ws.once('close', () => void seen.ws.closed++);
    ws.on('message', (data, binary) => void (binary || countFrame(seen.ws, parse(String(data)))));
  });
  srv.io.on('connection', (socket) => {
    seen.io.opened++;
    socket.once('disconnect', () => void seen.io.closed++);
    // engine.io's packets, before socket.io decodes them: `2[…]` is an event of the main namespace.
    socket.conn.on('packet', (packet: { type: string; data?: unknown }) => {
      if (packet.type == 'message' && typeof packet.data == 'string' && packet.data.startsWith('2[')) countFrame(seen.io, parse(packet.data.slice(1)));
    });
  });
  return Object.assign(srv, { origin: `http://127.0.0.1:${srv.port}`, logged, seen });
}

/** Nothing went wrong on the server's side: no warning, no error logged. */
export function expectQuietServer(demo: Demo): void {
  expect(demo.logged.map((l) => `${l.level}: ${l.args.map(String).join(' ')}`), 'what the demo server logged').toEqual([]);
}

/** A demo page under test. */
export interface ChatPage extends TestPage {
  /** What the test calls it in failure messages. */
  name: string;
}

type DemoWindow = Window & { __states: string[]; __violations: { directive: string; blocked: string }[]; __pwned?: unknown };

/**
 * Runs in every document of the page before its own scripts: keeps the nickname in the tab's storage, where
 * the chat pages read it (`surewire-demo:nick`), records each new text of #state, and CSP violations.
 */
function watchPage({ nick }: { nick: string | null }): void {
  const w = window as unknown as DemoWindow;
  if (nick != null) {
    try {
      sessionStorage.setItem('surewire-demo:nick', nick);
    } catch {
      // no storage: the page makes up a nick
    }
  }
  w.__states = [];
  w.__violations = [];
  document.addEventListener('securitypolicyviolation', (e) => w.__violations.push({ directive: e.violatedDirective, blocked: e.blockedURI }));
  const record = (): void => {
    const s = document.getElementById('state')?.textContent?.trim();
    if (s && s != w.__states[w.__states.length - 1]) w.__states.push(s);
  };
  new MutationObserver(record).observe(document, { subtree: true, childList: true, characterData: true });
}

/**
 * Opens `url` (absolute) in a new page of `context`. `nick`: the nickname the page starts with (pages that
 * keep it in sessionStorage: the CDN, ESM, socket.io, React and Vue pages; see `setNick` for the others).
 */
export async function openChat(context: BrowserContext, url: string, o: { name: string; nick?: string }): Promise<ChatPage> {
  const t = await openPage(context);
  await t.page.addInitScript(watchPage, { nick: o.nick ?? null });
  const res = await t.page.goto(url);
  if (!res?.ok()) throw new Error(`${o.name}: ${url}: HTTP ${res?.status()}`);
  return Object.assign(t, { name: o.name });
}

/** A message as the page shows it. */
export interface Shown {
  id: string | undefined;
  nick: string | undefined;
  /** The text of its `.nick` element. */
  who: string | undefined;
  text: string | undefined;
  /** Whether it has a `time` element with a `datetime`. */
  time: boolean;
}

/** Every message in #messages, in the order shown. */
export function shown(p: ChatPage): Promise<Shown[]> {
  return p.page.$$eval('#messages li', (lis) =>
    lis.map((li) => ({
      id: (li as HTMLElement).dataset.id,
      nick: (li as HTMLElement).dataset.nick,
      who: li.querySelector('.nick')?.textContent ?? undefined,
      text: li.querySelector('.text')?.textContent ?? undefined,
      time: !!li.querySelector('time')?.getAttribute('datetime'),
    })),
  );
}

/** The texts shown, in order. */
export const texts = async (p: ChatPage): Promise<(string | undefined)[]> => (await shown(p)).map((m) => m.text);

/** What the status line and the message list say now, for failure messages. */
async function dump(p: ChatPage): Promise<string> {
  try {
    const status = await p.page.evaluate(() => {
      const t = (id: string): string | undefined => document.getElementById(id)?.textContent ?? undefined;
      return { state: t('state'), countdown: t('countdown'), queued: t('queued'), rtt: t('rtt'), typing: t('typing'), states: (window as unknown as DemoWindow).__states };
    });
    const list = await shown(p);
    return `${p.name}: ${JSON.stringify(status)}, ${list.length} messages: ${JSON.stringify(list.map((m) => `${m.nick}: ${m.text}`).slice(-20))}`;
  } catch (e) {
    return `${p.name}: (could not read the page: ${String(e)})`;
  }
}

/**
 * Waits until `check(arg)`, evaluated in the page, is truthy (polled every 20 ms). On timeout, fails with
 * `what` and what the page shows.
 */
export async function until<A>(p: ChatPage, what: string, check: (arg: A) => unknown, arg: A, timeout = 5000): Promise<void> {
  try {
    // (Playwright types `arg` in the page as its serialized form; here it is plain JSON data, the same.)
    await p.page.waitForFunction(check as (arg: unknown) => unknown, arg as unknown, { timeout, polling: 20 });
  } catch (e) {
    throw new Error(`${p.name}: ${what}: not within ${timeout} ms. The page shows ${await dump(p)}`, { cause: e });
  }
}

/** Waits for #state to read `state` (and its class to be `state`). */
export function untilState(p: ChatPage, state: string, timeout = 5000): Promise<void> {
  return until(
    p,
    `#state "${state}"`,
    (s) => {
      const el = document.getElementById('state');
      return el?.textContent?.trim() == s && el.className == s;
    },
    state,
    timeout,
  );
}

/** Waits until every text of `want` is shown in #messages (in any order; check the order separately). */
export function untilShown(p: ChatPage, want: string[], timeout = 5000): Promise<void> {
  return until(
    p,
    `messages ${JSON.stringify(want.length > 6 ? [...want.slice(0, 3), '…', ...want.slice(-2)] : want)} shown`,
    (w) => {
      const got = new Set(Array.from(document.querySelectorAll('#messages li .text'), (e) => e.textContent));
      return w.every((t) => got.has(t));
    },
    want,
    timeout,
  );
}

/**
 * Types `text` in #text and sends it with Enter, as a visitor would (the form's implicit submission, through
 * its Send button: `submitButton` clicks that button instead). Enter, because a click waits for animation
 * frames, which Chromium runs slowly in a page that is not the front tab.
 */
export async function say(p: ChatPage, text: string, o: { submitButton?: boolean } = {}): Promise<void> {
  await p.page.locator('#text').fill(text);
  if (o.submitButton) await p.page.locator('#send').click();
  else await p.page.locator('#text').press('Enter');
}

/** Sets the nickname in #nick and commits it (the `change` event, as leaving the field does). */
export async function setNick(p: ChatPage, nick: string): Promise<void> {
  const field = p.page.locator('#nick');
  await field.fill(nick);
  await field.dispatchEvent('change');
}

/** The states #state went through since the page loaded (each change of its text). */
export const stateHistory = (p: ChatPage): Promise<string[]> => p.page.evaluate(() => (window as unknown as DemoWindow).__states.slice());

/** Text of an element by id. */
export const textOf = (p: ChatPage, id: string): Promise<string> => p.page.locator(`#${id}`).innerText();

/**
 * Chromium's console error for `send()` on a WebSocket the server is closing. Over socket.io under chaos it
 * comes from engine.io-client, which writes to its WebSocket without checking `readyState` (here surewire's
 * `$ack`, handed to socket.io while it was still connected) in the moment between the server's close frame
 * and the `close` event. The frame is lost with the connection, and the protocol makes up for it (acks are
 * cumulative, messages resent): the tests that allow it check that nothing was lost.
 */
export const isSendWhileClosing = (text: string): boolean => text == 'WebSocket is already in CLOSING or CLOSED state.';

/**
 * Nothing went wrong in the page: no uncaught error, no console error but the browser's own "WebSocket
 * connection … failed" (expected while a test takes the server down) and those `allow` says, no CSP violation.
 */
export async function expectCleanPage(p: ChatPage, o: { allow?: (text: string) => boolean } = {}): Promise<void> {
  expect(p.pageErrors, `${p.name}: uncaught errors in the page`).toEqual([]);
  expect(
    p.consoleErrors.filter((m) => !isNetworkNoise(m) && !o.allow?.(m)),
    `${p.name}: console errors in the page`,
  ).toEqual([]);
  const violations = await p.page.evaluate(() => (window as unknown as DemoWindow).__violations);
  expect(violations, `${p.name}: CSP violations`).toEqual([]);
}

/** Whether the page's `window.__pwned` was set (by a payload that ran). */
export const pwned = (p: Page): Promise<unknown> => p.evaluate(() => (window as unknown as DemoWindow).__pwned);

/** Per sender (`nick`), the numbers of its messages `<prefix> #<n>`, in the order shown. */
export function numbersBy(list: Shown[], nick: string): number[] {
  return list.filter((m) => m.nick == nick).map((m) => Number(/#(\d+)$/.exec(m.text ?? '')?.[1] ?? NaN));
}
