import { OptionError, SurewireError } from '../errors';

/** One server → client message kept in a session's history. */
export interface StoredMessage {
  /** Its offset: 1 for the session's first, then one more per message. */
  offset: number;
  event: string;
  args: unknown[];
}

/** What `Store.open` answers for a session. */
export interface SessionRecord {
  /** The last client sequence number stored, or `null` when none was stored yet. */
  seq: number | null;
  /** The last server offset given out (0 for none). */
  offset: number;
  /** The principal the session is bound to (the caller's, unless the session belongs to someone else). */
  principal: string;
  /**
   * `true` when this `open` created the session, or bound it for the first time (it was created by
   * `append`, for a client that had not said `$hello` yet). The helper reads it to count new sessions, and to
   * tell a client that resumes a session it had (`$hello`'s third argument) that the server lost it.
   */
  fresh: boolean;
}

/**
 * News of a session from another process sharing the store (see `Store.watch`):
 * - `append`: a message was appended to its history there;
 * - `takeover`: a `$hello` for it reached another process: the connection here is an old one;
 * - `lost`: the store can no longer tell news (its link to the other processes broke): resume from the store.
 */
export type StoreNews =
  | {
      /** Another process appended a message to the session's history. */
      type: 'append';
      /** Its offset. */
      offset: number;
      /** Its event name. */
      event: string;
      /** Its arguments. */
      args: unknown[];
    }
  | {
      /** Another process took the session over (its client said `$hello` there). */
      type: 'takeover';
    }
  | {
      /** The store lost the session (expired, or its state was reset). */
      type: 'lost';
    };

/**
 * Where `reliable()` keeps each session's state: its owner (the principal it is bound to), the client's
 * last sequence number (for deduplication) and the server → client history (for replay). Every method may be
 * async, so a shared store (Redis, SQL) can back several server processes; a session then resumes on
 * whichever process the client reaches. `accept`, `append`, `trim` and `release` may also answer
 * synchronously (a plain value, no promise): the helper then stores, hands over and delivers a burst of
 * messages without a promise or a microtask per message.
 *
 * Within one process, the helper never runs two `accept` calls of a session at once, nor two of its `open`,
 * `append`, `since`, `trim` and `release` calls (an `accept` may run alongside an `append`). Calls for
 * different sessions run concurrently; with several processes on one store, anything may overlap: each
 * method must then be atomic on its own (`open`'s check-and-bind and `append`'s offset above all).
 *
 * **Holding.** A session is *held* by a process from an `open` that answers with the caller's principal
 * until that process's `release`: it has a connection there, or work in progress (a handler running,
 * messages being stored or delivered). A store must not forget a held session, whatever its limits: it
 * refuses new sessions instead (`open` answers `undefined`, `append` throws). `open` and `release` are
 * per process and idempotent (a second `open` of a held session is a takeover, not a second hold). A store
 * shared by several processes keeps a session while any of them holds it; since a process that dies never
 * releases, it may give holds a long expiry.
 *
 * **Forgetting.** A session that is not held may be forgotten (a limit, an expiry). The store should forget
 * first those that owe nothing: released `settled` (the client has had every stored sequence number
 * acknowledged, so it resends nothing) and with every message acknowledged (or trimmed). A session that
 * owes server messages may be forgotten when a limit forces it: its client is told (`discontinuity`) at
 * its next `$hello`. One released unsettled may have a message handed to the app again if forgotten (its
 * client resends what it has not seen acknowledged): forget such a session only after a long idle time.
 * A session forgotten and opened again is a new one (`fresh`, `seq: null`, `offset: 0`).
 */
