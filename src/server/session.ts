// The protocol engine behind `reliable()`, independent of the socket library: an adapter (ws.ts,
// socketio.ts) turns a socket into a `Link`, feeds the `$` frames to `receive`, and calls `detach` when the
// socket is gone. See PROTOCOL.md.
import { CloseCode } from '../close-codes';
import { OptionError, SurewireError } from '../errors';
import { Bucket, Buckets } from './limits';
import type { Store, StoreNews } from './store';

/** What the app may know of a connection's peer, for `authenticate` and the rate limits. */
export interface Peer {
  /** ws: the HTTP upgrade request the app passed to `server.ws(socket, request)`. */
  request?: unknown;
  /** socket.io: `socket.handshake`. */
  handshake?: unknown;
  /** The remote address, when known: the key of the limits without `authenticate`. */
  address?: string | undefined;
}

/** A socket as the engine sees it. */
export interface Link {
  send(event: string, args: unknown[]): void;
  /** Bytes written to the socket and not yet taken by the network (a client that does not read lets it grow). */
  buffered(): number;
  close(code: number, reason: string): void;
  readonly peer: Peer;
}

/** Session ids the app names (`send`), and the client's with `authenticate`: 1–64 characters of `[A-Za-z0-9_-]`. */
export const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** A client's session id without `authenticate`, where it is a bearer secret: at least 128 random bits (22 base64url characters). */
export const BEARER_ID = /^[A-Za-z0-9_-]{22,64}$/;
/**
 * How far a client's sequence number may run ahead of the last one the server stored for the session
 * (PROTOCOL.md): numbers may skip (the outbox dropped messages unsent), but no further than this.
 */
export const MAX_SEQ_JUMP = 1000;

/**
 * With a pipelined store, how many of a session's waiting messages may have their `accept` out ahead of their
 * turn. It bounds what a process killed mid-burst leaves claimed and not handed over (with a store that
 * claims: `Store.handled`), which its client resends once the claim ends.
 */
export const PIPELINE = 32;

/**
 * How many handled messages make the server acknowledge at once rather than after `ackDelay`: well under the
 * client's window (`reliable({ window })`, 3600 by default), so that a burst never stalls on a full window
 * while the acknowledgement waits out its delay.
 */
export const ACK_EVERY = 128;

/** `fn()` as a promise: its value, or its throw as a rejection (at once, not a microtask later). */
const promised = <T>(fn: () => T | PromiseLike<T>): Promise<T> => {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e);
  }
};

/** The `stored` of a message whose accept failed at once (its `state` says so). */
const DONE: PromiseLike<unknown> = Promise.resolve();

const isThenable = (v: unknown): v is PromiseLike<unknown> => typeof (v as PromiseLike<unknown> | undefined)?.then == 'function';

const isCount = (n: unknown, min: number): n is number => Number.isSafeInteger(n) && (n as number) >= min;

/** What a thrown request handler error tells the client: its message, never its stack. */
const errorData = (e: unknown): unknown => (e instanceof Error ? e.message : (e ?? null));

const V = CloseCode.violation;
const T = CloseCode.tryAgain;
/** The reason of a close for a frame that comes before `$hello`: most often a client without `reliable()`. */
export const HELLO_FIRST = 'expected $hello first: add reliable() on the client';
const FOREIGN = 'session belongs to another principal';

export interface EngineOptions {
  store: Store;
  onMessage: (session: string, event: string, ...args: unknown[]) => unknown;
  onRequest: ((session: string, event: string, ...args: unknown[]) => unknown) | undefined;
  onError: (error: unknown, session: string | undefined) => void;
  /** The principal of a `$hello` (a non-empty string), or anything else to refuse it; may throw or be async. */
  authenticate: ((session: string, peer: Peer) => unknown) | undefined;
  ackDelay: number;
  maxPending: number;
  maxBuffered: number;
  helloTimeout: number | false;
  maxSessionsPerPrincipal: number;
  newSessionsPerSecond: number;
  takeoversPerMinute: number;
}

/** One connection (one socket), from its first frame to its close. */
export class Conn {
  /** Set once `$hello` is authenticated (the session may still refuse it: see `live`). */
  session: Session | undefined;
  /** The principal `authenticate` named ('' without it). */
  principal = '';
  /** The key of the limits: the principal, or without `authenticate` the remote address. */
  key = '';
  /** Counted in the live sessions of `key`. */
  counted = false;
  /** `$hello` arrived. */
  said = false;
  /** The offset the client sent in `$hello`. */
  hello = 0;
  /** `$hello` said the client had this session before (its third argument). */
  resuming = false;
  /** The `$welcome` (and replay) went out: the session is this connection's; live messages and acks may follow. */
  live = false;
  closed = false;
  /** Frames that came after `$hello` and before the `$welcome`, to handle once it is out. */
  early: (() => void)[] = [];
  /** Client messages received on this connection and not yet stored and handled. */
  pending = 0;
  /** Requests received on this connection and not answered yet. */
  requests = 0;
  /** The highest offset sent on this connection (the `$welcome`'s included). */
  high = 0;
  /** The last sequence number acknowledged to this connection (the `$welcome`'s included). */
  acked = 0;
  /** A duplicate arrived: acknowledge again even if nothing new was stored. */
  again = false;
  ackTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * A message of this connection was not handed over (its store call failed, or answered past the claim's
   * `lease`): none after it is either, although stored, so that order holds and the client resends them all.
   */
  dropped = false;
  /** A catch-up from the store (news of a message appended by another process) is queued. */
  pulling = false;
  helloTimer: ReturnType<typeof setTimeout> | undefined;
  constructor(readonly link: Link) {}
}

