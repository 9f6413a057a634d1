// Chromium for the browser tests, driven from Node through playwright-core (no test runner in the page).
// One browser per test file, a fresh page (and, where it matters, a fresh context) per test.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { waitFor } from '../../helpers/wait';
import { parseJson, startWsServer, type MessageHandler, type TestWsServer, type WsServerOptions } from '../../helpers/ws-server';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/**
 * A second Playwright connection, over CDP, to a browser launched with `launchForVisibility()`, with
 * `noDefaults`: pages of its default context get no focus emulation.
 *
 * Why: Playwright turns on `Emulation.setFocusEmulationEnabled` for every page it creates, and in Chromium that
 * keeps the page "being captured", so it can never become hidden: neither another tab in front, nor a minimised
 * window, nor a frozen lifecycle state changes `document.visibilityState`. Pages made here behave like real tabs:
 * bringing another tab of the same window to the front really hides them (`visibilityState` 'hidden' and a
 * `visibilitychange` event, from Chromium itself), and bringing them back shows them.
 */
export async function connectWithoutFocusEmulation(browser: Browser): Promise<Browser> {
  const cdp = await browser.newBrowserCDPSession();
  const { arguments: argv } = await cdp.send('Browser.getBrowserCommandLine');
  await cdp.detach();
  const dir = argv.find((a) => a.startsWith('--user-data-dir='))?.slice('--user-data-dir='.length);
  if (!dir) throw new Error('connectWithoutFocusEmulation: the browser was launched without --user-data-dir');
  // Chromium writes the port it chose (and the browser target's path) once it listens.
  const file = join(dir, 'DevToolsActivePort');
  let active = '';
  for (const started = Date.now(); !active.includes('\n'); ) {
    if (Date.now() - started > 5000) throw new Error(`connectWithoutFocusEmulation: no ${file} within 5000 ms`);
    active = await readFile(file, 'utf8').catch(() => '');
    if (!active.includes('\n')) await new Promise((r) => setTimeout(r, 20));
  }
  const [port, path] = active.trim().split('\n');
  return chromium.connectOverCDP(`ws://127.0.0.1:${port}${path}`, { noDefaults: true });
}

/** A browser that `connectWithoutFocusEmulation` can attach to: CDP on a loopback port chosen by Chromium. */
export function launchForVisibility(): Promise<Browser> {
  // --enable-automation lets Browser.getBrowserCommandLine answer (it tells where the profile, and so the port, is).
  return launchChromium(['--enable-automation', '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=0']);
}

/** Something the page reported (see fixtures/harness.js): `kind` is the event, `t` the page's `Date.now()`. */
export interface Entry {
  kind: string;
  t: number;
  [key: string]: unknown;
}

/** A page under test, with everything it reported and every error it showed. */
export interface TestPage {
  page: Page;
  /** Events reported by fixtures/harness.js, in order. */
  log: Entry[];
  /** Uncaught exceptions and unhandled rejections in the page (Playwright's `pageerror`). */
  pageErrors: string[];
  /** `console.error` calls and browser error messages (failed loads, failed WebSocket handshakes …). */
  consoleErrors: string[];
  /** Entries of one kind. */
  of(kind: string): Entry[];
  close(): Promise<void>;
}

/** Opens a page in `context`, listening for errors and reports before anything loads. */
export async function openPage(context: BrowserContext): Promise<TestPage> {
  const page = await context.newPage();
  const log: Entry[] = [];
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.stack || e.message || String(e)));
  page.on('console', (m) => {
    if (m.type() == 'error') consoleErrors.push(m.text());
  });
  await page.exposeFunction('__swReport', (e: Entry) => void log.push(e));
  return {
    page,
    log,
    pageErrors,
    consoleErrors,
    of: (kind) => log.filter((e) => e.kind == kind),
    close: () => page.close().catch(() => {}),
  };
}

type HarnessWindow = Window & {
  T: {
    start(url: string, options: object, events: string[]): string;
    send(event: string, args: unknown[]): string;
    snapshot(): Record<string, unknown>;
    close(): void;
  };
  __violations: unknown[];
  __errors: unknown[];
};

