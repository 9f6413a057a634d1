// Set-up of share.spec.ts: the reliable-delivery server (`reliable()` from src/server, memory store) behind a
// real `ws` or socket.io server, recording every connection with the times that matter for a takeover (accepted,
// `$hello`, closed), and the pages (fixtures/share.html, share-sio.html) of tabs sharing one client.
import { createServer } from 'node:http';
import type { BrowserContext } from 'playwright-core';
import { Server as SioServer, type Socket } from 'socket.io';
import { WebSocketServer } from 'ws';
import { memoryStore, reliable, type ReliableServer } from '../../../src/server';
import { openPage, type TestPage } from './browser';

/** One connection the server accepted, with `Date.now()` at each step. */
export interface Conn {
  accepted: number;
  hello?: number;
  closed?: number;
}

export interface ShareServer {
  /** What the page connects to: `ws://…` or, for socket.io, `http://…`. */
  url: string;
  server: ReliableServer;
  /** Every `onMessage` call: the session, the event and its arguments. */
  handled: { session: string; event: string; args: unknown[] }[];
  conns: Conn[];
  /** The most connections open at once, so far. */
  maxOpen: number;
  /** Requests answered (`add`), failed (`fail`) or left unanswered (`never`), by name. */
  requests: string[];
  /** The session of the connections (one for tabs that share a client). */
  sessions(): Set<string>;
  /** `onError` calls: none is expected. */
  errors: unknown[];
  close(): Promise<void>;
}

/**
 * The reliable server: client messages go to `handled`; requests over ws are answered from `onFrame` (`add(a, b)`
 * with the sum, `fail` with an error, `never` not at all), over socket.io by event handlers with an ack.
 */
export async function startShareServer(o: { sio?: { origin: string } } = {}): Promise<ShareServer> {
  const t: ShareServer = {
    url: '',
    handled: [],
    conns: [],
    maxOpen: 0,
    requests: [],
    errors: [],
    server: reliable({
      store: memoryStore(),
      onMessage: (session, event, ...args) => void t.handled.push({ session, event, args }),
      onError: (e) => void t.errors.push(e),
      onFrame(ws, _frame, { packet }) {
        if (packet?.id == null || packet.event == null) return;
        t.requests.push(packet.event);
        if (packet.event == 'add') ws.send(JSON.stringify({ id: packet.id, result: (packet.args as number[]).reduce((a, b) => a + b, 0) }));
        if (packet.event == 'fail') ws.send(JSON.stringify({ id: packet.id, error: { why: 'nope' } }));
      },
    }),
    sessions: () => new Set(sockets.map((s) => t.server.session(s)).filter((s): s is string => !!s)),
    close: async () => {},
  };
  const sockets: Parameters<ReliableServer["session"]>[0][] = [];
  const track = (socket: Parameters<ReliableServer["session"]>[0]): Conn => {
    const c: Conn = { accepted: Date.now() };
    t.conns.push(c);
    sockets.push(socket);
    t.maxOpen = Math.max(t.maxOpen, t.conns.filter((x) => !x.closed).length);
    return c;
  };
  if (o.sio) {
    const http = createServer();
    const io = new SioServer(http, { cors: { origin: o.sio.origin } });
    io.on('connection', (socket: Socket) => {
      const c = track(socket);
      socket.onAny((event: string) => void (event == '$hello' && (c.hello ??= Date.now())));
      socket.on('disconnect', () => void (c.closed = Date.now()));
      t.server.socketIo(socket);
      socket.on('add', (a: number, b: number, ack: (v: number) => void) => (t.requests.push('add'), ack(a + b)));
      socket.on('never', () => void t.requests.push('never'));
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    t.url = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
    t.close = async () => {
      await t.server.close();
      await new Promise((resolve) => io.close(resolve));
    };
  } else {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve, reject) => (wss.once('listening', resolve), wss.once('error', reject)));
    wss.on('connection', (ws) => {
      const c = track(ws);
      ws.once('message', () => void (c.hello = Date.now()));
      ws.on('close', () => void (c.closed = Date.now()));
      t.server.ws(ws);
    });
    t.url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;
    t.close = async () => {
      await t.server.close();
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    };
  }
  return t;
}

/** What fixtures/share-main.js is started with (see there). */
export interface ShareConfig {
  url: string;
  name: string;
  tag: string;
  options?: object;
  reliable?: boolean;
  sio?: object;
  events?: string[];
}

/** What `S.snapshot()` returns in the page. */
export interface ShareSnapshot {
  role: string | null;
  roles: string[];
  got: Record<string, unknown[]>;
  sent: number;
  results: Record<string, number>;
  sending: boolean;
  conn: { state: string; reason: string; attempt: number; retryAt: number | null; queued: number; rtt: number | null } | null;
}

type SWindow = Window & {
  S: {
    snapshot(): ShareSnapshot;
    sendRange(from: number, to: number, batch: number, every: number): void;
    send(event: string, args: unknown[]): string;
    request(event: string, args: unknown[], timeout?: number): Promise<{ ok?: unknown; error?: Record<string, unknown>; ms: number }>;
    delivered(): Promise<unknown>;
    call(method: string): void;
    close(): void;
  };
};

/** Opens fixtures/share.html (or share-sio.html with `cfg.sio`) in a new page of `context`. */
export async function openTab(context: BrowserContext, origin: string, cfg: ShareConfig): Promise<TestPage> {
  const t = await openPage(context);
  const page = cfg.sio ? 'share-sio.html' : 'share.html';
  const res = await t.page.goto(`${origin}/fixtures/${page}?cfg=${encodeURIComponent(JSON.stringify(cfg))}`);
  if (!res?.ok()) throw new Error(`${page}: HTTP ${res?.status()}`);
  await t.page.waitForFunction(() => !!(window as unknown as SWindow).S, undefined, { timeout: 5000 });
  return t;
}

export const tabSnapshot = (t: TestPage): Promise<ShareSnapshot> => t.page.evaluate(() => (window as unknown as SWindow).S.snapshot());
export const sendRange = (t: TestPage, to: number, batch: number, every: number): Promise<void> =>
  t.page.evaluate(([n, b, e]) => (window as unknown as SWindow).S.sendRange(1, n, b, e), [to, batch, every] as const);
export const tabSend = (t: TestPage, event: string, ...args: unknown[]): Promise<string> =>
  t.page.evaluate(([e, a]) => (window as unknown as SWindow).S.send(e, a), [event, args] as const);
export const tabRequest = (t: TestPage, event: string, args: unknown[], timeout?: number): Promise<{ ok?: unknown; error?: Record<string, unknown>; ms: number }> =>
  t.page.evaluate(([e, a, ms]) => (window as unknown as SWindow).S.request(e, a, ms), [event, args, timeout] as const);
export const tabDelivered = (t: TestPage): Promise<unknown> => t.page.evaluate(() => (window as unknown as SWindow).S.delivered());
export const tabCall = (t: TestPage, method: 'close' | 'connect' | 'reconnect'): Promise<void> =>
  t.page.evaluate((m) => (m == 'close' ? (window as unknown as SWindow).S.close() : (window as unknown as SWindow).S.call(m)), method);

/** Per tag, the numbers of the `m(tag, n)` messages the server app got, in order. */
export function numbersByTag(handled: ShareServer['handled']): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const h of handled) if (h.event == 'm') (out[h.args[0] as string] ??= []).push(h.args[1] as number);
  return out;
}