export interface Store {
  /**
   * Opens the session at a `$hello`, after the app's `authenticate` named the `principal` (`''` without it):
   * - unknown: with `create`, created bound to `principal` (`seq: null`, `offset: 0`, `fresh: true`) and
   *   held; without `create` (the helper's rate limit for new sessions), or when the store is full of held
   *   sessions, `undefined` and nothing is created;
   * - known and bound to `principal`, or not bound yet (created by `append`; it is bound now, `fresh: true`):
   *   its record, and it is held;
   * - known and bound to another principal: its record with that principal, and nothing else changes (not
   *   held, not counted as used): the helper refuses the `$hello`.
   *
   * Check, create and bind are one atomic step (two processes opening a new session at once: one creates
   * it, the other reads it).
   */
  open(id: string, principal: string, create: boolean): Promise<SessionRecord | undefined>;
  /**
   * The session is no longer held by this process (no connection, nothing in progress here). `settled`:
   * every client sequence number stored was acknowledged on a connection (`$ack` or `$welcome`), so the
   * client is not expected to resend any. May answer synchronously. Optional: a store without it never
   * learns that a session is idle (it must then forget sessions by other means, such as an expiry).
   */
  release?(id: string, settled: boolean): Promise<void> | void;
  /**
   * Records `seq` as the session's last stored client sequence number. Called only for a session the
   * helper holds. May answer synchronously (no promise), which spares the helper a microtask per message. A
   * store shared by several processes answers `false` when the stored number is already at or above `seq`
   * (another process stored it): the message is then a duplicate, not handed to the app here.
   */
  accept(id: string, seq: number): Promise<void | boolean> | void | boolean;
  /**
   * Optional, with `lease`, for a store shared by several processes that must lose no client message when a
   * process dies: `accept` then *claims* a number for this process rather than storing it for good, and
   * `handled` commits it once the app's handler has returned (or settled, for a promise): every number up
   * to `seq` was handed to the app here. `open` then answers with the last number committed as `seq`, so that
   * the client resends what was claimed and not handed over; `accept` answers `false` for a committed number
   * (a duplicate), and `true` for a number claimed by a process that is gone once its claim has ended
   * (`lease`). May answer synchronously; a rejection is told to `onError`. A store without it (the memory
   * store) stores in `accept`, as above.
   */
  handled?(id: string, seq: number): Promise<void> | void;
  /**
   * With `handled`: how long, in ms from an `accept` call, the helper may hand the claimed message over. Past
   * it (the store answered late) the message is not handed over: the connection is closed with 1013 and the
   * client resends it, to whichever process then holds the claim. A store shares a claim with no other
   * process for at least this long after it was made.
   */
  readonly lease?: number;
  /**
   * Appends a server → client message; resolves with its offset (or returns it, synchronously). Creates an
   * unknown session (not bound to anyone yet; the first `open` binds it). Throws (or rejects) a
   * `SurewireError` with code `store` when it cannot make room for a new session.
   */
  append(id: string, event: string, args: unknown[]): Promise<number> | number;
  /**
   * Every message after `offset`, in order (an empty array when there is none), or `undefined` when the
   * history no longer reaches back to `offset` (or the session is unknown, or `offset` is beyond its last).
   */
  since(id: string, offset: number): Promise<StoredMessage[] | undefined>;
  /** The client has everything up to `offset`: the store may drop those messages. Optional. */
  trim?(id: string, offset: number): Promise<void> | void;
  /** Every session id the store knows, for `broadcast`. Optional. */
  sessions?(): Promise<Iterable<string>>;
  /**
   * `true` when the store takes overlapping calls of one session and answers them in the order they were
   * made (one connection to a server that runs each call atomically, like Redis). The helper then sends a
   * burst's accepts and appends without waiting for each answer (one round trip per burst, not per message);
   * otherwise it waits, as the rules above say. @default false
   */
  readonly pipelined?: boolean;
  /**
   * Optional, with `pipelined`: `accept` answered by batch. The helper then calls it in place of `accept`, once per
   * number as it would `accept`, and the store may answer the calls of one session that go out together (those
   * of one tick, say) with one promise: the same object for each call of the batch, resolved with their answers
   * in the order of the calls, each what `accept` would have resolved with (`true`, `false` or `undefined`), or
   * the `Error` it would have rejected with. A rejection fails every call of the batch. A promise not seen before
   * starts a new batch (one per call is allowed: a batch of one). The helper reacts once per batch rather than
   * once per message: a burst costs no promise per message.
   */
  acceptBatched?(id: string, seq: number): Promise<readonly (void | boolean | Error)[]>;
  /**
   * Optional, with `pipelined`: `append` answered by batch, as `acceptBatched`. The helper calls it in place of
   * `append`, once per message; the store may answer the calls of one session that go out together with one
   * promise (the same object), resolved with their offsets in the order of the calls, or rejected (every call of
   * the batch fails). A call may also throw, for itself alone (its arguments cannot be stored).
   */
  appendBatched?(id: string, event: string, args: unknown[]): Promise<readonly number[]>;
  /**
   * Optional, for a store shared by several processes: tells `listener` the news of a session from the other
   * processes until the returned function is called. The helper watches a session from its `$hello` here
   * (before the `$hello`'s `open()`) until no connection of this process holds it: it delivers the
   * messages appended elsewhere, and closes its connection on a takeover elsewhere (1001) or when the news is
   * lost (1013). News of this process's own calls is not told.
   */
  watch?(id: string, listener: (news: StoreNews) => void): () => void;
}

/** Options of `memoryStore()`. */
export interface MemoryStoreOptions {
  /**
   * Messages kept per session, acknowledged or not. A client that falls further behind than this resumes
   * with `resumed: false` (a `discontinuity`). @default 1000
   */
  history?: number;
  /**
   * Sessions kept. A new session beyond this makes room by forgetting an idle one (not held: no connection,
   * nothing in progress), the least recently used first among, in this order: those that owe nothing; those
   * that owe server messages (their client gets a `discontinuity`); those released unsettled and idle for
   * longer than `resendGrace`. With none of these, the new session is refused (the client is closed with
   * 1013 and tries again later). @default 10000
   */
  sessions?: number;
  /**
   * How long, in ms, an idle session whose client may still resend handled messages (released unsettled)
   * is safe from being forgotten to make room: forgetting it earlier could hand such a message to the app
   * twice. @default 3600000 (an hour)
   */
  resendGrace?: number;
}

