// `surewire/share`: one connection for every tab of an origin. The core only knows the `share` hook; this
// entry imports the core's public API from `surewire` (never a copy: `instanceof ClosedError` must hold).
import {
  ClosedError,
  ConnectionError,
  DecodeError,
  OptionError,
  OverflowError,
  RemoteError,
  SurewireError,
  TimeoutError,
  type Codec,
  type QueueStorage,
  type Packet,
  type Provider,
  type Reliable,
  type Share,
  type Surewire,
  type SurewireOptions,
  type Transport,
} from './index';
import { connection, type ConnectionSnapshot } from './connection';
import { emitter } from './emitter';

/** Whether this tab holds the shared connection, uses the one another tab holds, or connects on its own. */
export type TabRole = 'leader' | 'follower' | 'alone';

/** Options of `shareTabs()`. */
export interface ShareOptions {
  /**
   * Called when this tab starts leading or following (a tab follows until the lock is granted to it), and
   * with `'alone'` when the browser lacks Web Locks or BroadcastChannel, so the tab connects on its own.
   * @default none
   */
  onRole?: (role: TabRole) => void;
}

/** The object every tab gets: the client's API, with the per-call timeout of `timeout(ms)`. */
type Facade = Surewire & { timeout(ms: number): Pick<Surewire, 'request'> };
type Client = Surewire & { timeout?(ms: number): Pick<Surewire, 'request'> };
type Ctor = new (u: Provider<string | URL>, o: SurewireOptions) => Client;
/**
 * A message between tabs: its kind, the tab that sent it, the tab it is for (none: every tab), a call's
 * number, and what it carries. Kinds: `c` a call of the client's API, to the leader; `R` the reply to a
 * call; `k` the calls the leader took (per tab, the last number); `L` the leader's snapshot and stored
 * values, all of them and a last `1` when it announces itself; `v` a lifecycle event; `e` a server event;
 * `J` a tab joined (the leader announces itself again).
 */
type Msg = [kind: string, from?: number | undefined, to?: number | false | undefined, n?: number | undefined, x?: unknown, y?: unknown, z?: unknown];
type Pending = [(v: never) => void, (e: unknown) => void, ReturnType<typeof setTimeout> | undefined];

// An error crosses tabs as its own fields: structured clone keeps neither its class nor its code. The
// classes come from `surewire` itself, so the app's `instanceof ClosedError` holds in every tab.
const ser = (e: unknown): object => ({ ...(e as SurewireError), message: (e as Error).message, cause: undefined });
// Made by the constructor of the class its name gives (RemoteError and DecodeError take other arguments: what
// they set from them is overwritten by the fields); an error of another name is a SurewireError.
const revive = (s: SurewireError): SurewireError =>
  Object.assign(new (({ ClosedError, ConnectionError, DecodeError, OverflowError, RemoteError } as Record<string, typeof SurewireError>)[s.name] ?? SurewireError)(s.code, ''), s);

/**
 * Shares one client between the tabs of an origin: pass it as the `share` option, with the same `name` in
 * every tab. One tab leads (a Web Lock named after `name` elects it) and holds the only socket; the others
 * reach it over a BroadcastChannel. Each tab gets an object with the client's API. Where Web Locks or
 * BroadcastChannel are missing, each tab connects on its own. See docs/tabs.md.
 *
 * @param name tabs of one origin that give the same name share one connection (the Web Lock and the
 *   BroadcastChannel are named `surewire:<name>`)
 * @example
 * import { shareTabs } from 'surewire/share';
 * const chat = new Surewire<ServerEvents, ClientEvents>(url, { share: shareTabs('chat') });
 */
export function shareTabs(name: string, o: ShareOptions = {}): Share {
  return {
    attach(url, options, Client) {
      const locks = globalThis.navigator?.locks;
      if (locks && globalThis.BroadcastChannel) return share('surewire:' + name, locks, url, options, Client as Ctor, o);
      o.onRole?.('alone');
      return new Client(url, options);
    },
  };
}

