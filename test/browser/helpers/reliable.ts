// Set-up of reliable.spec.ts: the protocol's server side (`reliable()` from src/server, with its memory store)
// behind a real `ws` server, the page fixtures/reliable.html (the CDN build plus fixtures/reliable-main.js),
// and a seeded random source for the fault injection.
import type { BrowserContext } from 'playwright-core';
import { WebSocketServer, type WebSocket } from 'ws';
import { memoryStore, reliable, type ReliableServer } from '../../../src/server';
import { openPage, type TestPage } from './browser';

/** A small seeded PRNG (mulberry32): the same seed gives the same faults at the same points. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The seed of a test: `$SUREWIRE_SEED` when set (to replay a failure), otherwise a fresh one. Printed, so a
 * failing run can be replayed with `SUREWIRE_SEED=<seed> npm run test:browser`.
 */
export function seedFor(name: string): { seed: number; random: () => number } {
  const env = process.env.SUREWIRE_SEED;
  const seed = env ? Number(env) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  console.log(`[reliable.spec] ${name}: seed ${seed} (replay with SUREWIRE_SEED=${seed})`);
  return { seed, random: prng(seed) };
}

/** One call of the server app's `onMessage`. */
export interface Handled {
  session: string;
  event: string;
  args: unknown[];
}

export interface ReliableTestServer {
  server: ReliableServer;
  store: ReturnType<typeof memoryStore>;
  port: number;
  /** Every `onMessage` call, in order. */
  handled: Handled[];
  /** The first argument of every `m` message handed to the app, in order. */
  numbers(): number[];
  /**
   * Called inside the app's `onMessage`, right after a message is recorded: a fault injected here hits the
   * connection after the message is stored and handed over, and before its `$ack` can go out (the server
   * batches acks over `ackDelay`), so the client must resend it and the server must drop the duplicate.
   */
  onHandled: ((h: Handled) => void) | undefined;
  /** `onError` calls (store, handler): none is expected. */
  errors: unknown[];
  /** WebSocket connections accepted (through the proxy: one per connection the page made). */
  connections: number;
  /** `$m` frames that reached the server from clients, resends included (the app sees each message once). */
  frames: number;
  /** The session each connection said `$hello` for, in order of connection (read when it closes, or now). */
  sessions(): (string | undefined)[];
  close(): Promise<void>;
}