/**
 * A client message in its session's inbox. `stored`: settles once the store has answered its `accept`, when
 * that went out ahead of its turn or through `Store.acceptBatched` (a pipelined store); `state` and `value`:
 * that answer once it has come (1 and the value, or 2 and the error), so that the inbox goes on through a
 * burst whose answers came together without a promise per message; `deadline`: with a store that claims
 * (`Store.lease`), until when (`performance.now()`) it may be handed over.
 */
interface Msg {
  conn: Conn;
  hello?: false;
  n: number;
  event: string;
  args: unknown[];
  stored: PromiseLike<unknown> | undefined;
  state: 0 | 1 | 2;
  value: unknown;
  deadline: number | undefined;
}

type Task = { conn: Conn; hello: true } | Msg;

/** The `Store.acceptBatched` calls of a session answered by one promise, in the order of the calls. */
interface Claims {
  promise: PromiseLike<readonly (void | boolean | Error)[]>;
  tasks: Msg[];
}

/** A `server.send` through `Store.appendBatched`, until its message is delivered (or not). */
interface Sent {
  event: string;
  args: unknown[];
  resolve: (offset: number) => void;
  reject: (e: unknown) => void;
}

/**
 * Consecutive sends of a session answered by one `Store.appendBatched` promise, delivered together in their turn
 * on the session's outgoing queue. `start`: the index of the first of them in the promise's answer.
 */
interface Sends {
  promise: PromiseLike<readonly number[]>;
  start: number;
  items: Sent[];
}

/** The in-process state of a session: its serial queues, and a cache of the store's sequence number. */
export interface Session {
  id: string;
  /** The principal the store bound it to, once an `open` here said so. */
  principal: string | undefined;
  /** The connection the session is attached to (the last `$hello`). */
  conn: Conn | undefined;
  /** The store's last sequence number, as read at the last `$hello` and kept up to date since. */
  seq: number | null;
  /** The last sequence number whose handler has settled: what `$ack` says. */
  handled: number | null;
  /** Incoming work, processed one at a time: `$hello`s and client messages. */
  inbox: Task[];
  running: boolean;
  /** Outgoing work, one at a time: appends and deliveries, the `$welcome` with its replay, trims. */
  out: Promise<unknown>;
  outCount: number;
  trimTo: number;
  trimQueued: boolean;
  /** News of a message appended elsewhere came while no connection here was welcomed: pull at the next `$welcome`. */
  behind: boolean;
  /** The highest sequence number whose `accept` went out (a pipelined store): the duplicate check of the next. */
  issued: number | null;
  /** Tasks at the head of the inbox that `#prefetch` has looked at already. */
  ahead: number;
  /** Stops the store's news of this session (`Store.watch`), while a connection of this process holds it. */
  unwatch: (() => void) | undefined;
  /** Whether the store holds the session for this process (from a matching `open` to `release`). */
  held: boolean;
  /** The highest sequence number told to the client (`$welcome`, `$ack`): `release` is settled when it covers `seq`. */
  told: number;
  /** Takeovers allowed (by its own principal), made on the first. */
  takeovers: Bucket | undefined;
  /** The last promise `Store.handled` answered: a store that batches commits answers many calls with one. */
  committing: PromiseLike<unknown> | undefined;
  /** The last batch of `Store.acceptBatched` calls. */
  claims: Claims | undefined;
  /** The last promise `Store.appendBatched` answered, and how many calls it answers so far. */
  appended: { promise: PromiseLike<readonly number[]>; count: number } | undefined;
  /** The sends that join the last work on the outgoing queue, while nothing else was queued after them. */
  sends: Sends | undefined;
}

export class Engine {
  readonly #o: EngineOptions;
  readonly #sessions = new Map<string, Session>();
  readonly #conns = new Set<Conn>();
  readonly #busy = new Set<Promise<unknown>>();
  /** Live sessions per limit key (principal or address). */
  readonly #live = new Map<string, number>();
  readonly #newSessions: Buckets;
  #closed = false;
  /**
   * With a pipelined store, its accepts and appends by batch: `Store.acceptBatched` / `appendBatched`, or else
   * `accept` / `append` with each call a batch of one. One path for every pipelined store.
   */
  readonly #acceptBatched: (id: string, seq: number) => PromiseLike<readonly (void | boolean | Error)[]>;
  readonly #appendBatched: (id: string, event: string, args: unknown[]) => PromiseLike<readonly number[]>;

  constructor(o: EngineOptions) {
    this.#o = o;
    const { store } = o;
    this.#acceptBatched = store.acceptBatched?.bind(store) ?? ((id, seq) => promised(() => store.accept(id, seq)).then((v) => [v]));
    this.#appendBatched = store.appendBatched?.bind(store) ?? ((id, event, args) => promised(() => store.append(id, event, args)).then((v) => [v]));
    // Bursts of up to 10 seconds' worth.
    this.#newSessions = new Buckets(o.newSessionsPerSecond, Math.max(1, o.newSessionsPerSecond * 10));
  }

