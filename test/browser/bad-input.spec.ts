// Bad input from the server, in Chromium: frames that are not JSON, JSON that is not a packet, events and
// replies nobody waits for, 5 MB frames and binary. Nothing may throw in the page, the connection stays open
// and keeps working, and what cannot be decoded is reported as a DecodeError on `connection.on('error')`.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import { startStaticServer, type StaticServer } from './helpers/static-server';
import { launchChromium, loadHarness, openPage, send, snapshot, startAppServer, startClient, states, waitForEntry, type TestPage } from './helpers/browser';
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

const MB5 = 5 * 1024 * 1024;

describe('bad input from the server', () => {
  it('is reported, never thrown: the client stays open and a later good message still arrives', async () => {
    ws = await startAppServer();
    context = await browser.newContext();
    t = await openPage(context);
    await loadHarness(t, web.origin);
    await startClient(t, ws.url(), { reconnect: { initialDelay: 100, jitter: 0 }, heartbeat: { interval: 1000, timeout: 3000 } }, ['say', 'big', 'after']);
    await waitForEntry(t, 'open', 1);

    const notJson = 'this is {not json';
    const bigGarbage = '<'.repeat(MB5); // 5 MB that is not JSON
    const bigEvent = JSON.stringify(['big', 'x'.repeat(MB5)]); // 5 MB that is a good event
    ws.send(notJson);
    ws.send('42'); // JSON, but neither an event array nor a reply
    ws.send('["nobody-listens",1,{"a":[2]}]'); // an event nobody listens to: ignored
    ws.send('{"id":424242,"result":"late"}'); // a reply to no request: ignored
    ws.send(Buffer.from([0xff, 0x00, 0xfe, 0x01])); // binary: the event 'binary', nobody listens
    ws.send(bigGarbage);
    ws.send(bigEvent);
    ws.send('["after","still working"]');

    const after = await waitForEntry(t, 'msg', 1, 10_000, (e) => e.event == 'after');
    expect(after.args).toEqual(['still working']);
    // The 5 MB event arrived whole, before it.
    expect(t.of('msg').map((e) => e.event)).toEqual(['big', 'after']);
    expect(t.of('msg')[0]!.args).toEqual([{ length: MB5, head: 'x'.repeat(40) }]);

    // Exactly the three frames that cannot be decoded are reported, in order, each as a DecodeError holding it.
    const decode = { kind: 'error', name: 'DecodeError', code: 'decode', decode: true, surewire: true };
    expect(t.of('error')).toEqual([
      expect.objectContaining({ ...decode, frame: notJson }),
      expect.objectContaining({ ...decode, frame: '42' }),
      expect.objectContaining({ ...decode, frame: { length: MB5, head: '<'.repeat(40) } }),
    ]);

    // Still the same open connection, and it still works both ways.
    expect(await snapshot(t)).toMatchObject({ state: 'open' });
    expect(states(t)).toEqual(['open']);
    expect(t.of('close')).toEqual([]);
    expect(ws.connections).toHaveLength(1);
    expect(await send(t, 'say', 'and back')).toBe('sent');
    expect((await waitForEntry(t, 'msg', 1, 3000, (e) => e.event == 'say')).args).toEqual(['and back']);

    // Nothing was thrown in the page, nothing logged as an error.
    expect(t.pageErrors).toEqual([]);
    expect(t.consoleErrors).toEqual([]);
  });
});