/** Loads fixtures/harness.html (the CDN build plus fixtures/harness.js) into `t.page`. */
export async function loadHarness(t: TestPage, origin: string): Promise<void> {
  const res = await t.page.goto(`${origin}/fixtures/harness.html`);
  if (!res?.ok()) throw new Error(`harness.html: HTTP ${res?.status()}`);
  await t.page.waitForFunction(() => typeof (window as unknown as HarnessWindow).T == 'object', undefined, { timeout: 5000 });
}

/** Makes the page's client (options are JSON). `events`: the server events to record as 'msg' entries. */
export function startClient(t: TestPage, url: string, options: object, events: string[] = []): Promise<string> {
  return t.page.evaluate(([u, o, e]) => (window as unknown as HarnessWindow).T.start(u, o, e), [url, options, events] as const);
}

/** `client.send(event, ...args)` in the page; resolves with its result ('sent' | 'queued' | 'dropped'). */
export function send(t: TestPage, event: string, ...args: unknown[]): Promise<string> {
  return t.page.evaluate(([e, a]) => (window as unknown as HarnessWindow).T.send(e, a), [event, args] as const);
}

export function snapshot(t: TestPage): Promise<Record<string, unknown>> {
  return t.page.evaluate(() => (window as unknown as HarnessWindow).T.snapshot());
}

/** What fixtures/csp-watch.js recorded: CSP violations and uncaught errors seen by the page itself. */
export function pageWatch(page: Page): Promise<{ violations: unknown[]; errors: unknown[] }> {
  return page.evaluate(() => {
    const w = window as unknown as HarnessWindow;
    return { violations: w.__violations, errors: w.__errors };
  });
}

/** The states the client went through (`state` events' `to`). */
export const states = (t: TestPage): string[] => t.of('state').map((e) => e.to as string);

/** Waits for the `n`th entry of `kind` (1-based) that passes `filter`, and returns it. */
export function waitForEntry(t: TestPage, kind: string, n = 1, timeout = 3000, filter: (e: Entry) => boolean = () => true): Promise<Entry> {
  return waitFor(() => t.of(kind).filter(filter)[n - 1], timeout, `${kind} #${n} in the page (log: ${brief(t.log)})`);
}

/** The last few entries, for failure messages. */
export const brief = (log: Entry[]): string =>
  log
    .slice(-12)
    .map((e) => `${e.kind}${e.kind == 'state' ? `:${String(e.to)}` : e.kind == 'window' ? `:${String(e.type)}` : ''}`)
    .join(' ');

/**
 * The test server: the README's `ws` server. It answers the heartbeat ('ping' → 'pong'), echoes every event
 * `[name, ...args]` back as is, and answers requests: `add(a, b)` with the sum, anything else with an error.
 */
export const appHandler: MessageHandler = (frame, conn) => {
  const m = parseJson(frame);
  if (Array.isArray(m) && typeof m[0] == 'string') conn.socket.send(JSON.stringify(m));
  else if (m && typeof m == 'object' && typeof (m as { id?: unknown }).id == 'number') {
    const { id, event, args } = m as { id: number; event: string; args: unknown[] };
    const reply = event == 'add' ? { id, result: (args as number[]).reduce((a, b) => a + b, 0) } : { id, error: `unknown request ${event}` };
    conn.socket.send(JSON.stringify(reply));
  }
};

export function startAppServer(o: WsServerOptions = {}): Promise<TestWsServer> {
  return startWsServer({ onMessage: appHandler, ...o });
}

/** Browser messages that are expected while a test breaks the network on purpose. */
export const isNetworkNoise = (text: string): boolean => /^WebSocket connection to '.*' failed/.test(text);

/**
 * Whatever a test did to the network, nothing was thrown in the page and nothing but the browser's own
 * "WebSocket connection … failed" messages was logged as an error.
 */
export function expectNoPageErrors(t: TestPage): void {
  expect(t.pageErrors, 'uncaught errors in the page').toEqual([]);
  expect(t.consoleErrors.filter((m) => !isNetworkNoise(m)), 'console errors in the page').toEqual([]);
}
