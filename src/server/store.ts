/** One server → client message kept in a session's history. */
export interface StoredMessage {
  /** Its offset: 1 for the session's first, then one more per message. */
  offset: number;
  event: string;
  args: unknown[];
}

/** What a store knows of a session. */
export interface SessionRecord {
  /** The last client sequence number stored, or `null` when none was stored yet. */
  seq: number | null;
  /** The last server offset given out (0 for none). */
  offset: number;
}

/**
 * News of a session from another process sharing the store (see `Store.watch`):
 * - `append`: a message was appended to its history there;
 * - `takeover`: a `$hello` for it reached another process: the connection here is an old one;
 * - `lost`: the store can no longer tell news (its link to the other processes broke): resume from the store.
 */
export type StoreNews = { type: 'append'; offset: number; event: string; args: unknown[] } | { type: 'takeover' } | { type: 'lost' };

/**
 * Where `reliable()` keeps each session's state: the client's last sequence number (for deduplication)
 * and the server → client history (for replay). Every method may be async, so a shared store (Redis, SQL)
 * can back several server processes; a session then resumes on whichever process the client reaches.
 * `accept`, `append` and `trim` may also answer synchronously (a plain value, no promise): the helper then
 * stores, hands over and delivers a burst of messages without a promise or a microtask per message.
 *
 * Within one process, the helper never runs two `accept` calls of a session at once, nor two of its
 * `session`, `append`, `since` and `trim` calls (an `accept` may run alongside an `append`). Calls for
 * different sessions run concurrently; with several processes on one store, anything may overlap.
 *
 * The guarantees hold while the store keeps what it was given. When it loses a session (or rolls it
 * back), messages stored but not yet acknowledged to the client may be handed to `onMessage` again, and
 * the client gets a `discontinuity` for the server's stream (a connected one is closed with 1013 first).
 */
export interface Store {
  /**
   * The session's state, read at every `$hello`. A session the store does not know (new, expired, or
   * lost) is created, with `seq: null` and `offset: 0`, so that it is known from then on (to `sessions()`).
   */
  session(id: string): Promise<SessionRecord>;
  /**
   * Records `seq` as the session's last stored client sequence number; creates the session if needed. May
   * answer synchronously (no promise), which spares the helper a microtask per message. A store shared by
   * several processes answers `false` when the stored number is already at or above `seq` (another process
   * stored it): the message is then a duplicate, not handed to the app here.
   */
  accept(id: string, seq: number): Promise<void | boolean> | void | boolean;
  /** Appends a server → client message; creates the session if needed. Resolves with its offset (or returns it, synchronously). */
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
   * Optional, for a store shared by several processes: tells `listener` the news of a session from the other
   * processes until the returned function is called. The helper watches a session from its `$hello` here
   * (before the `$hello`'s `session()` read) until no connection of this process holds it: it delivers the
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
   * Sessions kept. Beyond this, the least recently used session is forgotten: its client is welcomed as
   * new (`seq: null`) and resends what it has not seen acknowledged. @default 10000
   */
  sessions?: number;
}

interface MemorySession {
  seq: number | null;
  offset: number;
  /** The messages kept: `log[i].offset == floor + 1 + i`. */
  log: StoredMessage[];
  /** The highest offset no longer kept (trimmed, or pushed out by `history`). */
  floor: number;
}

/**
 * The default store: everything in this process's memory, lost on restart (clients are then welcomed as
 * new sessions and resend what was not acknowledged; the server's history is gone, so they see a
 * `discontinuity`). Message arguments are kept by reference: do not mutate them after `send`.
 */
export function memoryStore(options: MemoryStoreOptions = {}): Omit<Store, 'accept'> & { readonly size: number; accept(id: string, seq: number): void } {
  const history = options.history ?? 1000;
  const max = options.sessions ?? 10_000;
  if (!(Number.isInteger(history) && history >= 0)) throw new TypeError(`surewire: memoryStore: \`history\` must be an integer >= 0, got ${history}`);
  if (!(Number.isInteger(max) && max >= 1)) throw new TypeError(`surewire: memoryStore: \`sessions\` must be an integer >= 1, got ${max}`);
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  const all = new Map<string, MemorySession>();
  // The most recently used session: using it again leaves the order as it is (a burst of one session's
  // messages costs no delete and re-insert per call).
  let last: MemorySession | undefined;
  const get = (id: string, create: boolean): MemorySession | undefined => {
    let s = all.get(id);
    if (s) {
      if (s !== last) {
        all.delete(id);
        all.set(id, s);
        last = s;
      }
    } else if (create) {
      all.set(id, (last = s = { seq: null, offset: 0, log: [], floor: 0 }));
      if (all.size > max) all.delete(all.keys().next().value!);
    }
    return s;
  };
  return {
    get size() {
      return all.size;
    },
    async session(id) {
      const s = get(id, true)!;
      return { seq: s.seq, offset: s.offset };
    },
    // accept, append and trim answer at once (no promise): the helper then stores, hands over and delivers a
    // burst without a microtask per message.
    accept(id, seq) {
      get(id, true)!.seq = seq;
    },
    append(id, event, args) {
      const s = get(id, true)!;
      s.log.push({ offset: ++s.offset, event, args });
      // One in, one out at the front: shift() is done in place, where splice(0, 1) copies the whole log.
      while (s.log.length > history) s.log.shift(), s.floor++;
      return s.offset;
    },
    async since(id, offset) {
      const s = get(id, false);
      if (!s || offset < s.floor || offset > s.offset) return undefined;
      return s.log.slice(offset - s.floor);
    },
    trim(id, offset) {
      const s = get(id, false);
      if (!s) return;
      const n = Math.min(offset, s.offset) - s.floor;
      if (n > 0) s.log.splice(0, n), (s.floor += n);
    },
    async sessions() {
      return [...all.keys()];
    },
  };
}
