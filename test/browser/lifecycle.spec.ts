// The browser telling the client to look again: the network going away and coming back (DevTools network
// emulation, which makes Chromium fire `offline` / `online`, flip `navigator.onLine` and stop the traffic) and
// the page becoming visible again (a real tab switch: another tab brought to the front hides the page, bringing
// it back shows it). A client waiting on a 60 s backoff must retry at once; an open connection is checked at once.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import { startStaticServer, type StaticServer } from './helpers/static-server';
import {
  connectWithoutFocusEmulation,
  expectNoPageErrors,
  launchForVisibility,
  loadHarness,
  openPage,
  send,
  snapshot,
  startAppServer,
  startClient,
  states,
  waitForEntry,
  type Entry,
  type TestPage,
} from './helpers/browser';
import type { TestWsServer } from '../helpers/ws-server';
import { delay, waitFor } from '../helpers/wait';

let browser: Browser;
/**
 * The same browser, connected again without focus emulation (see connectWithoutFocusEmulation). Every page of
 * this file is made through it: pages of the first connection's contexts would be seen by both connections.
 */
let tabs: Browser;
let web: StaticServer;
let ws: TestWsServer;
let t: TestPage;
const cleanups: (() => Promise<unknown>)[] = [];

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
  await ws?.close();
});

const BACKOFF = 60_000;
const options = { reconnect: { initialDelay: BACKOFF, maxDelay: BACKOFF, jitter: 0 }, heartbeat: { interval: 1000, timeout: 1000 } };

/** Opens the harness in `context` and connects a client to a fresh server. */
async function connected(context: BrowserContext, o: object): Promise<void> {
  ws = await startAppServer();
  const page = (t = await openPage(context));
  cleanups.push(() => page.close());
  await loadHarness(t, web.origin);
  await startClient(t, ws.url(), o, ['say']);
  await waitForEntry(t, 'open', 1);
}

/** Connects, then drops the connection from the server: the client waits out a 60 s backoff. */
async function waitingOnLongBackoff(context: BrowserContext): Promise<void> {
  await connected(context, options);
  ws.terminateAll();
  expect(await waitForEntry(t, 'reconnecting', 1)).toMatchObject({ attempt: 1, delay: BACKOFF });
  expect(await snapshot(t)).toMatchObject({ state: 'reconnecting' });
}

/** A context whose pages can really be hidden: the default one of the second connection. */
const tabContext = (): BrowserContext => tabs.contexts()[0]!;

const windowEvent =
  (type: string) =>
  (e: Entry): boolean =>
    e.type == type;

describe('a client waiting on a long backoff', () => {
  it('retries at once when the network comes back (offline, then online)', async () => {
    const context = await tabs.newContext();
    cleanups.push(() => context.close());
    await waitingOnLongBackoff(context);
    const tcp = ws.tcpConnections;

    await context.setOffline(true);
    const offline = await waitForEntry(t, 'window', 1, 3000, windowEvent('offline'));
    expect(offline).toMatchObject({ online: false });
    // Going offline is no reason to retry.
    await delay(200);
    expect(ws.tcpConnections).toBe(tcp);
    expect((await snapshot(t)).state).toBe('reconnecting');

    await context.setOffline(false);
    const online = await waitForEntry(t, 'window', 1, 3000, windowEvent('online'));
    expect(online).toMatchObject({ online: true });
    const open = await waitForEntry(t, 'open', 2, 5000);
    // Connected right away, not after the 60 s wait.
    expect(open.t - online.t).toBeLessThan(3000);
    expect(ws.connections).toHaveLength(2);
    expect(states(t)).toEqual(['open', 'reconnecting', 'connecting', 'open']);
    expect(t.of('reconnecting')).toHaveLength(1);
    expectNoPageErrors(t);
  });

  it('retries at once when the page becomes visible again (another tab in front, then back)', async () => {
    const context = tabContext();
    await waitingOnLongBackoff(context);
    expect(await t.page.evaluate(() => document.visibilityState)).toBe('visible');
    const tcp = ws.tcpConnections;

    // A new tab in the same window comes to the front: Chromium hides our page.
    const other = await context.newPage();
    cleanups.push(() => other.close());
    const hidden = await waitForEntry(t, 'window', 1, 3000, windowEvent('visibilitychange'));
    expect(hidden).toMatchObject({ visibility: 'hidden' });
    expect(await t.page.evaluate(() => document.visibilityState)).toBe('hidden');
    // Being hidden is no reason to retry.
    await delay(200);
    expect(ws.tcpConnections).toBe(tcp);
    expect((await snapshot(t)).state).toBe('reconnecting');

    await t.page.bringToFront();
    const shown = await waitForEntry(t, 'window', 2, 3000, windowEvent('visibilitychange'));
    expect(shown).toMatchObject({ visibility: 'visible' });
    const open = await waitForEntry(t, 'open', 2, 5000);
    expect(open.t - shown.t).toBeLessThan(3000);
    expect(ws.connections).toHaveLength(2);
    expect(states(t)).toEqual(['open', 'reconnecting', 'connecting', 'open']);
    expectNoPageErrors(t);
  });
});

