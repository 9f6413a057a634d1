// `surewire/server/redis`: a `Store` in Redis, so that several server processes share their sessions, and
// the news that carries a message appended on one process to the connection held by another. It imports no
// Redis client: the app passes its own ioredis client in. See docs/redis.md.
import { createHash, randomBytes } from 'node:crypto';
import { OptionError, SurewireError } from '../errors';
import type { SessionRecord, Store, StoredMessage, StoreNews } from './store';
import { ACCEPT, APPEND, OPEN, RELEASE, SINCE } from './redis/scripts';

/**
 * The part of an ioredis client (`new Redis(...)` from `ioredis`, v5 or v6) the store uses; structural, so
 * surewire needs neither ioredis nor its types. `duplicate()` makes the connection that listens for news.
 */
export interface RedisClient {
  /** ioredis's connection state: `'ready'` when commands go out at once. */
  readonly status?: string;
  /** The options the client was made with, checked by `redisStore()`. */
  readonly options?: {
    /** Must be `false`: a command resent after a reconnect could store a message twice. */
    readonly autoResendUnfulfilledCommands?: boolean | undefined;
    /** Must be off: a pipeline cut by a reconnect would never settle. */
    readonly enableAutoPipelining?: boolean | undefined;
  };
  /** Runs a loaded Lua script. */
  evalsha(sha: string, keys: number, ...args: (string | number)[]): Promise<unknown>;
  /** Sends several commands in one write (ioredis's `pipeline([...]).exec()`): a tick's calls go out together. */
  pipeline?(commands: (string | number)[][]): {
    /** Sends the commands; resolves with each one's error or result, in order. */
    exec(): Promise<[Error | null, unknown][] | null>;
  };
  /** Loads a Lua script. */
  script(subcommand: 'LOAD', script: string): Promise<unknown>;
  /** Trims a session's history stream. */
  xtrim(key: string, strategy: 'MINID', threshold: string | number): Promise<unknown>;
  /** Reads the index of sessions, for `broadcast`. */
  zrangebyscore(key: string, min: string | number, max: string | number): Promise<string[]>;
  /** Drops expired entries of the index of sessions. */
  zremrangebyscore(key: string, min: string | number, max: string | number): Promise<unknown>;
  /** A second connection with the same options, for the news subscription. */
  duplicate(): RedisClient;
  /** Subscribes to the news channel. */
  subscribe(channel: string): Promise<unknown>;
  /** Listens to the client's events (`ready`, `close`, `message`, …). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- ioredis's own listener types
  on(event: string, listener: (...args: any[]) => void): unknown;
  /** Closes the connection. */
  disconnect(): void;
}

/** Options of `redisStore()`. */
export interface RedisStoreOptions {
  /** Prefix of every key and of the news channel: stores with different prefixes share nothing. @default 'surewire:' */
  prefix?: string;
  /**
   * Messages kept per session, acknowledged or not. A client that falls further behind resumes with a
   * `discontinuity`. @default 1000
   */
  history?: number;
  /**
   * A session's history expires after this many ms without use (no `$hello`, message or `send`); a client
   * that returns later resumes with a `discontinuity`, its resent messages still deduplicated. @default 86400000 (1 day)
   */
  ttl?: number;
  /**
   * A session's record (its last sequence number and offset) expires after this many ms without use; a client
   * that returns later is a new session (told of a `discontinuity` if it had received anything). At least
   * `ttl`. @default 2592000000 (30 days)
   */
  keep?: number;
  /**
   * Sessions kept (counted over every process). A new one beyond this is refused (the client is closed with
   * 1013 and tries again later), after dropping the entries of sessions whose record has expired. @default 1000000
   */
  sessions?: number;
  /**
   * A call to Redis not answered within this many ms fails (the connection is closed with 1013, the client
   * retries); it may still run in Redis later (see docs/redis.md: calls in doubt). Calls wait at most this
   * long for a client that is still connecting. @default 5000
   */
  timeout?: number;
  /**
   * How long, in ms, a client message this process claimed (stored before handing it to the app) stays its
   * own: it hands the message over only within this time of its claim (less a tenth, for the clocks), and
   * another process takes over a claim left unhandled (a process killed, stalled or cut off from Redis)
   * only once it has ended, so that no message is ever handed over by two processes at once nor lost. A
   * client whose messages a dead process claimed waits that long (closed with 1013, it retries). At least
   * 100. @default 10000
   */
  lease?: number;
}

