// Shared set-up of the `surewire/server` tests: a real `ws` server on 127.0.0.1 speaking the protocol
// through `reliable()`, stores that misbehave on demand, and the cleanup after each test.
import { afterEach } from 'vitest';
import { WebSocketServer } from 'ws';
import { reliable, memoryStore, type ReliableServer, type ReliableServerOptions, type Store } from '../../src/server';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  const errors: unknown[] = [];
  for (const fn of cleanups.splice(0).reverse()) await Promise.resolve().then(fn).catch((e: unknown) => errors.push(e));
  if (errors.length) throw errors[0];
});

/** Runs `fn` after the current test. */
export const cleanup = (fn: () => unknown): void => void cleanups.push(fn);

/** A message handed to `onMessage`: `[session, event, ...args]`. */
export type Handled = [string, string, ...unknown[]];

export interface Served {
  server: ReliableServer;
  url: string;
  port: number;
  /** Every call of `onMessage`, in order. */
  handled: Handled[];
  /** Calls for one session, as `[event, ...args]`. */
  of(session: string): unknown[][];
  errors: unknown[];
  store: Store;
  wss: WebSocketServer;
}

/** `reliable()` behind a `ws` server on an ephemeral port; every `onMessage` call is recorded in `handled`. */
export async function serveWs(o: Partial<ReliableServerOptions> = {}): Promise<Served> {
  const handled: Handled[] = [];
  const errors: unknown[] = [];
  const store = o.store ?? memoryStore();
  const server = reliable({
    onError: (e) => void errors.push(e),
    ...o,
    // Recorded as it is handed over, then passed to the test's own handler.
    onMessage: (s, e, ...a) => (handled.push([s, e, ...a]), o.onMessage?.(s, e, ...a)),
    store,
  });
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...server.wsOptions });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  wss.on('connection', (ws, req) => server.ws(ws, req));
  const port = (wss.address() as { port: number }).port;
  cleanup(async () => {
    await server.close();
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
  return {
    server,
    url: `ws://127.0.0.1:${port}`,
    port,
    handled,
    of: (s) => handled.filter((h) => h[0] == s).map((h) => h.slice(1)),
    errors,
    store,
    wss,
  };
}

/**
 * A memory store whose calls can be made to fail (`fail`), take a random few ms before reaching the memory
 * store (`jitter`, so that calls interleave), or have their replies held back after the memory store answered
 * until a promise settles (`hold`: a reply on its way back, as from a network store).
 */
export function flakyStore(
  base: Store = memoryStore(),
): Store & { fail: Set<keyof Store>; hold: Map<keyof Store, Promise<unknown>>; jitter: number; calls: string[] } {
  const fail = new Set<keyof Store>();
  const calls: string[] = [];
  const s = {
    fail,
    hold: new Map<keyof Store, Promise<unknown>>(),
    jitter: 0,
    calls,
  };
  const wrap =
    <K extends keyof Store>(k: K) =>
    async (...args: unknown[]): Promise<unknown> => {
      calls.push(`${k}:${String(args[0])}`);
      if (s.jitter) await new Promise((r) => setTimeout(r, Math.random() * s.jitter));
      if (fail.has(k)) throw new Error(`store.${k} failed (test)`);
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const r = await (base[k] as any)(...args);
      await s.hold.get(k);
      return r;
    };
  return Object.assign(s, {
    open: wrap('open'),
    release: wrap('release'),
    accept: wrap('accept'),
    append: wrap('append'),
    since: wrap('since'),
    trim: wrap('trim'),
    sessions: wrap('sessions'),
  }) as never;
}

/** A fresh valid session id: 22 characters or more, as the server wants without `authenticate`. */
let sessions = 0;
export const sid = (name = 's'): string => `${name}-${process.pid}-${++sessions}-`.padEnd(30, 'x');