/** `reliable()` from src/server, with its memory store, behind a `ws` server on 127.0.0.1 (ephemeral port). */
export async function startReliableServer(o: { history?: number } = {}): Promise<ReliableTestServer> {
  const handled: Handled[] = [];
  const errors: unknown[] = [];
  const store = memoryStore(o.history === undefined ? {} : { history: o.history });
  const server = reliable({
    store,
    onMessage: (session, event, ...args) => {
      const h = { session, event, args };
      handled.push(h);
      t.onHandled?.(h);
    },
    onError: (e) => void errors.push(e),
  });
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const sockets: WebSocket[] = [];
  const t: ReliableTestServer = {
    server,
    store,
    port: (wss.address() as { port: number }).port,
    handled,
    numbers: () => handled.filter((h) => h.event == 'm').map((h) => h.args[0] as number),
    errors,
    onHandled: undefined,
    connections: 0,
    frames: 0,
    sessions: () => sockets.map((s) => server.session(s)),
    async close() {
      await server.close();
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
  wss.on('connection', (ws) => {
    t.connections++;
    sockets.push(ws);
    // Counted before the helper sees the frame: what came over the wire, duplicates included.
    ws.on('message', (data, binary) => {
      if (!binary && String(data).startsWith('["$m",')) t.frames++;
    });
    server.ws(ws);
  });
  return t;
}

/** What fixtures/reliable-main.js is started with (see there). */
export interface ReliablePageConfig {
  url: string;
  options?: object;
  storageKey?: string;
  counterKey?: string;
  send?: { to: number; batch: number; every: number };
  event?: string;
}

/** What `R.snapshot()` returns in the page. */
export interface PageSnapshot {
  session: string;
  got: number;
  discontinuities: { from: number; to: number }[];
  opens: number;
  sent: number;
  first: number;
  results: { sent: number; queued: number; dropped: number };
  sending: boolean;
  delivered: boolean;
  state: string | null;
}

/** What `R.pending()` returns in the page: the reliable state and the outbox in localStorage, as sequence numbers. */
export interface PendingInStorage {
  session: string | null;
  seq: number | null;
  acked: number | null;
  unacked: number[];
  queued: number[];
  counter: number | null;
}

type RWindow = Window & {
  R: { session: string | undefined; snapshot(): PageSnapshot; pending(): PendingInStorage | null; got: number[] };
};

/** Opens fixtures/reliable.html with `cfg` in a new page of `context`; the page's app starts on load. */
export async function openReliablePage(context: BrowserContext, origin: string, cfg: ReliablePageConfig): Promise<TestPage> {
  const t = await openPage(context);
  const res = await t.page.goto(`${origin}/fixtures/reliable.html?cfg=${encodeURIComponent(JSON.stringify(cfg))}`);
  if (!res?.ok()) throw new Error(`reliable.html: HTTP ${res?.status()}`);
  await t.page.waitForFunction(() => !!(window as unknown as RWindow).R?.session, undefined, { timeout: 5000 });
  return t;
}

export const pageSnapshot = (t: TestPage): Promise<PageSnapshot> => t.page.evaluate(() => (window as unknown as RWindow).R.snapshot());
export const pagePending = (t: TestPage): Promise<PendingInStorage | null> => t.page.evaluate(() => (window as unknown as RWindow).R.pending());
export const pageGot = (t: TestPage): Promise<number[]> => t.page.evaluate(() => (window as unknown as RWindow).R.got.slice());

/**
 * Polls the page's `R.snapshot()` (every 10 ms) until it passes `check`, and returns it. (Polled from Node: a
 * predicate made in the page would need `new Function`, which the page's CSP forbids.)
 */
export async function waitInPage(t: TestPage, check: (s: PageSnapshot) => boolean, timeout: number, what: string): Promise<PageSnapshot> {
  const started = Date.now();
  for (;;) {
    const s = await pageSnapshot(t);
    if (check(s)) return s;
    if (Date.now() - started > timeout) throw new Error(`waitInPage: ${what} not met within ${timeout} ms (page: ${JSON.stringify(s)})`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** 1 … n */
export const upTo = (n: number, from = 1): number[] => Array.from({ length: n - from + 1 }, (_, i) => i + from);

/** Polls `read()` (every 10 ms) until its value passes `check`, and returns it. */
export async function until<T>(read: () => Promise<T>, check: (v: T) => boolean, timeout: number, what: string): Promise<T> {
  const started = Date.now();
  for (;;) {
    const v = await read();
    if (check(v)) return v;
    if (Date.now() - started > timeout) throw new Error(`until: ${what} not met within ${timeout} ms (last: ${JSON.stringify(v)?.slice(0, 400)})`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * What is wrong with `list` as the sequence 1 … n (each once, in order), in a form that fails readably
 * (a `toEqual` on two 1,500-element arrays does not): duplicates, missing numbers, the first position out of order.
 */
export function sequenceProblems(list: readonly number[], n: number): { length: number; duplicates: number[]; missing: number[]; firstWrong: number } {
  const seen = new Set<number>();
  const duplicates: number[] = [];
  for (const x of list) (seen.has(x) ? duplicates : []).push(x), seen.add(x);
  const missing = upTo(n).filter((x) => !seen.has(x));
  return { length: list.length, duplicates: duplicates.slice(0, 20), missing: missing.slice(0, 20), firstWrong: list.findIndex((x, i) => x !== i + 1) };
}

/** What `sequenceProblems` says of a correct sequence 1 … n. */
export const inOrderOnce = (n: number): ReturnType<typeof sequenceProblems> => ({ length: n, duplicates: [], missing: [], firstWrong: -1 });