describe('an open connection', () => {
  it('is checked at once when the network goes away: a dead link is found within the heartbeat timeout, not the interval', async () => {
    const context = await tabs.newContext();
    cleanups.push(() => context.close());
    const heartbeat = { interval: 60_000, timeout: 500 };
    await connected(context, { reconnect: { initialDelay: 100, maxDelay: 100, jitter: 0 }, heartbeat });

    await context.setOffline(true);
    const offline = await waitForEntry(t, 'window', 1, 3000, windowEvent('offline'));
    // Offline, nothing reaches the server, so the ping sent at once goes unanswered.
    const error = await waitForEntry(t, 'error', 1, 3000);
    expect(error).toMatchObject({ code: 'heartbeat', name: 'ConnectionError' });
    const close = await waitForEntry(t, 'close', 1);
    expect(close).toMatchObject({ code: 4000, willReconnect: true });
    expect(close.t - offline.t).toBeLessThan(heartbeat.timeout + 1000);

    // Attempts made while offline fail; back online, one succeeds.
    await context.setOffline(false);
    await waitForEntry(t, 'open', 2, 5000);
    expect(ws.connections).toHaveLength(2);
    expect(await send(t, 'say', 'back')).toBe('sent');
    await waitFor(() => ws.texts(2).includes('["say","back"]'), 3000, 'a message on the new connection');
    expectNoPageErrors(t);
  });

  it('is checked at once with a ping when the page becomes visible again', async () => {
    const context = tabContext();
    await connected(context, { reconnect: { initialDelay: 100, jitter: 0 }, heartbeat: { interval: 60_000, timeout: 2000 } });
    // The first ping goes out on open: wait for its answer, so the heartbeat counted below is the new one.
    await waitForEntry(t, 'heartbeat', 1, 3000);
    const pings = ws.pings;
    expect(pings).toBe(1);

    const other = await context.newPage();
    cleanups.push(() => other.close());
    expect(await waitForEntry(t, 'window', 1, 3000, windowEvent('visibilitychange'))).toMatchObject({ visibility: 'hidden' });
    await delay(200);
    expect(ws.pings).toBe(pings); // hiding is no reason to ping

    await t.page.bringToFront();
    const shown = await waitForEntry(t, 'window', 2, 3000, windowEvent('visibilitychange'));
    expect(shown).toMatchObject({ visibility: 'visible' });
    const beat = await waitForEntry(t, 'heartbeat', 2, 3000);
    expect(beat.t - shown.t).toBeLessThan(1000); // not after the 60 s interval
    expect(ws.pings).toBe(pings + 1);
    expect(states(t)).toEqual(['open']);
    expectNoPageErrors(t);
  });
});
