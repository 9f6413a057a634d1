// The rig of the fault-injection suite: a real server (`ws` or socket.io, on 127.0.0.1, ephemeral port),
// speaking surewire's reliable protocol (`surewire/server`) or plain events, behind a TCP proxy that the
// scenario cuts, stalls, or whose server side it terminates; and a real surewire client through the proxy.
// Everything is written once and parameterised by the transport.
import { afterEach, beforeEach, expect } from 'vitest';
import type { IncomingMessage } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { io } from 'socket.io-client';
import type { Socket as SioServerSocket } from 'socket.io';
import { Surewire } from '../../src/client';
import type { SurewireOptions } from '../../src/options';
import type { Reliable } from '../../src/reliable';
import { socketIo } from '../../src/transports/socketio';
import { reliable, memoryStore, type ReliableServer, type Store } from '../../src/server';
import { NodeWebSocket } from '../helpers/ws-client';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';
import { startSioServer } from '../helpers/sio-server';
import { activeResources, watchTimers } from '../helpers/leaks';
import { waitFor } from '../helpers/wait';
import type { Rng } from './rng';

export type TransportName = 'ws' | 'socket.io';

/**
 * - `cut`: the proxy destroys the TCP connection, both sides (the client sees it at once);
 * - `stall`: the proxy keeps the TCP connection open but forwards nothing either way: a half-open link that
 *   only the heartbeat (native) or engine.io's ping (socket.io) finds; everything written meanwhile is lost;
 * - `stall-cut`: a stall, then a cut a few ms later: frames handed to the socket during the stall are lost
 *   although the client saw no error when it sent them (the harshest case for a sender that trusts `send`);
 * - `terminate`: the server kills the connection (`ws.terminate()` / socket.io's `socket.conn.close()`).
 */
export type FaultKind = 'cut' | 'stall' | 'stall-cut' | 'terminate';
export const FAULT_KINDS: readonly FaultKind[] = ['cut', 'stall', 'stall-cut', 'terminate'];

// Short gaps so that 20 faults fit in a few seconds: reconnect after 5–50 ms (jitter on), a retry counter
// that resets quickly, and a dead link found within ~200 ms.
const RECONNECT = { initialDelay: 10, maxDelay: 50, jitter: 0.5, stableAfter: 100 } as const;
const HEARTBEAT = { interval: 40, timeout: 120 } as const;
const SIO_PING = { pingInterval: 50, pingTimeout: 100 } as const;

// ---------------------------------------------------------------------------------------------- cleanup

const cleanups: (() => unknown)[] = [];
/** Runs `fn` after the current test (last registered, first run). */
export const cleanup = (fn: () => unknown): void => void cleanups.push(fn);

let timers: ReturnType<typeof watchTimers> | undefined;
beforeEach(() => void (timers = watchTimers()));

afterEach(async () => {
  const errors: unknown[] = [];
  for (const fn of cleanups.splice(0).reverse()) await Promise.resolve().then(fn).catch((e: unknown) => errors.push(e));
  const watched = timers!;
  timers = undefined;
  try {
    if (errors.length) throw errors[0];
    // Nothing of the test may keep the process alive: every server, proxy and socket is gone, and every timer
    // the test made (the native transport gives a closing socket up to 1 s before it terminates it: hence a wait).
    const tcp = (): number => activeResources('TCPSocketWrap') + activeResources('TCPServerWrap');
    await waitFor(() => tcp() == 0 && watched.live().length == 0, 5000, 'every TCP socket, server and timer gone').catch((e: Error) => {
      throw new Error(`${e.message}: ${tcp()} TCP handles; timers left, made at:\n${watched.live().join('\n--\n')}`);
    });
  } finally {
    watched.stop();
  }
});

// ---------------------------------------------------------------------------------------------- servers

/** A server behind the proxy; `received` is what the app got from the client, `terminate` kills every connection server-side. */
export interface Rig {
  transport: TransportName;
  proxy: TcpProxy;
  /** The client's URL (through the proxy). */
  url: string;
  /** Server-side kill of every live connection. */
  terminate(): void;
  /** Client messages the server app received, in order (the number each carried). */
  received: number[];
  /** The reliable server, in reliable rigs. */
  server: ReliableServer | undefined;
}

interface RigOptions {
  transport: TransportName;
  /**
   * `surewire/server` with a memory store of this history (or the given store), or a plain server when false.
   * `maxPending` is raised out of the way unless given (see below).
   */
  reliable: false | { history: number; store?: Store; maxPending?: number };
}

/**
 * Starts the server and the proxy; everything is closed after the test. In a plain rig the server answers
 * the heartbeat (ws) and records `['m', n]` events; `fin` events are counted in `fins`.
 */