/** `redisStore()`'s store: a `Store`, plus `close()`. */
export interface RedisStore extends Store {
  /**
   * Claims `seq` for this process: resolves `true` when claimed (the helper may hand it over within `lease`),
   * `false` when it was handed over already (a duplicate); rejects when the session moved under this process
   * or another process's claim on it is still live (the connection is closed with 1013, the client resends).
   */
  accept(id: string, seq: number): Promise<boolean>;
  /**
   * `accept` by batch (`Store.acceptBatched`): the calls of a session in one tick get one promise, resolved with
   * their answers in order (`true`, `false`, or the error `accept` would reject with).
   */
  acceptBatched(id: string, seq: number): Promise<readonly (boolean | SurewireError)[]>;
  /** Commits `seq` as handed over; sent with the session's next call (one tick later at most). Resolves once stored. */
  handled(id: string, seq: number): Promise<void>;
  /** The ms after an `accept` call during which the helper may hand the message over: `lease` less a tenth. */
  readonly lease: number;
  append(id: string, event: string, args: unknown[]): Promise<number>;
  /** `append` by batch (`Store.appendBatched`): the calls of a session in one tick get one promise, resolved with their offsets in order. */
  appendBatched(id: string, event: string, args: unknown[]): Promise<readonly number[]>;
  release(id: string, settled: boolean): Promise<void>;
  /** Trims the history up to `offset` with the session's next append or read, or alone within a second: at once, no promise. */
  trim(id: string, offset: number): void;
  sessions(): Promise<string[]>;
  watch(id: string, listener: (news: StoreNews) => void): () => void;
  /** Closes the connection the store opened for news (`client.duplicate()`); the app's own client stays open. */
  close(): Promise<void>;
}

const posInt = (name: string, v: unknown, min: number): number => {
  if (Number.isSafeInteger(v) && (v as number) >= min) return v as number;
  throw new OptionError(`redisStore.${name}`, v, `an integer >= ${min}`);
};

const failed = (what: string, cause: unknown): SurewireError =>
  new SurewireError('store', `redisStore: ${what} failed (${(cause as Error)?.message ?? String(cause)}); the connection is closed with 1013 and the client retries`, cause);

/**
 * A script, loaded (SCRIPT LOAD) whenever the connection becomes ready and run by its SHA1 (EVALSHA: the text
 * is not sent with every call). A call that finds it unknown (NOSCRIPT: Redis flushed its scripts while
 * connected) fails rather than being sent again with EVAL, which would run it after calls sent after it (a
 * burst of one session stored out of order); the scripts are loaded again for the next calls.
 */
class Script {
  readonly sha: string;
  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }
  run(c: RedisClient, keys: string[], args: (string | number)[]): Promise<unknown> {
    return c.evalsha(this.sha, keys.length, ...keys, ...args);
  }
  /** The EVALSHA command, for a pipeline. */
  command(keys: string[], args: (string | number)[]): (string | number)[] {
    return ['evalsha', this.sha, keys.length, ...keys, ...args];
  }
}

const scripts = { open: new Script(OPEN), release: new Script(RELEASE), accept: new Script(ACCEPT), append: new Script(APPEND), since: new Script(SINCE) };

/** What the store keeps of a session connected to this process: its listener, and the epoch of its last `$hello` here. */
interface Watch {
  listener: (news: StoreNews) => void;
  /** The epoch the last `$hello` of this process got; takeovers at or below it are old news. */
  epoch: number;
  /** Takeover epochs heard before this process's `$hello` read came back. */
  early: number[];
  reading: number;
}