  /** A new socket: starts the wait for `$hello`. */
  attach(link: Link): Conn {
    const conn = new Conn(link);
    if (this.#closed) {
      conn.closed = true;
      link.close(CloseCode.goingAway, 'server closing');
      return conn;
    }
    this.#conns.add(conn);
    const t = this.#o.helloTimeout;
    if (t !== false)
      conn.helloTimer = setTimeout(
        () =>
          conn.said
            ? this.close(conn, T, 'no $welcome in time: authentication or the store is slow')
            : this.close(conn, V, 'no $hello in time: add reliable() on the client'),
        t,
      );
    return conn;
  }

  /** Closes a connection from the server side, with a code and a reason the client sees. */
  close(conn: Conn, code: number, reason: string): void {
    if (conn.closed) return;
    this.detach(conn);
    try {
      conn.link.close(code, reason);
    } catch (e) {
      this.#o.onError(e, conn.session?.id);
    }
  }

  /** The socket is gone (whoever closed it). Idempotent. */
  detach(conn: Conn): void {
    if (conn.closed) return;
    conn.closed = true;
    this.#conns.delete(conn);
    clearTimeout(conn.helloTimer);
    clearTimeout(conn.ackTimer);
    conn.helloTimer = conn.ackTimer = undefined;
    conn.early = [];
    if (conn.counted) {
      const n = this.#live.get(conn.key)! - 1;
      if (n) this.#live.set(conn.key, n);
      else this.#live.delete(conn.key);
    }
    const s = conn.session;
    if (s && s.conn == conn) s.conn = undefined;
    if (s) this.#forget(s);
  }