export async function startRig(o: RigOptions): Promise<Rig & { fins: number }> {
  const received: number[] = [];
  const errors: unknown[] = [];
  const server = o.reliable
    ? reliable({
        store: o.reliable.store ?? memoryStore({ history: o.reliable.history }),
        // The server's default flood guard (1000 messages waiting on one connection) stays on: the client's
        // window (900 unacknowledged on the wire) keeps even a large backlog under it (regressions.test.ts).
        ...(o.reliable.maxPending ? { maxPending: o.reliable.maxPending } : {}),
        onMessage: (_session, event, n) => void (event == 'm' && received.push(n as number)),
        onError: (e) => void errors.push(e),
      })
    : undefined;
  cleanup(() => expect(errors, 'errors of surewire/server').toEqual([]));
  const rig = { received, server, fins: 0 } as Rig & { fins: number };
  let port: number;
  if (o.transport == 'ws') {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...server?.wsOptions });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
      if (server) return server.ws(ws, req);
      ws.on('error', () => {});
      ws.on('message', (data) => {
        const text = String(data);
        if (text == 'ping') return ws.send('pong');
        const [event, n] = JSON.parse(text) as [string, number];
        if (event == 'm') received.push(n);
        else if (event == 'fin') rig.fins++;
      });
    });
    port = (wss.address() as { port: number }).port;
    cleanup(async () => {
      await server?.close();
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    });
    rig.terminate = () => {
      for (const c of wss.clients) c.terminate();
    };
  } else {
    const sio = await startSioServer({
      io: SIO_PING,
      onConnection: (socket: SioServerSocket) => {
        if (server) return server.socketIo(socket);
        socket.on('m', (n: number) => void received.push(n));
        socket.on('fin', () => void rig.fins++);
      },
    });
    port = sio.port;
    cleanup(async () => {
      await server?.close();
      await sio.close();
    });
    rig.terminate = () => {
      for (const s of sio.io!.sockets.sockets.values()) s.conn.close();
    };
  }
  const proxy = await startTcpProxy({ port });
  cleanup(() => proxy.close());
  rig.transport = o.transport;
  rig.proxy = proxy;
  rig.url = o.transport == 'ws' ? proxy.url() : proxy.url('/', 'http');
  return rig;
}

// ---------------------------------------------------------------------------------------------- client

/** What happened to a client: connections opened and closed, drops, discontinuities. */
export interface ClientLog {
  opens: number;
  closes: number;
  /** Close events by `code reason`. */
  reasons: Map<string, number>;
  drops: number;
  gaps: { from: number; to: number }[];
}

/** A surewire client through the rig's proxy, with short reconnects and a fast liveness check. Closed after the test. */
export function startClient(rig: Rig, delivery: Reliable | undefined, extra: SurewireOptions = {}): { client: Surewire; log: ClientLog } {
  const options: SurewireOptions = {
    reconnect: RECONNECT,
    connectTimeout: 2000,
    // Large enough never to overflow: a message the outbox drops is outside the guarantee (and would be reported).
    queue: { max: 100_000 },
    ...(rig.transport == 'ws'
      ? { WebSocket: NodeWebSocket, heartbeat: HEARTBEAT }
      : { transport: socketIo(io, { transports: ['websocket'] }) }),
    ...(delivery ? { reliable: delivery } : {}),
    ...extra,
  };
  const client = new Surewire(rig.url, options);
  cleanup(() => client.close());
  const log: ClientLog = { opens: 0, closes: 0, reasons: new Map(), drops: 0, gaps: [] };
  client.connection.on('open', () => void log.opens++);
  client.connection.on('close', ({ code, reason }) => {
    log.closes++;
    const k = `${code} ${reason}`.trim();
    log.reasons.set(k, (log.reasons.get(k) ?? 0) + 1);
  });
  client.connection.on('drop', () => void log.drops++);
  // Heartbeat timeouts and socket errors are expected here; they are reported as `error` events.
  client.connection.on('error', () => {});
  delivery?.on('discontinuity', (d) => void log.gaps.push(d));
  return { client, log };
}

// ---------------------------------------------------------------------------------------------- faults

/** The fault plan of a scenario: at which message each fault falls, and its kind. Drawn from the seeded stream. */
export interface Plan {
  /** Message numbers (1-based, increasing) after which a fault is due. */
  at: number[];
  kinds: FaultKind[];
  /** For each `stall-cut`: the ms between the stall and the cut. */
  stallFor: number[];
}

/**
 * `faults` fault moments spread over `n` messages (one in each of `faults` equal slices, at a random place
 * inside it, never in the first or last 2%), and kinds dealt evenly from FAULT_KINDS in a shuffled order.
 */
