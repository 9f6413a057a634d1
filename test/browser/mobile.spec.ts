// The demo on a phone: every chat page of examples/ at 390×844 (an iPhone 12–15's CSS viewport) with a
// mobile viewport, so that the page's `<meta name="viewport">` applies as on a phone. The Send button and the
// connection bar must be on screen: before the fix, the message field kept its intrinsic width in the form's
// flex row, the layout viewport grew to 456 px, and Send sat past the right edge. Needs `npm run build && npm
// run build:examples` (the React and Vue pages).
//
// The docs' screenshot (docs/images/mobile.png, the CDN page after a short conversation) is written when that
// file is missing or SUREWIRE_SCREENSHOT=1, and otherwise to the temp dir, so that test runs leave the tree
// unchanged.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchChromium } from './helpers/browser';
import { REPO } from './helpers/static-server';
import { expectCleanPage, openChat, startDemo, untilShown, untilState, type ChatPage, type Demo } from './helpers/demo';

const WIDTH = 390;
const HEIGHT = 844;

/** Every page with a chat form, by its path on the demo server. */
const PAGES = ['/cdn/', '/esm/', '/socket.io/', '/react/', '/vue/', '/existing-chat/before.html', '/existing-chat/after.html'];

const SCREENSHOT = join(REPO, 'docs/images/mobile.png');
const screenshotPath = (): string => (process.env.SUREWIRE_SCREENSHOT == '1' || !existsSync(SCREENSHOT) ? SCREENSHOT : join(tmpdir(), 'surewire-mobile.png'));

let browser: Browser;
let demo: Demo;
let phone: BrowserContext;

beforeAll(async () => {
  browser = await launchChromium();
  demo = await startDemo();
  phone = await browser.newContext({ viewport: { width: WIDTH, height: HEIGHT }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
});
afterAll(async () => {
  await phone?.close().catch(() => {});
  await browser?.close();
  await demo?.close();
});

interface Layout {
  /** The layout viewport's width: wider than the screen when some element does not fit. */
  innerWidth: number;
  scrollWidth: number;
  boxes: Record<string, { left: number; top: number; right: number; bottom: number; width: number } | null>;
}

/** Where the form's controls and the connection bar are, in CSS pixels of the viewport. */
const layout = (p: ChatPage): Promise<Layout> =>
  p.page.evaluate((ids) => {
    const boxes: Layout['boxes'] = {};
    for (const id of ids) {
      const r = document.getElementById(id)?.getBoundingClientRect();
      boxes[id] = r ? { left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width } : null;
    }
    return { innerWidth: window.innerWidth, scrollWidth: document.documentElement.scrollWidth, boxes };
  }, ['send', 'status', 'state', 'text', 'nick']);

/** The element is fully inside the 390×844 screen. */
function expectOnScreen(l: Layout, id: string, page: string): void {
  const b = l.boxes[id];
  expect(b, `${page}: #${id} exists`).not.toBeNull();
  expect(b!.left, `${page}: #${id} left edge`).toBeGreaterThanOrEqual(0);
  expect(b!.top, `${page}: #${id} top edge`).toBeGreaterThanOrEqual(0);
  expect(b!.right, `${page}: #${id} right edge, within ${WIDTH} px`).toBeLessThanOrEqual(WIDTH);
  expect(b!.bottom, `${page}: #${id} bottom edge, within ${HEIGHT} px`).toBeLessThanOrEqual(HEIGHT);
}

describe('the demo on a phone (390×844)', () => {
  for (const path of PAGES)
    it(`${path}: the Send button and the connection bar are on screen, and Send works with a tap`, async () => {
      const p = await openChat(phone, `${demo.origin}${path}`, { name: `${path} at ${WIDTH} px`, nick: 'ada' });
      try {
        await untilState(p, 'open');
        const l = await layout(p);
        expect(l.innerWidth, `${path}: the layout viewport is the screen (nothing wider pushed it out)`).toBe(WIDTH);
        expect(l.scrollWidth, `${path}: no horizontal scrolling`).toBeLessThanOrEqual(WIDTH);
        for (const id of ['send', 'status', 'state', 'text']) expectOnScreen(l, id, path);
        for (const id of ['send', 'status', 'state', 'text', 'nick']) expect(await p.page.locator(`#${id}`).isVisible(), `${path}: #${id} visible`).toBe(true);
        // Room to type: the message field is not squeezed to nothing, and no control covers another.
        expect(l.boxes.text!.width, `${path}: #text width`).toBeGreaterThanOrEqual(120);
        expect(l.boxes.nick!.right, `${path}: #nick ends before #text`).toBeLessThanOrEqual(l.boxes.text!.left);
        expect(l.boxes.text!.right, `${path}: #text ends before #send`).toBeLessThanOrEqual(l.boxes.send!.left);

        // The button does its job when tapped, as on a phone.
        const text = `sent from a phone: ${path}`;
        await p.page.locator('#text').fill(text);
        await p.page.locator('#send').tap();
        await untilShown(p, [text]);
        await expectCleanPage(p);
      } finally {
        await p.close();
      }
    });

  it('the screenshot for the docs: the CDN page after a short conversation', async () => {
    const p = await openChat(phone, `${demo.origin}/cdn/?room=phone`, { name: 'CDN page on a phone', nick: 'ada' });
    try {
      await untilState(p, 'open');
      const lines = ['On the train, typing on my phone.', 'Tunnels ahead: what I type waits in the outbox.', 'Back above ground: all of it arrived, once.'];
      for (const text of lines) {
        await p.page.locator('#text').fill(text);
        await p.page.locator('#send').tap();
        await untilShown(p, [text]);
      }
      const file = screenshotPath();
      const png = await p.page.screenshot({ path: file });
      expect(png.subarray(1, 4).toString(), 'a PNG was written').toBe('PNG');
      expectOnScreen(await layout(p), 'send', '/cdn/ (screenshot)');
    } finally {
      await p.close();
    }
  });
});