  /**
   * Runs `fn` (the handling of a frame that is not `$hello`) once the connection's `$welcome` is out: at
   * once, or later if the `$hello` is still being authenticated and checked. Before any `$hello`, the
   * connection is closed instead.
   */
  admit(conn: Conn, fn: () => void): void {
    if (conn.closed || this.#closed) return;
    if (conn.live) return fn();
    if (!conn.said) return this.close(conn, V, HELLO_FIRST);
    if (conn.early.length >= this.#o.maxPending) return this.close(conn, T, 'flood: too many frames before the $welcome');
    conn.early.push(fn);
  }

  /** The session of a connection, once welcomed (a refused `$hello` names none). */
  sessionOf(conn: Conn): string | undefined {
    return conn.live ? conn.session!.id : undefined;
  }

  /** The principal of a session active in this process. */
  principal(id: string): string | undefined {
    return this.#sessions.get(id)?.principal;
  }

  /**
   * A request (a frame with an id, or a socket.io event with an acknowledgement) on a welcomed connection:
   * answered by `onRequest` through `reply`, its result or, if it throws, the error's message.
   */
  request(conn: Conn, event: string, args: unknown[], reply: (failed: boolean, value: unknown) => void): void {
    const handler = this.#o.onRequest!;
    const id = conn.session!.id;
    if (++conn.requests > this.#o.maxPending) return this.close(conn, T, 'flood: too many requests in progress');
    const done = (failed: boolean, value: unknown): void => {
      conn.requests--;
      if (conn.closed) return;
      try {
        reply(failed, failed ? errorData(value) : value);
      } catch (e) {
        this.#o.onError(e, id);
      }
    };
    let r: unknown;
    try {
      r = handler(id, event, ...args);
    } catch (e) {
      return done(true, e);
    }
    if (isThenable(r))
      this.#track(
        Promise.resolve(r).then(
          (v) => done(false, v),
          (e: unknown) => done(true, e),
        ),
      );
    else done(false, r);
  }

  /** A protocol frame (an event whose name starts with `$`) from a connection. */
  receive(conn: Conn, event: string, args: unknown[]): void {
    // A closing server takes nothing new: what it does not acknowledge, the client resends elsewhere.
    if (conn.closed || this.#closed) return;
    if (event == '$hello') return this.#hello(conn, args);
    if (!conn.live) return this.admit(conn, () => this.receive(conn, event, args));
    const s = conn.session!;
    if (event == '$m') {
      const n = args[0];
      const name = args[1];
      if (!isCount(n, 1)) return this.close(conn, V, 'malformed $m: the sequence number must be a safe integer >= 1');
      if (typeof name != 'string' || !name || name[0] == '$') return this.close(conn, V, 'malformed $m: bad event name');
      if (++conn.pending > this.#o.maxPending) return this.close(conn, T, 'flood: too many messages awaiting the store');
      this.#enqueue(s, { conn, n, event: name, args: args.slice(2), stored: undefined, state: 0, value: undefined, deadline: undefined });
    } else if (event == '$ack') {
      const [n] = args;
      if (!isCount(n, 0)) return this.close(conn, V, 'malformed $ack: the offset must be a safe integer >= 0');
      if (n > Math.max(conn.high, conn.hello)) return this.close(conn, V, `$ack ${n} beyond the last offset sent (${conn.high})`);
      // An ack up to the hello's offset may come first (a client's timer from the last connection): it says
      // nothing new. Past the $welcome, it lets the store trim.
      if (n <= conn.high && n > s.trimTo) this.#trim(s, n);
    } else {
      this.close(conn, V, `unknown event ${event.slice(0, 40)}`);
    }
  }

  /** `$hello`: checked, then authenticated, then queued on its session (which checks the principal). */
  #hello(conn: Conn, args: unknown[]): void {
    if (conn.said) return this.close(conn, V, 'second $hello');
    const [id, offset, resuming] = args;
    const auth = this.#o.authenticate;
    if (typeof id != 'string' || !(auth ? SESSION_ID : BEARER_ID).test(id))
      return this.close(conn, V, `malformed $hello: the session id must be ${auth ? 1 : 22}-64 characters of [A-Za-z0-9_-]`);
    if (!isCount(offset, 0)) return this.close(conn, V, 'malformed $hello: the offset must be a safe integer >= 0');
    conn.said = true;
    conn.hello = offset;
    conn.resuming = resuming === true;
    const { address } = conn.link.peer;
    if (!auth) return this.#join(conn, id, '', address ?? '');
    const failed = (e: unknown): void => {
      this.#o.onError(e, id);
      this.close(conn, CloseCode.internal, 'authentication failed');
    };
    let p: unknown;
    try {
      p = auth(id, conn.link.peer);
    } catch (e) {
      return failed(e);
    }
    // Not tracked: `close()` does not wait for an app's authentication, whose answer then finds the engine closed.
    if (isThenable(p)) Promise.resolve(p).then((v) => this.#join(conn, id, v, v), failed);
    else this.#join(conn, id, p, p);
  }

  /** The principal is known: the `$hello` joins its session's queue, unless the session is known here to be someone else's. */
  #join(conn: Conn, id: string, principal: unknown, key: unknown): void {
    if (conn.closed || this.#closed) return;
    // Without `authenticate` everyone is '' ; with it, '' is no one.
    if (typeof principal != 'string' || (!principal && this.#o.authenticate))
      return this.close(conn, V, 'not authenticated: authenticate() refused this $hello');
    const known = this.#sessions.get(id);
    // Refused without touching the session: its queue, its connection and its store calls go on as they were.
    if (known?.principal !== undefined && known.principal !== principal) return this.close(conn, V, FOREIGN);
    conn.principal = principal;
    conn.key = key as string;
    const s = (conn.session = known ?? this.#session(id));
    // Before the $hello's read: news from other processes (a message appended there) cannot fall between.
    s.unwatch ??= this.#o.store.watch?.(id, (news) => this.#news(s, news));
    this.#enqueue(s, { conn, hello: true });
  }

  /** Appends a server → client message to the session's history, and delivers it if the session is live here. */
  send(id: string, event: string, args: unknown[]): Promise<number> {
    // A session known here has a valid id already.
    let s = this.#sessions.get(id);
    if (!s && (typeof id != 'string' || !SESSION_ID.test(id)))
      return Promise.reject(new OptionError('session', id, 'a session id of 1-64 characters of [A-Za-z0-9_-]'));
    if (typeof event != 'string' || !event || event[0] == '$')
      return Promise.reject(new OptionError('event', event, 'a non-empty event name not starting with $ (such names are the protocol\'s)'));
    s ??= this.#session(id);
    const { store } = this.#o;
    let r: number | Promise<number>;
    if (store.pipelined) return this.#sendBatched(s, event, args);
    try {
      r = this.#out(s, () => {
        const offset = this.#o.store.append(id, event, args);
        return isThenable(offset) ? Promise.resolve(offset).then((o) => this.#appended(s, o, event, args)) : this.#appended(s, offset, event, args);
      });
    } catch (e) {
      return Promise.reject(e);
    }
    return isThenable(r) ? r : Promise.resolve(r);
  }

  /**
   * `send` on a pipelined store, by batch (`Store.appendBatched`, or `append` as batches of one): the sends of one
   * batch wait on the session's outgoing queue as one piece of work, with one reaction to the store's answer, not
   * a chain of promises per message. The append goes out now, not one round trip after the one before; the
   * delivery waits for earlier outgoing work, so deliveries keep their order.
   */
  #sendBatched(s: Session, event: string, args: unknown[]): Promise<number> {
    let p: PromiseLike<readonly number[]>;
    try {
      p = this.#appendBatched(s.id, event, args);
    } catch (e) {
      return Promise.reject(e);
    }
    let batch = s.appended;
    if (batch?.promise !== p) {
      s.appended = batch = { promise: p, count: 0 };
      // Observed at once: its failure rejects the sends of the batch in their turn, also when earlier work delays that.
      p.then(undefined, () => {});
    }
    const index = batch.count++;
    let g = s.sends;
    if (g?.promise !== p) {
      const group: Sends = { promise: p, start: index, items: [] };
      const failed = (e: unknown): void => {
        for (const m of group.items) m.reject(e);
      };
      // Joined by the sends that get the same promise, until other work is queued after it (`#out` closes it).
      this.#out(s, () => Promise.resolve(p).then((offsets) => this.#deliver(s, group, offsets, 0), failed));
      s.sends = g = group;
    }
    const sends = g;
    return new Promise<number>((resolve, reject) => void sends.items.push({ event, args, resolve, reject }));
  }

  /** Delivers a batch's messages from the `from`th on, in order, each send resolved once its message is out. */
  #deliver(s: Session, g: Sends, offsets: readonly number[], from: number): void | Promise<void> {
    const { items, start } = g;
    for (let i = from; i < items.length; i++) {
      const m = items[i]!;
      const offset = offsets[start + i];
      if (offset === undefined) {
        m.reject(new SurewireError('store', `the store's appendBatched answered ${offsets.length} offsets for ${start + items.length} calls: message ${i} of session ${s.id} was not stored (a bug of the store)`));
        continue;
      }
      let r;
      try {
        r = this.#appended(s, offset, m.event, m.args);
      } catch (e) {
        m.reject(e);
        continue;
      }
      if (typeof r == 'number') {
        m.resolve(r);
        continue;
      }
      // A catch-up from the store first (another process appended): the rest of the batch after it.
      const next = (): void | Promise<void> => this.#deliver(s, g, offsets, i + 1);
      return r.then(
        (o) => (m.resolve(o), next()),
        (e: unknown) => (m.reject(e), next()),
      );
    }
  }

  /** A message is appended: delivers it if the session is live here. A promise only when a catch-up needs the store. */
  #appended(s: Session, offset: number, event: string, args: unknown[]): number | Promise<number> {
    const c = s.conn;
    if (!c?.live || c.closed || this.#next(c, offset, event, args)) return offset;
    // A pipelined store's append may land before a $welcome's read, or a pull, that delivered it already.
    if (offset <= c.high && this.#o.store.pipelined) return offset;
    return this.#catchUp(s, c, offset, event, args).then(() => offset);
  }

  /** Sends a message if it is the next offset this connection expects; says whether it did. */
  #next(c: Conn, offset: number, event: string, args: unknown[]): boolean {
    if (offset != c.high + 1) return false;
    c.high = offset;
    this.#put(c, '$m', [offset, event, ...args]);
    return true;
  }

  /** Delivers a message appended out of step with this connection, with whatever the store got from elsewhere before it. */
  async #catchUp(s: Session, c: Conn, offset: number, event: string, args: unknown[]): Promise<void> {
    const lost = (why: string): void => this.close(c, CloseCode.tryAgain, why);
    // The store's offsets went back: it lost the session under us. A new $hello resumes it (with a discontinuity).
    if (offset <= c.high) return lost('session state lost by the store');
    // Offsets skipped: another process sharing the store appended to this session. Deliver those first, in order.
    let missed;
    try {
      missed = await this.#o.store.since(s.id, c.high);
    } catch (e) {
      this.#o.onError(e, s.id);
      return lost('store failed');
    }
    if (c.closed) return;
    if (!missed) return lost('history gap');
    for (const m of missed) this.#next(c, m.offset, m.event, m.args);
  }

  /** News of a session from another process sharing the store (`Store.watch`). */
  #news(s: Session, news: StoreNews): void {
    const c = s.conn;
    if (news.type == 'takeover') return void (c && this.close(c, CloseCode.goingAway, 'session taken over'));
    if (news.type == 'lost') return void (c && this.close(c, T, 'store lost track of other processes'));
    // Before a $welcome went out (a $hello's read in progress), the pull at its end covers the message.
    if (!c?.live || c.closed) s.behind = true;
    else if (news.offset > c.high && !this.#next(c, news.offset, news.event, news.args)) this.#pull(s, c);
  }

  /** Delivers what other processes appended after this connection's last offset, in order, from the store. */
  #pull(s: Session, c: Conn): void {
    if (c.pulling) return;
    c.pulling = true;
    const failed = (e: unknown): void => {
      this.#o.onError(e, s.id);
      this.close(c, CloseCode.tryAgain, 'store failed');
    };
    let r;
    try {
      r = this.#out(s, async () => {
        c.pulling = false;
        if (c.closed) return;
        const missed = await this.#o.store.since(s.id, c.high);
        if (c.closed) return;
        if (!missed) return this.close(c, CloseCode.tryAgain, 'history gap');
        for (const m of missed) this.#next(c, m.offset, m.event, m.args);
      });
    } catch (e) {
      return failed(e);
    }
    if (isThenable(r)) r.then(undefined, failed);
  }