function share(lock: string, locks: LockManager, url: Provider<string | URL>, options: SurewireOptions, Client: Ctor, o: ShareOptions): Facade {
  const me = Math.random();
  const bc = new BroadcastChannel(lock);
  const { connection: conn, set, emit } = connection();
  const { emit: tell, ...ev } = emitter();
  const { queue, reliable: r } = options;
  const storage = queue ? queue.storage : undefined;
  const delivered = r?.delivered;
  // What the leader's client keeps in `queue.storage` (its outbox, the reliable state), as this tab last heard.
  const kept: Record<string, string> = Object.create(null);
  // This tab's calls that no leader took yet, in order; the promises of its requests.
  const pend = new Map<number, Msg>();
  const reqs = new Map<number, Pending>();
  // While this tab leads: which tab sent each frame in its outbox, so that a drop reaches that tab.
  const owners = new Map<unknown, number>();
  let n = 0;
  let closed = false;
  let leader: number | undefined;
  let hub: Client | undefined;
  let release: (() => void) | undefined;
  let abort: AbortController | undefined;
  // The frame the leader's client made last, and the tab it made it for.
  let made: unknown;
  let cur: number | undefined;
  let acks: Record<string, number> | undefined;

  const post = (m: Msg): void => bc.postMessage(m);
  // From the leader to every tab, this one included. A tab that closed has closed its channel: the replies its
  // client still gives (rejections, as it closes) stay here, and the next leader tells the others.
  const out = (m: Msg): void => (closed || post(m), hear(m));
  // Settles a request: rejects it with `e` if given, else resolves it with `v`. A reply to a request that timed
  // out here finds nothing to settle.
  const settle = (k: number, e?: unknown, v?: unknown): void => {
    const q = reqs.get(k);
    if (q) reqs.delete(k), clearTimeout(q[2]), e ? q[1](e) : q[0](v as never);
  };
  const dropped = (a: unknown[]): void => void emit('drop', { message: { event: a[0] as string, args: a.slice(1) }, reason: 'closed' } as never);

  // A call to the leader: made at once when this tab leads, otherwise kept until a leader took it.
  const route = (m: Msg): unknown => {
    if (leader == me) return serve(m);
    m[2] = leader;
    try {
      post(m);
    } catch (x) {
      // The browser's DataCloneError says which argument cannot be cloned.
      throw new SurewireError('encode', String(x), x);
    }
    pend.set(m[3]!, m);
    return 'queued';
  };
  // A call of the client's API: `send`, `request` (with its timeout), `connect`, `reconnect`, `delivered`.
  const call = (e: string, a: unknown[] = [], ms = 0, k = ++n): unknown => route(['c', me, , k, e, a, ms]);

  // The leader makes a tab's call with its client.
  const serve = ([, f, , k, e, a, ms]: Msg): unknown => {
    // Taken: acknowledged after the microtasks that store what the call changed (queued by the call, so after
    // this one, which queues the acknowledgement behind them), so that a tab forgets a call only once the state
    // that holds it has gone to every tab. The message carries the calls taken so far; its last field, unused,
    // unsets `acks` for the next ones (after the field before it has read them).
    (acks ??= (queueMicrotask(() => queueMicrotask(() => out(['k', me, , , acks, (acks = undefined)]))), {}))[f!] = k!;
    // A drop of the frame this call makes goes to the tab that made the call.
    cur = f;
    // A method of the client, `request` with its timeout, or `delivered` of the app's reliable().
    const x = (ms ? hub!.timeout(ms as number) : hub) as unknown as Record<string, () => unknown>;
    const res = (x[e as string] ?? delivered!)(...(a as []));
    if (res == 'queued') owners.set(made, f!);
    (res as Promise<unknown> | undefined)?.then?.(
      (v) => out(['R', me, f, k, v]),
      (x) => out(['R', me, f, k, , ser(x)]),
    );
    return res;
  };

  const hear = (m: Msg): void => {
    const [t, l, to, k, x, y, z] = m;
    if (hub) {
      if (t == 'J') announce();
      if (t == 'c' && to == me)
        try {
          serve(m);
        } catch (e) {
          // The client threw (a message it cannot encode): the `error` event of the tab that sent it tells.
          out(['v', me, l, , 'error', ser(e)]);
        }
    }
    // A closed tab hears nothing more: its channel is closed and its leader unset.
    if (t == 'L' && z && l != leader) adopt(l!);
    if (l != leader || (to && to != me)) return;
    if (t == 'L') {
      Object.assign(kept, y);
      if (x) set(x as ConnectionSnapshot);
    }
    if (t == 'e') tell(x as string, ...(y as []));
    if (t == 'v') emit(x as 'open', (x == 'error' ? revive(y as SurewireError) : y) as never);
    if (t == 'k') for (const [i] of pend) if (i <= (x as Record<string, number>)[me]!) pend.delete(i);
    if (t == 'R') settle(k!, y && revive(y as SurewireError), x);
  };

  // A new leader: the requests the old one took are lost with it; what it did not take goes to the new one.
  const adopt = (l: number): void => {
    leader = l;
    o.onRole?.(l == me ? 'leader' : 'follower');
    for (const [k] of reqs) if (!pend.has(k)) settle(k, new ClosedError('closed', 'the leading tab left before a reply'));
    for (const [k, m] of [...pend]) pend.delete(k), route(m);
  };
  const announce = (): void => out(['L', me, , , hub!.connection.getSnapshot(), kept, 1]);

  // The leader's client stores through this: every tab keeps a copy, for the next leader.
  const mirror: QueueStorage = {
    getItem: (k) => kept[k] ?? storage?.getItem(k) ?? null,
    setItem(k, v) {
      out(['L', me, , , 0, { [k]: v }]);
      storage?.setItem(k, v);
    },
  };
  // The leader's client gets this as its `reliable` option: it wraps the codec outside the app's reliable()
  // (if any), so it sees each frame made, and each event once, after duplicates were removed.
  const tap = {
    wrap(t: Transport, c: Codec<unknown>, q: never): Transport {
      // `behind`: this client starts from a copy of the state, which may lag what the server has (see reliable()).
      const w = r ? r.wrap({ ...t, behind: 1 } as Transport, c, q) : t;
      const k: Codec<unknown> = w.codec ?? c;
      return {
        ...w,
        codec: {
          encode: (p) => (made = k.encode(p)),
          decode(f) {
            const p: Packet = k.decode(f);
            if (p.event != null) {
              // socket.io's ack function stays with the leading tab. Arguments that are not an array, or that
              // cannot be cloned, throw here: the client reports a frame it could not decode.
              post(['e', me, , , p.event, p.args.filter((x) => typeof x != 'function')]);
              tell(p.event, ...p.args);
            }
            return p;
          },
        },
      };
    },
  } as Reliable;

  const lead = (): void => {
    if (closed) return release!();
    const h = (hub = new Client(url, {
      ...options,
      queue: queue !== false && { ...queue, storage: mirror },
      reliable: tap,
      autoConnect: conn.state != 'idle' || (options.autoConnect as boolean),
    }));
    const c = h.connection;
    c.subscribe((s) => {
      if (!s.queued) owners.clear();
      if (h == hub) out(['L', me, , , s]);
    });
    for (const v of ['open', 'close', 'reconnecting', 'heartbeat', 'error', 'drop'] as const)
      c.on(v, ((p: { frame?: unknown }) => {
        const f = p.frame;
        const to = v == 'drop' && (owners.get(f) ?? (f === made && cur));
        owners.delete(f);
        if (h == hub) out(['v', me, to, , v, v == 'error' ? ser(p) : p]);
      }) as never);
    announce();
  };
  // Stops leading: every tab keeps the state, for the next leader the lock elects.
  const resign = (code = 1001, reason?: string): void => {
    const h = hub;
    hub = leader = undefined;
    h?.close(code, reason);
    release?.();
  };
  const want = (): void => {
    abort?.abort();
    const a = (abort = new AbortController());
    locks.request(lock, a, () => new Promise<void>((res) => ((release = res), lead()))).catch((e) => {
      // Aborted: the tab froze or closed before its turn. Otherwise the leader's client failed to start.
      if (!a.signal.aborted) throw e;
    });
  };

  // A call that resolves with the leader's answer; its timeout runs in this tab.
  const ask = (e: string, a: unknown[], ms = 0): Promise<unknown> =>
    new Promise((res, rej) => {
      if (closed) return rej(new ClosedError('closed', 'the client was closed'));
      const k = ++n;
      reqs.set(k, [res, rej, ms ? setTimeout(() => settle(k, new TimeoutError('timeout', `no reply to "${a[0]}" within ${ms} ms`)), ms) : undefined]);
      // Arguments that cannot cross tabs throw here, which rejects; the timer then forgets the request.
      call(e, a, ms, k);
    });
  const request =
    (ms: number) =>
    (...a: unknown[]): Promise<unknown> =>
      ask('request', a, ms);
  // The app's reliable(): `delivered()` asks the leader, whose client holds every tab's messages.
  if (r) r.delivered = () => ask('delivered', []) as Promise<void>;

  bc.onmessage = (m) => hear(m.data as Msg);
  // Page Lifecycle: a frozen tab can neither lead nor be elected: it lets the lock go, and asks again on resume.
  // A tab that goes (pagehide) hands over at once too: the browser drops what it posts in its last moments, and
  // nothing may reach the socket after the last state every tab has.
  const life = new AbortController();
  const d = globalThis.document;
  const freeze = (): void => (hub ? resign() : abort?.abort());
  d?.addEventListener('freeze', freeze, life);
  d?.addEventListener('resume', want, life);
  d && addEventListener('pagehide', freeze, life);
  want();
  post(['J']);

  return {
    connection: conn,
    ...ev,
    send: (...a: unknown[]) => (closed ? (dropped(a), 'dropped') : call('send', a)),
    request: request(options.requestTimeout ?? 10000), // the client's default
    timeout(ms: number) {
      if (!(ms >= 1 && ms < 2 ** 31)) throw new OptionError('timeout', ms, '1 to 2^31-1 ms');
      return { request: request(ms) };
    },
    connect: () => void (closed || call('connect')),
    reconnect: () => void (closed || call('reconnect')),
    close(code = 1000, reason = '') {
      if (closed) return;
      const was = conn.state;
      // What went to a leader still goes out; what waited for one is dropped.
      for (const [, m] of pend) if (m[4] == 'send' && m[2] == null) dropped(m[5] as []);
      for (const [k] of reqs) settle(k, new ClosedError('closed', 'the client was closed'));
      closed = true;
      set({ state: 'closed', reason: 'close()', retryAt: null });
      if (was != 'idle' && was != 'closed') emit('close', { code, reason, willReconnect: false });
      abort?.abort();
      life.abort();
      // The tabs waiting for the lock take over; when none is left, the socket closes here for good.
      resign(code, reason);
      bc.close();
    },
  } as unknown as Facade;
}
