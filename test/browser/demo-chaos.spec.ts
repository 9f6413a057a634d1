// The demo's chaos mode in Chromium: two pages opened with ?chaos=1 (the CDN page over /ws and the socket.io
// page over socket.io), in one room, both sending numbered messages steadily for 20 s while the server cuts
// each page's connection every 1–2.5 s. Nothing may be lost or doubled, and both pages must end up with the
// same list. Needs `npm run build`.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium } from './helpers/browser';
import { delay } from '../helpers/wait';
import {
  expectCleanPage,
  expectQuietServer,
  isSendWhileClosing,
  numbersBy,
  openChat,
  resent,
  say,
  shown,
  startDemo,
  stateHistory,
  until,
  untilShown,
  untilState,
  type ChatPage,
  type Demo,
} from './helpers/demo';

const CHAOS_FOR = 20_000;
/** Between two messages of one page (the test is about time: a steady stream). */
const EVERY = 50;

let browser: Browser;
let demo: Demo | undefined;

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await demo?.close();
});

/** Sends `<label> #1`, `#2`, … from the page until `end`; resolves with how many it sent. */
async function sendSteadily(p: ChatPage, label: string, end: number): Promise<number> {
  let n = 0;
  while (Date.now() < end) {
    await say(p, `${label} #${++n}`);
    await delay(EVERY);
  }
  return n;
}

it('chaos for 20 s on the CDN and socket.io pages, both sending steadily: nothing lost, nothing doubled, the same order in both, and reconnects happened', async () => {
  demo = await startDemo({ chaos: { min: 1000, max: 2500 } });
  const ctx = await browser.newContext();
  const room = 'chaos';
  const ws = await openChat(ctx, `${demo.origin}/cdn/?room=${room}&chaos=1`, { name: 'CDN page (/ws)', nick: 'over-ws' });
  const sio = await openChat(ctx, `${demo.origin}/socket.io/?room=${room}&chaos=1`, { name: 'socket.io page', nick: 'over-sio' });
  const both = [ws, sio];
  await Promise.all(both.map((p) => untilState(p, 'open')));
  // The toggle says chaos is on, and leads back to the same room without it.
  for (const p of both) {
    const link = p.page.locator('#chaos');
    expect(await link.innerText(), p.name).toMatch(/chaos: on/);
    const href = new URL((await link.getAttribute('href')) ?? '', p.page.url());
    expect(href.searchParams.get('chaos'), p.name).toBeNull();
    expect(href.searchParams.get('room'), p.name).toBe(room);
  }

  const end = Date.now() + CHAOS_FOR;
  const [nWs, nSio] = await Promise.all([sendSteadily(ws, 'ws', end), sendSteadily(sio, 'sio', end)]);
  expect(nWs).toBeGreaterThan(20);
  expect(nSio).toBeGreaterThan(20);

  // Still under chaos: everything arrives anyway.
  const all = [...Array.from({ length: nWs }, (_, i) => `ws #${i + 1}`), ...Array.from({ length: nSio }, (_, i) => `sio #${i + 1}`)];
  await Promise.all(both.map((p) => untilShown(p, all, 20_000)));
  await Promise.all(both.map((p) => until(p, '#queued 0', () => document.getElementById('queued')?.textContent == '0', null, 10_000)));

  const [a, b] = await Promise.all([shown(ws), shown(sio)]);
  // The same full list, in the same order, in both pages ...
  expect(b.map((m) => [m.id, m.nick, m.text])).toEqual(a.map((m) => [m.id, m.nick, m.text]));
  // ... with every message once, and each page's in the order sent.
  expect(a).toHaveLength(nWs + nSio);
  expect(new Set(a.map((m) => m.text)).size).toBe(a.length);
  expect(new Set(a.map((m) => m.id)).size).toBe(a.length);
  expect(numbersBy(a, 'over-ws')).toEqual(Array.from({ length: nWs }, (_, i) => i + 1));
  expect(numbersBy(a, 'over-sio')).toEqual(Array.from({ length: nSio }, (_, i) => i + 1));
  // The server stored each once too (its room keeps the last 50): the same tail.
  const stored = demo.chat.rooms.get(room)?.messages ?? [];
  expect(stored.map((m) => [m.id, m.nick, m.text])).toEqual(a.slice(-stored.length).map((m) => [m.id, m.nick, m.text]));

  // And the connections really were cut, again and again, on both sides.
  const [statesWs, statesSio] = await Promise.all([stateHistory(ws), stateHistory(sio)]);
  const drops = (states: string[]): number => states.filter((s) => s == 'reconnecting').length;
  console.log(
    `[demo-chaos] sent ${nWs} over /ws, ${nSio} over socket.io; ` +
      `reconnects seen by the pages: ${drops(statesWs)} (/ws), ${drops(statesSio)} (socket.io); ` +
      `closed by the server: ${demo.seen.ws.closed} (/ws), ${demo.seen.io.closed} (socket.io); ` +
      `messages resent after a cut (and dropped by the server): ${resent(demo.seen.ws).length} (/ws), ${resent(demo.seen.io).length} (socket.io)`,
  );
  // Every message reached the server at least once over the wire (the count the resends above come from).
  expect(demo.seen.ws.frames.size).toBe(nWs);
  expect(demo.seen.io.frames.size).toBe(nSio);
  expect(drops(statesWs), `${ws.name}: #state went through ${statesWs.join(' → ')}`).toBeGreaterThanOrEqual(4);
  expect(drops(statesSio), `${sio.name}: #state went through ${statesSio.join(' → ')}`).toBeGreaterThanOrEqual(4);
  expect(demo.seen.ws.closed).toBeGreaterThanOrEqual(4);
  expect(demo.seen.io.closed).toBeGreaterThanOrEqual(4);

  // The socket.io page may log Chromium's "WebSocket is already in CLOSING or CLOSED state." (see
  // isSendWhileClosing): engine.io-client writing into a connection the server is closing.
  const closing = sio.consoleErrors.filter(isSendWhileClosing).length;
  if (closing) console.log(`[demo-chaos] socket.io page: ${closing} × "WebSocket is already in CLOSING or CLOSED state." (engine.io-client)`);
  await expectCleanPage(ws);
  await expectCleanPage(sio, { allow: isSendWhileClosing });
  expectQuietServer(demo);
  await ctx.close();
}, 60_000);