  /** Session ids known here: the store's when it lists them, otherwise those with a connection or work in this process. */
  async ids(): Promise<Iterable<string>> {
    return (await this.#o.store.sessions?.()) ?? [...this.#sessions.keys()];
  }

  /** Final: closes every connection with 1001, releases every timer, and resolves once the work in progress has settled. */
  async shutdown(): Promise<void> {
    this.#closed = true;
    // What was received is finished and acknowledged before the connections close: otherwise the clients
    // resend messages already handled, and a server that restarts with a store that forgets (the memory
    // store) would hand them over twice.
    while (this.#busy.size) await Promise.allSettled([...this.#busy]);
    for (const c of [...this.#conns]) {
      this.#sendAck(c);
      this.close(c, CloseCode.goingAway, 'server closing');
    }
    while (this.#busy.size) await Promise.allSettled([...this.#busy]);
  }

  #session(id: string): Session {
    let s = this.#sessions.get(id);
    if (!s) {
      s = {
        id,
        principal: undefined,
        conn: undefined,
        seq: null,
        handled: null,
        inbox: [],
        running: false,
        out: Promise.resolve(),
        outCount: 0,
        trimTo: 0,
        trimQueued: false,
        held: false,
        told: 0,
        takeovers: undefined,
        committing: undefined,
        claims: undefined,
        appended: undefined,
        sends: undefined,
        behind: false,
        issued: null,
        ahead: 0,
        unwatch: undefined,
      };
      this.#sessions.set(id, s);
    }
    return s;
  }

  /**
   * Drops the in-process state of a session nothing refers to any more (the store keeps the rest), after
   * telling the store it is no longer held here.
   */
  #forget(s: Session): void {
    if (s.conn || s.running || s.inbox.length || s.outCount || this.#sessions.get(s.id) != s) return;
    if (!s.held) {
      s.unwatch?.();
      s.unwatch = undefined;
      return void this.#sessions.delete(s.id);
    }
    s.held = false;
    const release = this.#o.store.release;
    if (!release) return this.#forget(s);
    const failed = (e: unknown): void => this.#o.onError(e, s.id);
    let r;
    try {
      r = this.#out(s, () => release.call(this.#o.store, s.id, (s.seq ?? 0) <= s.told));
    } catch (e) {
      return failed(e);
    }
    if (isThenable(r)) r.then(undefined, failed);
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#busy.add(p);
    const done = (): void => void this.#busy.delete(p);
    p.then(done, done);
    return p;
  }

  /**
   * Runs `fn` after the session's earlier outgoing work. Never waits on the inbox, so a handler may await
   * `send`. When no earlier work is pending, `fn` runs at once, and a synchronous answer (a store that
   * answered at once) is returned as is, without a promise; `fn` throwing then throws here.
   */
  #out<T>(s: Session, fn: () => T | Promise<T>): T | Promise<T> {
    // Sends batched later go after this work, not with those before it.
    s.sends = undefined;
    if (s.outCount++) return this.#outTail(s, s.out.then(fn));
    let r: T | Promise<T>;
    try {
      r = fn();
    } catch (e) {
      this.#outDone(s);
      throw e;
    }
    if (isThenable(r)) return this.#outTail(s, r);
    this.#outDone(s);
    return r;
  }

  /**
   * Makes `p` (counted in `outCount` already) the last of the session's outgoing work, tracked for `shutdown`.
   * One reaction does it all (a message sent costs few promises): it runs before those of `p`'s callers.
   */
  #outTail<T>(s: Session, p: Promise<T>): Promise<T> {
    const done = (): void => {
      this.#busy.delete(tail);
      this.#outDone(s);
    };
    const tail = p.then(done, done);
    this.#busy.add(tail);
    s.out = tail;
    return p;
  }

  #outDone(s: Session): void {
    s.outCount--;
    this.#forget(s);
  }