export function plan(r: Rng, n: number, faults: number, kinds: readonly FaultKind[] = FAULT_KINDS): Plan {
  const lo = Math.ceil(n * 0.02);
  const span = (n - 2 * lo) / faults;
  const at = Array.from({ length: faults }, (_, i) => lo + Math.floor(span * i + r.between(0.05, 0.95) * span));
  const dealt = r.shuffle(Array.from({ length: faults }, (_, i) => kinds[i % kinds.length]!));
  return { at, kinds: dealt, stallFor: dealt.map(() => r.int(5, 40)) };
}

/**
 * Applies the plan's faults as the stream passes their moments. A fault falls only on an open connection
 * (one the client uses): one due while the client is reconnecting waits for the next open, and falls on the
 * first message after it, when the outbox has just been flushed into the new socket (frames in flight).
 */
export class Chaos {
  readonly applied: FaultKind[] = [];
  /** The client's `opens` when the last fault fell: the run is over once the client opened again after it. */
  opensAtLast = 0;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  constructor(
    readonly rig: Rig,
    readonly p: Plan,
    readonly client: Surewire,
    readonly log: ClientLog,
  ) {
    cleanup(() => this.#timers.forEach(clearTimeout));
  }

  get done(): boolean {
    return this.applied.length == this.p.at.length;
  }

  /**
   * Whether the client is on a connection the last fault has not hit: open, and opened again since then (a
   * stalled connection still looks open to the client until its liveness check gives up on it).
   */
  get ready(): boolean {
    return this.client.connection.state == 'open' && (this.applied.length == 0 || this.log.opens > this.opensAtLast);
  }

  /** Called after message `sent` went out: applies the next fault if it is due and the client is ready. */
  tick(sent: number): void {
    const i = this.applied.length;
    if (i < this.p.at.length && sent >= this.p.at[i]! && this.ready) this.#apply(i);
  }

  /** After the stream: applies the faults still due, each once the client is open again, then waits for the last reopen. */
  async finish(timeout = 10_000): Promise<void> {
    while (!this.done) {
      await waitFor(() => this.ready, timeout, `an open connection for fault #${this.applied.length + 1}`);
      this.#apply(this.applied.length);
    }
    await waitFor(() => this.ready, timeout, 'the open after the last fault');
  }

  #apply(i: number): void {
    const kind = this.p.kinds[i]!;
    const { proxy } = this.rig;
    this.applied.push(kind);
    this.opensAtLast = this.log.opens;
    if (kind == 'cut') proxy.cut();
    else if (kind == 'stall') proxy.stall();
    else if (kind == 'terminate') this.rig.terminate();
    else {
      proxy.stall();
      const t = setTimeout(() => {
        this.#timers.delete(t);
        proxy.cut();
      }, this.p.stallFor[i]!);
      this.#timers.add(t);
    }
  }

  summary(): string {
    const count = (k: FaultKind): number => this.applied.filter((a) => a == k).length;
    return FAULT_KINDS.map((k) => `${k} ×${count(k)}`).join(', ');
  }
}

// ---------------------------------------------------------------------------------------------- streams

/** Resolves after one macrotask turn of at least `ms` (the sender's pacing: the only sleep of the suite). */
export const tick = (ms = 1): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends messages 1..n steadily, `perTick` each timer turn (about a millisecond), and lets the chaos
 * apply its faults between two messages.
 */
export async function stream(n: number, perTick: number, send: (k: number) => void, chaos: Chaos): Promise<void> {
  for (let k = 1; k <= n; ) {
    for (const end = Math.min(n, k + perTick - 1); k <= end; k++) {
      send(k);
      chaos.tick(k);
    }
    await tick();
  }
}

/** Counts of what a receiver got against 1..n. */
export interface Tally {
  total: number;
  unique: number;
  lost: number;
  duplicated: number;
  /** Places where a number is not above the one before it. */
  outOfOrder: number;
}

export function tally(got: readonly number[], n: number): Tally {
  const seen = new Set<number>();
  let duplicated = 0;
  let outOfOrder = 0;
  got.forEach((x, i) => {
    if (seen.has(x)) duplicated++;
    seen.add(x);
    if (i > 0 && !(x > got[i - 1]!)) outOfOrder++;
  });
  let lost = 0;
  for (let k = 1; k <= n; k++) if (!seen.has(k)) lost++;
  return { total: got.length, unique: seen.size, lost, duplicated, outOfOrder };
}

/** `promise`, or a rejection naming `what` after `ms`. Leaves no timer behind. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(t);
  }
}