interface MemorySession {
  seq: number | null;
  offset: number;
  /** The messages kept: `log[i].offset == floor + 1 + i`. */
  log: StoredMessage[];
  /** The highest offset no longer kept (trimmed, or pushed out by `history`). */
  floor: number;
  /** `null` until the first `open` binds it. */
  principal: string | null;
  /** Which idle list it is on, or `undefined` while held. */
  idle: Map<string, MemorySession> | undefined;
  /** When it was last released. */
  at: number;
}

const count = (name: string, v: unknown, min: number): number => {
  if (typeof v == 'number' && v >= min && (Number.isInteger(v) || v == Infinity)) return v;
  throw new OptionError(name, v, `an integer >= ${min}`);
};

/** What `memoryStore()` returns: a `Store` whose `accept` answers at once, and how many sessions it holds. */
export interface MemoryStore extends Store {
  /** Sessions kept now. */
  readonly size: number;
  /** Records `seq` as the session's last stored client sequence number, at once (no promise). */
  accept(id: string, seq: number): void;
}

/**
 * The default store: everything in this process's memory, lost on restart (clients are then welcomed as
 * new sessions and resend what was not acknowledged; the server's history is gone, so they see a
 * `discontinuity`). It serves one `reliable()` server. Message arguments are kept by reference: do not
 * mutate them after `send`.
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const history = count('history', options.history ?? 1000, 0);
  const max = count('sessions', options.sessions ?? 10_000, 1);
  const grace = count('resendGrace', options.resendGrace ?? 3_600_000, 0);
  const all = new Map<string, MemorySession>();
  // Idle sessions by what forgetting them costs, each least recently released (or used) first: a Map
  // iterates in insertion order. Held sessions are on none of them, so using one costs no reordering.
  const owesNothing = new Map<string, MemorySession>();
  const owesMessages = new Map<string, MemorySession>();
  const unsettled = new Map<string, MemorySession>();
  const list = (s: MemorySession, l: Map<string, MemorySession> | undefined, id: string): void => {
    s.idle?.delete(id);
    s.idle = l;
    l?.set(id, s);
  };
  // An idle session that gains or loses unacknowledged messages changes list (unsettled ones stay put).
  const relist = (id: string, s: MemorySession): void => {
    if (s.idle && s.idle != unsettled) list(s, s.log.length ? owesMessages : owesNothing, id);
  };
  const room = (): boolean => {
    if (all.size < max) return true;
    let victim = owesNothing.keys().next().value ?? owesMessages.keys().next().value;
    if (victim === undefined) {
      const [id, s] = unsettled.entries().next().value ?? [];
      if (s && Date.now() - s.at >= grace) victim = id;
    }
    if (victim === undefined) return false;
    list(all.get(victim)!, undefined, victim);
    all.delete(victim);
    return true;
  };
  const create = (id: string, principal: string | null): MemorySession | undefined => {
    if (!room()) return undefined;
    const s: MemorySession = { seq: null, offset: 0, log: [], floor: 0, principal, idle: undefined, at: Date.now() };
    all.set(id, s);
    return s;
  };
  return {
    get size() {
      return all.size;
    },
    async open(id, principal, mayCreate) {
      let s = all.get(id);
      let fresh = false;
      if (!s) {
        if (!mayCreate || !(s = create(id, principal))) return undefined;
        fresh = true;
      } else if (s.principal === null) {
        s.principal = principal;
        fresh = true;
      } else if (s.principal !== principal) {
        return { seq: s.seq, offset: s.offset, principal: s.principal, fresh: false };
      }
      list(s, undefined, id);
      return { seq: s.seq, offset: s.offset, principal, fresh };
    },
    // release, accept, append and trim answer at once (no promise): the helper then stores, hands over and
    // delivers a burst without a microtask per message.
    release(id, settled) {
      const s = all.get(id);
      if (!s || s.idle) return;
      s.at = Date.now();
      list(s, !settled ? unsettled : s.log.length ? owesMessages : owesNothing, id);
    },
    accept(id, seq) {
      const s = all.get(id);
      if (s) s.seq = seq;
    },
    append(id, event, args) {
      let s = all.get(id);
      if (!s) {
        s = create(id, null);
        if (!s) throw new SurewireError('store', `memoryStore: no room for session ${id}: all ${max} sessions are in use (raise \`sessions\`)`);
        list(s, owesMessages, id);
      }
      s.log.push({ offset: ++s.offset, event, args });
      // One in, one out at the front: shift() is done in place, where splice(0, 1) copies the whole log.
      while (s.log.length > history) s.log.shift(), s.floor++;
      if (s.idle == owesNothing) relist(id, s);
      return s.offset;
    },
    async since(id, offset) {
      const s = all.get(id);
      if (!s || offset < s.floor || offset > s.offset) return undefined;
      return s.log.slice(offset - s.floor);
    },
    trim(id, offset) {
      const s = all.get(id);
      if (!s) return;
      const n = Math.min(offset, s.offset) - s.floor;
      if (n > 0) s.log.splice(0, n), (s.floor += n);
      if (!s.log.length && s.idle == owesMessages) relist(id, s);
    },
    async sessions() {
      return [...all.keys()];
    },
  };
}