  #trim(s: Session, n: number): void {
    const trim = this.#o.store.trim;
    s.trimTo = n;
    if (!trim || s.trimQueued) return;
    s.trimQueued = true;
    const failed = (e: unknown): void => this.#o.onError(e, s.id);
    let r;
    try {
      r = this.#out(s, () => {
        s.trimQueued = false;
        return trim.call(this.#o.store, s.id, s.trimTo);
      });
    } catch (e) {
      return failed(e);
    }
    if (isThenable(r)) r.then(undefined, failed);
  }

  #enqueue(s: Session, t: Task): void {
    s.inbox.push(t);
    if (!s.running) this.#drain(s);
    else if (!t.hello) this.#prefetch(s);
  }

  /**
   * With a pipelined store (`Store.pipelined`), the accepts of the messages waiting behind the one in progress
   * go out now, in order, rather than one round trip after another; each is still handed over in its turn.
   * Not past a `$hello` (it reads the sequence number again), nor for a connection not welcomed yet.
   */
  #prefetch(s: Session): void {
    if (!this.#o.store.pipelined) return;
    for (let i = s.ahead; i < s.inbox.length && i < PIPELINE; i++) {
      const t = s.inbox[i]!;
      if (t.hello) return;
      // A jump too far is closed for in its turn (`#message`), and nothing after it goes out.
      const base = s.issued ?? (t.conn.resuming ? null : 0);
      if (base !== null && t.n > base + MAX_SEQ_JUMP) return;
      s.ahead = i + 1;
      if (t.stored || !t.conn.live || t.conn.closed || (s.issued != null && t.n <= s.issued)) continue;
      this.#issue(s, t);
    }
  }

  /**
   * Sends the `accept` of a message (a pipelined store), ahead of its turn or in it; its answer lands on the
   * task (`state`, `value`) and its failure is handled in its turn. One reaction answers every task of a batch
   * (`Store.acceptBatched`; with `accept` alone, each call is a batch of one).
   */
  #issue(s: Session, t: Msg): void {
    s.issued = t.n;
    t.deadline = this.#deadline();
    let p: PromiseLike<readonly (void | boolean | Error)[]>;
    try {
      p = this.#acceptBatched(s.id, t.n);
    } catch (e) {
      t.state = 2;
      t.value = e;
      t.stored = DONE;
      return;
    }
    let b = s.claims;
    if (b?.promise !== p) {
      const tasks: Msg[] = [];
      s.claims = b = { promise: p, tasks };
      p.then(
        (answers) => {
          for (let i = 0; i < tasks.length; i++) {
            const x = tasks[i]!;
            const v = answers[i];
            if (i >= answers.length)
              (x.state = 2), (x.value = new SurewireError('store', `the store's acceptBatched answered ${answers.length} numbers for ${tasks.length} calls: message ${x.n} of session ${s.id} was not stored (a bug of the store)`));
            else if (v instanceof Error) (x.state = 2), (x.value = v);
            else (x.state = 1), (x.value = v);
          }
        },
        (e: unknown) => {
          for (const x of tasks) (x.state = 2), (x.value = e);
        },
      );
    }
    b.tasks.push(t);
    t.stored = p;
  }

  /**
   * Processes the session's inbox one task at a time, so order holds although the store is async:
   * synchronously while the store and the handler answer synchronously (no promise per message), and
   * from the first promise on, after it settles (`#resume`).
   */
  #drain(s: Session): void {
    s.running = true;
    let waiting = false;
    try {
      for (let t; (t = s.inbox.shift()); ) {
        if (s.ahead) s.ahead--;
        const { conn } = t;
        // A closed connection's messages are skipped: its client resends whatever was not acknowledged. One
        // whose accept went out already is not: if it was stored, it is handed over.
        // Nor is one after a message of its connection that was not handed over.
        if (conn.closed && (t.hello || !t.stored || conn.dropped)) continue;
        let r;
        try {
          r = t.hello ? this.#welcome(s, conn) : this.#message(s, conn, t);
        } catch (e) {
          this.#failed(s, conn, e);
        }
        if (isThenable(r)) {
          waiting = true;
          this.#prefetch(s);
          this.#track(this.#resume(s, t, r));
          return;
        }
        if (!t.hello) conn.pending--;
      }
    } finally {
      if (!waiting) {
        s.running = false;
        this.#forget(s);
      }
    }
  }

  /** Waits for a task that answered with a promise, then goes on with the inbox. */
  async #resume(s: Session, t: Task, r: PromiseLike<unknown>): Promise<void> {
    try {
      await r;
    } catch (e) {
      this.#failed(s, t.conn, e);
    } finally {
      if (!t.hello) t.conn.pending--;
      s.running = false;
    }
    this.#drain(s);
  }

  #failed(s: Session, conn: Conn, e: unknown): void {
    conn.dropped = true;
    this.#o.onError(e, s.id);
    this.close(conn, CloseCode.tryAgain, 'store failed');
  }

  /**
   * `$hello` → the store opens the session for the principal, the limits are checked, then `$welcome` and
   * the replay, on the outgoing queue so that no live message slips between. A `$hello` refused here (another
   * principal's session, a limit) changes nothing of the session.
   */
  #welcome(s: Session, conn: Conn): void | Promise<void> {
    const { store } = this.#o;
    return this.#out(s, async () => {
      if (conn.closed) return;
      const bucket = this.#newSessions.get(conn.key);
      const create = bucket.ready();
      const rec = await store.open(s.id, conn.principal, create);
      if (rec && rec.principal === conn.principal) {
        // Held from now on, even if this connection is gone already: `#forget` releases it.
        s.held = true;
        s.principal = rec.principal;
        if (rec.fresh) bucket.take();
      }
      if (conn.closed) return;
      if (!rec) return this.close(conn, T, create ? 'server full: no room for a new session' : 'too many new sessions: try again later');
      if (rec.principal !== conn.principal) return this.close(conn, V, FOREIGN);
      const old = s.conn;
      if (old) {
        // The same principal takes its session over (a reload, a half-open connection): at a bounded rate.
        s.takeovers ??= new Bucket(this.#o.takeoversPerMinute / 60, 5);
        if (!s.takeovers.take()) return this.close(conn, T, 'session taken over too often: try again later');
        this.close(old, CloseCode.goingAway, 'session taken over');
      } else if ((this.#live.get(conn.key) ?? 0) >= this.#o.maxSessionsPerPrincipal) {
        return this.close(conn, T, 'too many sessions for this principal');
      }
      s.conn = conn;
      conn.counted = true;
      this.#live.set(conn.key, (this.#live.get(conn.key) ?? 0) + 1);
      s.seq = s.handled = s.issued = rec.seq;
      const last = rec.offset;
      const from = conn.hello;
      // A client that had this session (`resuming`) finds it created anew: the server lost it, and with it
      // whatever it held for the client; its offsets mean nothing here now.
      const lost = rec.fresh && conn.resuming;
      // Nothing to replay when the client is where the server is; otherwise the history must reach back.
      const replay = lost ? undefined : from == last ? [] : from < last ? await store.since(s.id, from) : undefined;
      if (conn.closed) return;
      this.#put(conn, '$welcome', [s.seq, last, !!replay]);
      if (conn.closed) return;
      s.told = Math.max(s.told, s.seq ?? 0);
      conn.high = last;
      conn.acked = s.seq ?? 0;
      // The replay, paced: a long history never fills more than half of `maxBuffered`, so the live messages
      // after it have room, and a slow reader gets it all on one connection.
      for (const m of replay ?? []) {
        if (conn.link.buffered() > this.#o.maxBuffered / 2 && !(await this.#drained(conn))) return;
        this.#put(conn, '$m', [m.offset, m.event, ...m.args]);
        if (m.offset > conn.high) conn.high = m.offset;
      }
      conn.live = true;
      clearTimeout(conn.helloTimer);
      conn.helloTimer = undefined;
      const early = conn.early;
      conn.early = [];
      for (const fn of early) if (!conn.closed) fn();
      // News of a message appended elsewhere came during the read: what the read missed is pulled now.
      if (s.behind) (s.behind = false), this.#pull(s, conn);
    });
  }

  // Returns a promise only when the store or the handler did: a synchronous store and handler take a burst
  // of messages in one go, without a microtask per message.
  #message(s: Session, conn: Conn, t: Msg): void | Promise<void> {
    const { n } = t;
    if (!t.stored && s.seq != null && n <= s.seq) {
      // Seen already (a resend): dropped, and acknowledged again.
      conn.again = true;
      return this.#ack(conn);
    }
    // Any number above the stored one is new: numbers may skip (a message the client's outbox dropped unsent),
    // but not past what the client could have numbered. A client that had the session before and finds it
    // new here (`seq` null) goes on with its own numbers: its first one sets the start.
    const base = s.seq ?? (conn.resuming ? null : 0);
    if (!t.stored && base !== null && n > base + MAX_SEQ_JUMP) return this.close(conn, V, `$m ${n} jumps more than ${MAX_SEQ_JUMP} past ${base}`);
    // Stored first, then handed to the app: a store failure leaves the handler uncalled and the client resends.
    // (One that went out ahead of its turn was checked against the numbers that went out before it.)
    // An answer that came already is taken at once: the rest of a burst answered together follows without a promise.
    if (t.state) return this.#answered(s, conn, t);
    if (!t.stored) {
      const { store } = this.#o;
      if (store.pipelined) {
        this.#issue(s, t);
        if (t.state) return this.#answered(s, conn, t);
      } else {
        s.issued = n;
        t.deadline = this.#deadline();
        const stored = store.accept(s.id, n);
        return isThenable(stored) ? Promise.resolve(stored).then((ok) => this.#stored(s, conn, t, ok)) : this.#stored(s, conn, t, stored);
      }
    }
    const answered = (): void | Promise<void> => this.#answered(s, conn, t);
    return Promise.resolve(t.stored).then(answered, answered);
  }

  /** A message whose accept has been answered (`state`): handed over, or its failure thrown. */
  #answered(s: Session, conn: Conn, t: Msg): void | Promise<void> {
    if (t.state == 2) throw t.value;
    return this.#stored(s, conn, t, t.value as void | boolean);
  }

  /** With a store that claims (`Store.lease`): until when a message whose `accept` is called now may be handed over. */
  #deadline(): number | undefined {
    const { lease } = this.#o.store;
    return lease === undefined ? undefined : performance.now() + lease;
  }

  #stored(s: Session, conn: Conn, t: Msg, ok: void | boolean): void | Promise<void> {
    const { n, event, args } = t;
    if (ok !== false) {
      // Claimed, but the claim may have ended by now (the store answered late): another process may take the
      // message over. Not handed over here, nor anything after it on this connection; the client resends.
      if (t.deadline !== undefined && performance.now() > t.deadline) {
        conn.dropped = true;
        this.#o.onError(
          new SurewireError('store', `the store answered the claim of message ${n} of session ${s.id} after its lease (${this.#o.store.lease} ms): the message is not handed over here; the connection is closed with 1013 and the client resends it (a slow or overloaded store: raise its lease)`),
          s.id,
        );
        return this.close(conn, T, 'store too slow: resend');
      }
      return this.#handle(s, conn, n, event, args);
    }
    // Another process sharing the store stored it first (the client moved there and back mid-burst): it is
    // that process's to hand over; here it is a duplicate, acknowledged as stored.
    s.seq = s.handled = n;
    conn.again = true;
    this.#ack(conn);
  }

  #handle(s: Session, conn: Conn, n: number, event: string, args: unknown[]): void | Promise<void> {
    s.seq = n;
    const handled = (): void => {
      s.handled = n;
      this.#commit(s, n);
      this.#ack(conn);
    };
    // The app's own failure: the message was handed over once, as promised; it is not handed over again.
    const failed = (e: unknown): void => {
      this.#o.onError(e, s.id);
      handled();
    };
    let done: unknown;
    try {
      done = this.#o.onMessage(s.id, event, ...args);
    } catch (e) {
      return failed(e);
    }
    return isThenable(done) ? Promise.resolve(done).then(handled, failed) : handled();
  }

  /** Tells a store that claims (`Store.handled`) that the app has had every message of the session up to `n`. */
  #commit(s: Session, n: number): void {
    const { store } = this.#o;
    if (!store.handled) return;
    const failed = (e: unknown): void => this.#o.onError(e, s.id);
    let r;
    try {
      r = store.handled(s.id, n);
    } catch (e) {
      return failed(e);
    }
    if (isThenable(r) && r !== s.committing) (s.committing = r).then(undefined, failed);
  }

  /**
   * Sends a frame, unless the client does not take what it was sent: past `maxBuffered` bytes waiting, the
   * connection closes with 1013 instead (the client gets server messages from the history when it is back).
   */
  #put(conn: Conn, event: string, args: unknown[]): void {
    if (conn.closed) return;
    const waiting = conn.link.buffered();
    if (waiting > this.#o.maxBuffered) return this.close(conn, T, `the client reads too slowly (${waiting} bytes waiting)`);
    conn.link.send(event, args);
  }

  /**
   * Waits until at most half of `maxBuffered` waits towards the client; false (and the connection closed
   * with 1013) if that takes longer than `helloTimeout` (10 s without one).
   */
  async #drained(conn: Conn): Promise<boolean> {
    const until = Date.now() + (this.#o.helloTimeout || 10_000);
    while (!conn.closed && conn.link.buffered() > this.#o.maxBuffered / 2) {
      if (Date.now() > until) return this.close(conn, T, 'the client reads too slowly'), false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return !conn.closed;
  }

  /**
   * Schedules one cumulative `$ack` for everything handled so far: one per `ackDelay` at most, or at once
   * when `ACK_EVERY` messages wait for one, so that a client whose window is full never idles for the delay.
   */
  #ack(conn: Conn): void {
    if (conn.closed) return;
    const h = conn.session?.handled;
    if (h != null && h - conn.acked >= ACK_EVERY) return this.#sendAck(conn);
    conn.ackTimer ??= setTimeout(() => this.#sendAck(conn), this.#o.ackDelay);
  }

  #sendAck(conn: Conn): void {
    clearTimeout(conn.ackTimer);
    conn.ackTimer = undefined;
    const h = conn.session?.handled;
    if (conn.closed || h == null || !(h > conn.acked || conn.again)) return;
    conn.again = false;
    conn.acked = h;
    this.#put(conn, '$ack', [h]);
    if (!conn.closed) conn.session!.told = Math.max(conn.session!.told, h);
  }
}
