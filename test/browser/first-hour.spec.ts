// What a user sees in a real browser when nothing listens to errors: the first error of each kind, once, on
// the console, naming the URL (without its token) and the cause as far as the browser tells it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startStaticServer, type StaticServer } from './helpers/static-server';
import { launchChromium, loadHarness, openPage } from './helpers/browser';
import { waitFor } from '../helpers/wait';
import { freePort } from '../helpers/ports';

let browser: Browser;
let web: StaticServer;

beforeAll(async () => {
  [browser, web] = await Promise.all([launchChromium(), startStaticServer()]);
});
afterAll(async () => {
  await browser?.close();
  await web?.close();
});


it('writes the first connection error once to console.warn, with the URL (query redacted) and the close code, however often it retries', async () => {
  const context = await browser.newContext();
  const t = await openPage(context);
  const warnings: string[] = [];
  t.page.on('console', (m) => {
    if (m.type() == 'warning') warnings.push(m.text());
  });
  await loadHarness(t, web.origin);
  const port = await freePort();
  await t.page.evaluate((url) => {
    const w = window as unknown as { Surewire: new (u: string, o: object) => { connection: { on(e: string, f: () => void): void } }; retries: number };
    w.retries = 0;
    const c = new w.Surewire(url, { reconnect: { initialDelay: 20, maxDelay: 40 } });
    c.connection.on('reconnecting', () => w.retries++);
  }, `ws://127.0.0.1:${port}/ws?token=secret`);
  await waitFor(() => t.page.evaluate(() => (window as unknown as { retries: number }).retries >= 5), 5000, 'five retries');
  const ours = warnings.filter((w) => w.includes('surewire'));
  expect(ours).toHaveLength(1);
  expect(ours[0]).toContain(`surewire: could not connect to ws://127.0.0.1:${port}/ws?…: closed before open with code 1006`);
  expect(ours[0]).not.toContain('secret');
  await context.close();
});

it('writes nothing when the page listens to errors', async () => {
  const context = await browser.newContext();
  const t = await openPage(context);
  const warnings: string[] = [];
  t.page.on('console', (m) => {
    if (m.type() == 'warning') warnings.push(m.text());
  });
  await loadHarness(t, web.origin);
  const port = await freePort();
  await t.page.evaluate((url) => {
    const w = window as unknown as { Surewire: new (u: string, o: object) => { connection: { on(e: string, f: (x?: unknown) => void): void } }; errors: unknown[] };
    w.errors = [];
    const c = new w.Surewire(url, { reconnect: { initialDelay: 20, maxDelay: 40 } });
    c.connection.on('error', (e) => w.errors.push(e));
  }, `ws://127.0.0.1:${port}/`);
  await waitFor(() => t.page.evaluate(() => (window as unknown as { errors: unknown[] }).errors.length >= 3), 5000, 'three errors');
  expect(warnings.filter((w) => w.includes('surewire'))).toEqual([]);
  await context.close();
});
