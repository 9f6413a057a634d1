// The CDN build in Chromium against a real `ws` server, through a TCP proxy that breaks the network:
// a cut connection, a window in which every attempt is refused, and a stalled (half-open) link.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import { startStaticServer, type StaticServer } from './helpers/static-server';
import {
  expectNoPageErrors,
  launchChromium,
  loadHarness,
  openPage,
  send,
  snapshot,
  startAppServer,
  startClient,
  states,
  waitForEntry,
  type TestPage,
} from './helpers/browser';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';
import type { TestWsServer } from '../helpers/ws-server';
import { waitFor } from '../helpers/wait';

let browser: Browser;
let web: StaticServer;
let ws: TestWsServer;
let proxy: TcpProxy;
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
  await proxy?.close();
  await ws?.close();
});

/** A page whose client connects to the server through the proxy, and is open. */
async function connected(options: object): Promise<void> {
  ws = await startAppServer();
  proxy = await startTcpProxy({ port: ws.port });
  context = await browser.newContext();
  t = await openPage(context);
  await loadHarness(t, web.origin);
  await startClient(t, proxy.url(), options, ['say']);
  await waitForEntry(t, 'open', 1);
}

/** Sends `say(text)` and waits for the server's echo to reach the page. */
async function roundTrip(text: string): Promise<void> {
  expect(await send(t, 'say', text)).toBe('sent');
  await waitForEntry(t, 'msg', 1, 3000, (e) => (e.args as unknown[])[0] == text);
}

describe('through a TCP proxy', () => {
  it('reconnects after the connection is cut, and works on the new connection', async () => {
    await connected({ reconnect: { initialDelay: 100, maxDelay: 100, jitter: 0 }, heartbeat: { interval: 1000, timeout: 1000 } });
    await roundTrip('before');

    proxy.cut();
    const close = await waitForEntry(t, 'close', 1);
    expect(close).toMatchObject({ code: 1006, willReconnect: true });
    await waitForEntry(t, 'open', 2);

    expect(ws.connections).toHaveLength(2);
    await roundTrip('after');
    expect(ws.texts(1)).toEqual(['["say","before"]']);
    expect(ws.texts(2)).toEqual(['["say","after"]']);
    expect(states(t)).toEqual(['open', 'reconnecting', 'connecting', 'open']);
    expect(t.of('reconnecting')).toEqual([expect.objectContaining({ attempt: 1, delay: 100 })]);
    expectNoPageErrors(t);
  });

  it('keeps what is sent while every attempt is refused, and flushes it in order once one is accepted', async () => {
    await connected({ reconnect: { initialDelay: 50, maxDelay: 150, jitter: 0 }, heartbeat: { interval: 1000, timeout: 1000 } });
    proxy.mode = 'refuse';
    proxy.cut();
    await waitForEntry(t, 'reconnecting', 1);

    const results: string[] = [];
    for (let i = 1; i <= 5; i++) results.push(await send(t, 'say', `m${i}`));
    expect(results).toEqual(['queued', 'queued', 'queued', 'queued', 'queued']);

    // Attempts go on, and fail, while the proxy refuses: the outbox holds on.
    await waitFor(() => proxy.refused >= 2, 3000, 'two refused attempts');
    await waitForEntry(t, 'close', 3); // the cut, then two refused attempts
    expect(t.of('close').slice(1)).toEqual([expect.objectContaining({ code: 1006, willReconnect: true }), expect.objectContaining({ code: 1006, willReconnect: true })]);
    expect(await snapshot(t)).toMatchObject({ state: expect.stringMatching(/^(reconnecting|connecting)$/), queued: 5 });
    expect(ws.connections).toHaveLength(1);

    proxy.mode = 'forward';
    await waitForEntry(t, 'open', 2, 3000);
    expect(await send(t, 'say', 'm6')).toBe('sent');

    await waitFor(() => ws.texts(2).length >= 6, 3000, 'six messages on the new connection');
    expect(ws.texts(2)).toEqual([1, 2, 3, 4, 5, 6].map((i) => `["say","m${i}"]`));
    expect(ws.texts(1)).toEqual([]);
    expect(t.of('drop')).toEqual([]);
    expect((await snapshot(t)).queued).toBe(0);
    // The echoes come back in order too.
    await waitFor(() => t.of('msg').length >= 6, 3000, 'six echoes');
    expect(t.of('msg').map((e) => (e.args as string[])[0])).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6']);
    expectNoPageErrors(t);
  });

  it('finds a stalled link with the heartbeat (close 4000) and replaces it with a working connection', async () => {
    const heartbeat = { interval: 300, timeout: 300 };
    await connected({ reconnect: { initialDelay: 50, maxDelay: 50, jitter: 0 }, heartbeat });
    await waitForEntry(t, 'heartbeat', 1); // the server answers: the heartbeat works before the stall
    await roundTrip('before');

    const stalledAt = Date.now();
    proxy.stall(); // TCP stays up, nothing goes through, either way; new connections are forwarded
    const error = await waitForEntry(t, 'error', 1, 3000);
    expect(error).toMatchObject({ code: 'heartbeat', name: 'ConnectionError', surewire: true });
    const close = await waitForEntry(t, 'close', 1);
    expect(close).toMatchObject({ code: 4000, willReconnect: true });
    // Found within one interval and one timeout (plus slack), not by TCP or the browser.
    expect(close.t - stalledAt).toBeLessThan(heartbeat.interval + heartbeat.timeout + 1000);

    await waitForEntry(t, 'open', 2, 3000);
    expect(states(t)).toEqual(['open', 'reconnecting', 'connecting', 'open']);
    expect(ws.connections).toHaveLength(2);
    expect(proxy.active).toBeGreaterThanOrEqual(2); // the stalled link is still up: only the heartbeat could tell
    await roundTrip('after');
    expect(ws.texts(2)).toEqual(['["say","after"]']);
    const pongs = t.of('heartbeat').length;
    await waitForEntry(t, 'heartbeat', pongs + 1, 3000); // and the new connection answers the heartbeat
    expectNoPageErrors(t);
  });
});
