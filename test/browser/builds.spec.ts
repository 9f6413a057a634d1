// The built files in a real Chromium: the CDN build by a plain <script src> on a page whose policy is
// `script-src 'self'`, and the ESM build by <script type="module">, each connecting to a real `ws` server.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CSP, startStaticServer, type StaticServer } from './helpers/static-server';
import { launchChromium, openPage, pageWatch, startAppServer, type TestPage } from './helpers/browser';
import type { TestWsServer } from '../helpers/ws-server';

let browser: Browser;
let web: StaticServer;
let ws: TestWsServer;
let context: BrowserContext;
let t: TestPage;

beforeAll(async () => {
  [browser, web] = await Promise.all([launchChromium(), startStaticServer()]);
});
afterAll(async () => {
  await browser?.close();
  await web?.close();
});
afterEach(async () => {
  await context?.close();
  await ws?.close();
});

async function fresh(): Promise<void> {
  ws = await startAppServer();
  context = await browser.newContext();
  t = await openPage(context);
}

interface RoundTrip {
  label: string;
  api: Record<string, string>;
  sent: string | null;
  echo: [string, number] | null;
  sum: number | null;
  rtt: number | null;
  states: string[];
  errors: string[];
  done: boolean;
  failed: string | null;
}

/**
 * Waits for fixtures/roundtrip.js to finish and returns what it saw. When it fails, throws, or does not finish
 * within 5 s, says what the page showed (its result so far, CSP violations, errors).
 */
async function roundTrip(page: Page): Promise<RoundTrip> {
  const read = (): Promise<RoundTrip | undefined> => page.evaluate(() => (window as unknown as { __result?: RoundTrip }).__result);
  let timedOut: unknown;
  try {
    await page.waitForFunction(
      () => {
        const w = window as unknown as { __result?: RoundTrip; __errors: unknown[] };
        return (!!w.__result && (w.__result.done || !!w.__result.failed)) || w.__errors.length > 0;
      },
      undefined,
      { timeout: 5000, polling: 10 },
    );
  } catch (e) {
    timedOut = e;
  }
  const r = await read();
  if (timedOut || !r?.done) {
    const seen = {
      result: r,
      ...(await pageWatch(page).catch(() => undefined)),
      pageErrors: t.pageErrors,
      consoleErrors: t.consoleErrors,
    };
    throw new Error(`the page's round trip did not finish: ${JSON.stringify(seen, null, 2)}`, { cause: timedOut });
  }
  return r;
}

/** Gives a queued `securitypolicyviolation` or error event the chance to fire (they are dispatched as tasks). */
const settle = (page: Page): Promise<unknown> => page.evaluate(() => new Promise((r) => setTimeout(r, 100)));

describe('the CDN build (dist/surewire.min.js)', () => {
  it("works from a <script src> under Content-Security-Policy: script-src 'self', with no violation", async () => {
    await fresh();
    const res = await t.page.goto(`${web.origin}/fixtures/cdn.html?ws=${encodeURIComponent(ws.url())}`);
    expect(res?.headers()['content-security-policy']).toBe(CSP);

    const r = await roundTrip(t.page);
    expect(r.failed).toBeNull();
    // The global is the client class, with the rest of the API on it.
    expect(r.api).toEqual({ client: 'function', ClosedError: 'function', DecodeError: 'function', isSurewireError: 'function', computeDelay: 'function' });
    // Sent before the socket opened: it waited in the outbox, then went out and came back.
    expect(r.sent).toBe('queued');
    expect(r.echo).toEqual(['hello from cdn', 42]);
    expect(r.sum).toBe(5);
    expect(r.rtt).toEqual(expect.any(Number));
    expect(r.states).toEqual(['connecting', 'open']);
    expect(r.errors).toEqual([]);

    // What the real server saw: the documented wire format, and the heartbeat ping.
    expect(ws.connections).toHaveLength(1);
    expect(ws.texts()).toEqual(['["say","hello from cdn",42]', '{"id":1,"event":"add","args":[2,3]}']);
    expect(ws.pings).toBeGreaterThanOrEqual(1);
    // The page ran the CDN build itself, not something else.
    expect(web.requests.map((q) => q.path)).toContain('/dist/surewire.min.js');

    await settle(t.page);
    const watch = await pageWatch(t.page);
    expect(watch.violations).toEqual([]);
    expect(watch.errors).toEqual([]);
    expect(t.pageErrors).toEqual([]);
    expect(t.consoleErrors).toEqual([]);
  });

  it('control: the same policy blocks an inline script, and the page reports the violation', async () => {
    // Proves that the header is enforced and that csp-watch.js sees violations: the test above can fail.
    await fresh();
    await t.page.goto(`${web.origin}/fixtures/csp-control.html`);
    await t.page.waitForFunction(() => (window as unknown as { __violations: unknown[] }).__violations.length > 0, undefined, { timeout: 3000, polling: 10 });
    const watch = await pageWatch(t.page);
    expect(watch.violations).toEqual([expect.objectContaining({ directive: 'script-src-elem', blocked: 'inline' })]);
    expect(await t.page.evaluate(() => (window as unknown as { __inlineRan?: boolean }).__inlineRan)).toBeUndefined();
  });
});

describe('the ESM build (dist/surewire.mjs)', () => {
  it('works from <script type="module"> with no bundler and no import map', async () => {
    await fresh();
    await t.page.goto(`${web.origin}/fixtures/esm.html?ws=${encodeURIComponent(ws.url())}`);
    const r = await roundTrip(t.page);
    expect(r.failed).toBeNull();
    expect(r.api).toEqual({ client: 'function', ClosedError: 'function', DecodeError: 'function', isSurewireError: 'function', computeDelay: 'function' });
    expect(r.sent).toBe('queued');
    expect(r.echo).toEqual(['hello from esm', 42]);
    expect(r.sum).toBe(5);
    expect(r.rtt).toEqual(expect.any(Number));
    expect(ws.texts()).toEqual(['["say","hello from esm",42]', '{"id":1,"event":"add","args":[2,3]}']);
    // The ESM build defines no global.
    expect(await t.page.evaluate(() => (window as unknown as { __esmGlobal: string }).__esmGlobal)).toBe('undefined');
    expect(web.requests.map((q) => q.path)).toContain('/dist/surewire.mjs');

    await settle(t.page);
    const watch = await pageWatch(t.page);
    expect(watch.violations).toEqual([]);
    expect(watch.errors).toEqual([]);
    expect(t.pageErrors).toEqual([]);
    expect(t.consoleErrors).toEqual([]);
  });
});