/**
 * A `Store` in Redis (see docs/redis.md for the data layout and its limits), for `reliable({ store })`: every
 * process of an app shares sessions, deduplication and history through it, and a message sent on one process
 * reaches the client connected to another (Redis pub/sub carries the news). Give it an ioredis client created
 * with `autoResendUnfulfilledCommands: false` (a command resent after a reconnect could store a message twice),
 * and without `enableAutoPipelining` (the store batches its own calls: one script call per session per tick).
 *
 * While Redis is unreachable every call fails at once (`SurewireError` with code `'store'`): the helper closes
 * the connections concerned with 1013 and the clients come back with backoff; nothing is acknowledged that
 * was not stored.
 *
 * @example
 * import Redis from 'ioredis';
 * import { reliable } from 'surewire/server';
 * import { redisStore } from 'surewire/server/redis';
 * const store = redisStore(new Redis(process.env.REDIS_URL, { autoResendUnfulfilledCommands: false }));
 * const server = reliable({ store, onMessage });
 */
export function redisStore(client: RedisClient, options: RedisStoreOptions = {}): RedisStore {
  if (typeof client?.evalsha != 'function' || typeof client.script != 'function' || typeof client.duplicate != 'function')
    throw new OptionError('redisStore(client)', client, 'an ioredis client (`new Redis(url)` from the `ioredis` package)');
  if (client.options?.autoResendUnfulfilledCommands !== false)
    throw new OptionError(
      'redisStore(client).options.autoResendUnfulfilledCommands',
      client.options?.autoResendUnfulfilledCommands,
      'false: ioredis resends unanswered commands after a reconnect, which could store a message twice; create the client with `autoResendUnfulfilledCommands: false`',
    );
  if (client.options?.enableAutoPipelining)
    throw new OptionError(
      'redisStore(client).options.enableAutoPipelining',
      true,
      'false: ioredis runs one auto-pipeline at a time, and one cut off by a reconnect never settles when unanswered commands are not resent, so every later command would wait forever; the store batches its own calls',
    );
  const prefix = options.prefix ?? 'surewire:';
  if (typeof prefix != 'string') throw new OptionError('redisStore.prefix', prefix, 'a string');
  const history = posInt('history', options.history ?? 1000, 0);
  const ttl = posInt('ttl', options.ttl ?? 86_400_000, 1);
  const keep = posInt('keep', options.keep ?? 30 * 86_400_000, ttl);
  const max = posInt('sessions', options.sessions ?? 1_000_000, 1);
  const timeout = posInt('timeout', options.timeout ?? 5000, 1);
  const lease = posInt('lease', options.lease ?? 10_000, 100);
  const channel = `${prefix}news`;
  const all = `${prefix}sessions`;
  const rec = (id: string): string => `${prefix}{${id}}:s`;
  const hist = (id: string): string => `${prefix}{${id}}:h`;
  // This process's name in the news: what it published itself, it has delivered already.
  const token = randomBytes(9).toString('base64url');

  /** The sequence number this process last read or stored per watched session: the `prev` of the next accept. */
  const last = new Map<string, string>();
  /** The epoch of this process's last `$hello` read per session: its claims are made under it. */
  const epochs = new Map<string, number>();
  /**
   * Commits not sent yet: the highest sequence number handed over per session, and the one promise every
   * `handled` call of it since the last call that carried one answers with.
   */
  const commits = new Map<string, Commit>();
  /** Calls carrying commits, until they settle: `close()` waits for them. */
  const committing = new Set<Promise<unknown>>();
  /** Takes a session's pending commit (if any) out, for the call of that session about to carry it. */
  const takeCommit = (id: string): Commit | undefined => {
    const c = commits.get(id);
    commits.delete(id);
    return c;
  };
  /** Sends a session's pending commit with `p`, a call of that session that carries it. */
  const commitWith = (c: Commit | undefined, p: Promise<unknown>): void => {
    if (!c) return;
    const q = p.then(c.resolve, c.reject);
    committing.add(q);
    void q.then(() => committing.delete(q));
  };
  /** Trims not sent yet (offset + 1, the stream's MINID), per session: they ride on its next append or read. */
  const trims = new Map<string, number>();
  let trimTimer: ReturnType<typeof setTimeout> | undefined;
  /** Within a second, trims that found no append or read to ride on go alone. */
  const trimLater = (): void => {
    trimTimer ??= setTimeout(() => {
      trimTimer = undefined;
      for (const [id, min] of trims) call('trimming the history', () => client.xtrim(hist(id), 'MINID', min)).catch(() => {});
      trims.clear();
    }, 1000);
    (trimTimer as { unref?: () => void }).unref?.();
  };
  const takeTrim = (id: string): number | '' => {
    const t = trims.get(id);
    if (t === undefined) return '';
    trims.delete(id);
    return t;
  };
  const watched = new Map<string, Watch>();
  let sub: RedisClient | undefined;
  let subscribed: Promise<unknown> | undefined;
  let closed = false;

  // The accepts and appends of one tick, per session, go out as one script call each: a burst of messages
  // costs one command (and shares one round trip with every other session's), not one per message. The calls
  // of a batch share one promise, resolved with every answer (`acceptBatched`, `appendBatched`): no promise per message.
  type Batch<T> = { args: string[]; promise: Promise<T[]>; resolve: (v: T[]) => void; reject: (e: unknown) => void };
  const batch = <T>(): Batch<T> => {
    let resolve!: (v: T[]) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<T[]>((ok, fail) => ((resolve = ok), (reject = fail)));
    return { args: [], promise, resolve, reject };
  };
  type Commit = { n: number; promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void };
  const accepts = new Map<string, Batch<boolean | SurewireError> & { prev: string }>();
  const appends = new Map<string, Batch<number>>();
  let flushing = false;
  const later = (): void => {
    if (!flushing) (flushing = true), process.nextTick(flush);
  };
  const refused = (id: string, seq: string, busy: boolean, left: number): SurewireError =>
    new SurewireError(
      'store',
      busy
        ? `redisStore: claiming message ${seq} of session ${id}: another process claimed it and may still hand it over (its lease ends in ${Math.max(0, left)} ms, or when it lets go); the connection is closed with 1013 and the client resends it later`
        : `redisStore: claiming message ${seq} of session ${id}: the session's record changed under this process (a newer $hello of it, another process claimed a message of it, or Redis lost it); the connection is closed with 1013 and the client resumes`,
    );
  /** The script calls of one tick: sent together (one write, one pipeline) at the end of `flush`. */
  type Op = { what: string; command: (string | number)[]; resolve: (r: unknown) => void; reject: (e: unknown) => void };
  let ops: Op[] = [];
  const queue = (what: string, script: Script, keys: string[], args: (string | number)[]): Promise<unknown> =>
    new Promise((resolve, reject) => void ops.push({ what, command: script.command(keys, args), resolve, reject }));
  const send = (batch: Op[]): void => {
    const [first] = batch;
    if (!first) return;
    const pipeline = client.pipeline;
    if (batch.length == 1 || !pipeline) {
      for (const o of batch) call(o.what, () => client.evalsha(...(o.command.slice(1) as [string, number, ...string[]]))).then(o.resolve, o.reject);
      return;
    }
    call(first.what, () => pipeline.call(client, batch.map((o) => o.command)).exec()).then(
      (results) =>
        batch.forEach((o, i) => {
          const [e, r] = results?.[i] ?? [new Error('no answer in the pipeline'), undefined];
          if (!e) return o.resolve(r);
          if (String(e.message).startsWith('NOSCRIPT')) loading = undefined;
          o.reject(failed(o.what, e));
        }),
      (e: unknown) => batch.forEach((o) => o.reject(o == first ? e : failed(o.what, (e as SurewireError).cause ?? e))),
    );
  };
  function flush(): void {
    flushing = false;
    const now = Date.now();
    for (const [id, b] of accepts) {
      const c = takeCommit(id);
      const { args } = b;
      // The next accept of this session (pipelined behind these) expects these to have stored.
      last.set(id, args[args.length - 1]!);
      const p = queue('claiming messages', scripts.accept, [rec(id), all], [keep, now, id, b.prev, token, epochs.get(id) ?? '', lease, c ? c.n : '', args.join(' ')]);
      commitWith(c, p);
      p.then(
        (r) => {
          // One character per number, then the ms left of a lease that makes them busy (scripts.ts: ACCEPT).
          const out = String(r);
          const answers: (boolean | SurewireError)[] = [];
          for (let i = 0; i < args.length; i++) {
            const v = out[i];
            answers.push(v == '1' ? true : v == '0' ? false : refused(id, args[i]!, v == 'b', Number(out.slice(out.indexOf(' ') + 1))));
          }
          if (out[args.length - 1] != '1' && last.get(id) == args[args.length - 1]) last.delete(id);
          b.resolve(answers);
        },
        b.reject,
      );
    }
    accepts.clear();
    // Commits with no claim to ride on: alone, one call per session.
    for (const [id, c] of commits) commitWith(c, queue('committing messages', scripts.accept, [rec(id), all], [keep, now, id, '*', token, '', lease, c.n]));
    commits.clear();
    for (const [id, b] of appends)
      queue('appending messages', scripts.append, [rec(id), hist(id), all], [history, ttl, keep, now, id, token, channel, max, takeTrim(id), b.args.join('\n')]).then(
        (r) => {
          const first = Number(r);
          if (first < 0) return b.reject(new SurewireError('store', `redisStore: no room for session ${id}: all ${max} sessions are in use (raise \`sessions\`)`));
          const offsets: number[] = [];
          for (let i = 0; i < b.args.length; i++) offsets.push(first + i);
          b.resolve(offsets);
        },
        b.reject,
      );
    appends.clear();
    const batch = ops;
    ops = [];
    send(batch);
  }

  // Fail at once rather than wait in ioredis's offline queue: the helper closes with 1013 and the client retries.
  // Calls in flight when the connection drops are failed here: with `autoResendUnfulfilledCommands: false`,
  // ioredis forgets them on reconnect without settling them. Such a call may or may not have run in Redis.
  const inFlight = new Set<(e: unknown) => void>();
  client.on('close', () => {
    const dropped = [...inFlight];
    inFlight.clear();
    for (const reject of dropped) reject(new Error('the connection to Redis closed with the call in flight'));
  });
  // A command goes out only on a ready connection: one written while ioredis connects may be dropped with
  // the command queue it resets. So a call waits (up to `timeout`) for a connecting client to be ready, and
  // fails at once while it is down (reconnecting).
  let ready: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  // The scripts, loaded on every ready connection (Redis may have restarted empty); calls wait for it.
  let loading: Promise<unknown> | undefined;
  const load = (): Promise<unknown> =>
    (loading = Promise.all(Object.values(scripts).map((x) => client.script('LOAD', x.lua))).catch(() => {
      loading = undefined;
    }));
  if (client.status === undefined || client.status == 'ready') void load();
  client.on('ready', () => {
    void load();
    ready = undefined;
    wake?.();
  });
  const whenReady = (): Promise<void> | undefined => {
    const s = client.status;
    if (s === undefined || s == 'ready') return undefined;
    if (s == 'reconnecting' || s == 'close' || s == 'end') throw new Error(`the connection to Redis is down (${s})`);
    return (ready ??= new Promise<void>((resolve) => {
      const t = setTimeout(() => wake?.(), timeout);
      wake = () => {
        clearTimeout(t);
        wake = ready = undefined;
        resolve();
      };
    }));
  };
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    if (closed) throw new SurewireError('store', `redisStore: ${what} after close()`);
    let reject!: (e: unknown) => void;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const dropped = new Promise<never>((_, r) => inFlight.add((reject = r)));
    dropped.catch(() => {});
    try {
      await whenReady();
      await (loading ?? load());
      if (client.status !== undefined && client.status != 'ready') throw new Error(`the connection to Redis is not ready (${client.status})`);
      const late = new Promise<never>((_, r) => (timer = setTimeout(() => r(new Error(`no answer within ${timeout} ms`)), timeout)));
      return await Promise.race([fn(), dropped, late]);
    } catch (e) {
      if (String((e as Error)?.message).startsWith('NOSCRIPT')) loading = undefined;
      throw failed(what, e);
    } finally {
      clearTimeout(timer);
      inFlight.delete(reject);
    }
  };

  const lost = (): void => {
    for (const w of watched.values()) w.listener({ type: 'lost' });
  };

  const onNews = (ch: string, text: string): void => {
    if (ch != channel) return;
    // 't <token> <id> <epoch>' | 'a <token> <id> <first offset>' and one message (JSON) per line after it
    const nl = text.indexOf('\n');
    const [kind, from, id, n] = (nl < 0 ? text : text.slice(0, nl)).split(' ');
    const w = from != token && id !== undefined ? watched.get(id) : undefined;
    if (!w) return;
    if (kind == 't') {
      const epoch = Number(n);
      if (w.reading) w.early.push(epoch);
      else if (epoch > w.epoch) w.listener({ type: 'takeover' });
      return;
    }
    if (kind != 'a' || nl < 0) return;
    let offset = Number(n);
    for (const line of text.slice(nl + 1).split('\n')) {
      const m = JSON.parse(line) as [string, ...unknown[]];
      w.listener({ type: 'append', offset: offset++, event: m[0], args: m.slice(1) });
    }
  };

  /**
   * The news connection, subscribed. A `$hello`'s read waits for it, so that no news of the session can be
   * missed between the read and the subscription, also after the news connection came back from a drop.
   */
  const subscribe = (): Promise<unknown> => {
    if (subscribed) return subscribed;
    if (!sub) {
      const s = (sub = client.duplicate());
      s.on('message', onNews);
      s.on('error', () => {});
      // What was published while the news connection was down is gone: every watched session is told (its
      // connection then resumes from the store), and the next `$hello` waits for the subscription again.
      s.on('close', () => {
        if (!subscribed) return;
        subscribed = undefined;
        lost();
      });
    }
    const s = sub;
    return (subscribed = s.subscribe(channel).catch((e: unknown) => {
      if (sub == s) subscribed = undefined;
      throw e;
    }));
  };

  function acceptBatched(id: string, seq: number): Promise<(boolean | SurewireError)[]> {
    let b = accepts.get(id);
    if (!b) accepts.set(id, (b = { ...batch<boolean | SurewireError>(), prev: last.get(id) ?? '*' })), later();
    b.args.push(String(seq));
    return b.promise;
  }
  /** Throws (for this call alone) when the arguments cannot be stored as JSON. */
  function appendBatched(id: string, event: string, args: unknown[]): Promise<number[]> {
    let m: string;
    try {
      m = JSON.stringify([event, ...args]);
    } catch (e) {
      throw new SurewireError('encode', `redisStore: the arguments of "${event}" cannot be stored as JSON (${(e as Error).message}): send plain data`, e);
    }
    let b = appends.get(id);
    if (!b) appends.set(id, (b = batch<number>())), later();
    b.args.push(m);
    return b.promise;
  }

  return {
    pipelined: true,
    async open(id, principal, create) {
      const w = watched.get(id);
      if (w) w.reading++;
      try {
        const r = (await call('opening the session', async () => {
          if (w) await subscribe();
          // This process's work on the session is finished before a `$hello` is read: its last commit goes first.
          const c = takeCommit(id);
          const p = scripts.open.run(client, [rec(id), hist(id), all], [ttl, keep, Date.now(), id, token, channel, principal, create ? 1 : 0, max, c ? c.n : '']);
          commitWith(c, p);
          return p;
        })) as [string, string, string | number, string, number, number, string];
        if (r[0] == 'none') return undefined;
        // What the client is welcomed with: the last number handed over (it resends everything after it).
        const seq = r[1] === '' ? null : Number(r[1]);
        const record: SessionRecord = { seq, offset: Number(r[2]), principal: String(r[3]), fresh: r[4] == 1 };
        if (r[0] == 'foreign') return record;
        epochs.set(id, Number(r[5]));
        last.set(id, String(r[6]));
        if (!w) return record;
        w.epoch = Math.max(w.epoch, Number(r[5]));
        if (w.early.some((e) => e > w.epoch)) queueMicrotask(() => w.listener({ type: 'takeover' }));
        return record;
      } finally {
        if (w && !--w.reading) w.early = [];
      }
    },
    async release(id) {
      await call('releasing the session', () => {
        const c = takeCommit(id);
        const p = scripts.release.run(client, [rec(id), hist(id)], [token, ttl, c ? c.n : '']);
        commitWith(c, p);
        return p;
      });
    },
    acceptBatched,
    accept(id, seq) {
      const i = accepts.get(id)?.args.length ?? 0;
      return acceptBatched(id, seq).then((answers) => {
        const a = answers[i]!;
        if (a instanceof Error) throw a;
        return a;
      });
    },
    lease: lease - Math.ceil(lease / 10),
    handled(id, seq) {
      let c = commits.get(id);
      if (!c) {
        let resolve!: () => void;
        let reject!: (e: unknown) => void;
        const promise = new Promise<void>((ok, fail) => ((resolve = ok), (reject = fail)));
        commits.set(id, (c = { n: seq, promise, resolve: () => resolve(), reject })), later();
      }
      c.n = Math.max(c.n, seq);
      return c.promise;
    },
    appendBatched,
    append(id, event, args) {
      const i = appends.get(id)?.args.length ?? 0;
      try {
        return appendBatched(id, event, args).then((offsets) => offsets[i]!);
      } catch (e) {
        return Promise.reject(e);
      }
    },
    async since(id, offset) {
      const r = await call('reading the history', () => scripts.since.run(client, [rec(id), hist(id)], [offset, takeTrim(id)]));
      if (!Array.isArray(r)) return undefined;
      const out: StoredMessage[] = [];
      for (const [entryId, fields] of r as [string, string[]][]) {
        const m = JSON.parse(fields[1]!) as [string, ...unknown[]];
        out.push({ offset: Number.parseInt(entryId, 10), event: m[0], args: m.slice(1) });
      }
      return out;
    },
    trim(id, offset) {
      // Not a call of its own: it rides on the session's next append or read (a second at most, or alone).
      trims.set(id, Math.max(trims.get(id) ?? 0, offset + 1));
      trimLater();
    },
    async sessions() {
      const now = Date.now();
      return call('listing sessions', async () => {
        await client.zremrangebyscore(all, '-inf', `(${now - keep}`);
        return client.zrangebyscore(all, now - keep, '+inf');
      });
    },
    watch(id, listener) {
      const w: Watch = { listener, epoch: 0, early: [], reading: 0 };
      watched.set(id, w);
      // Subscribed before the `$hello`'s read (which waits for it), so no news falls between the two.
      subscribe().catch(() => {});
      return () => {
        if (watched.get(id) != w) return;
        watched.delete(id);
        last.delete(id);
        epochs.delete(id);
      };
    },
    async close() {
      // Commits not sent yet go out first: otherwise a client that resends would find them claimed, not done.
      if (commits.size) flush();
      await Promise.all(committing);
      closed = true;
      clearTimeout(trimTimer);
      trims.clear();
      watched.clear();
      sub?.disconnect();
      sub = subscribed = undefined;
    },
  };
}
