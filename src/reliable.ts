import { check, MAX_TIMER, type Rule } from './check';
import { CloseCode } from './close-codes';
import { frameSize, isBinary, type Codec, type Packet } from './codec';
import type { LifecycleEvents } from './connection';
import { OptionError, show, SurewireError } from './errors';
import type { QueueConfig } from './outbox';
import { canStore, type Transport, type TransportConnection, type TransportContext } from './transport';
import type { Unsubscribe } from './types';
import { emitter } from './emitter';

/** Options of `reliable()`. A wrong one is an `OptionError` naming it (`reliable.window`, …). */
export interface ReliableOptions {
  /**
   * The session id: 1–64 characters of `[A-Za-z0-9_-]`. It is a bearer secret: a server that does not check
   * who owns a session (`surewire/server` without a principal check) takes only ids of 22 characters or more.
   * @default 22 random characters (128 bits from `crypto.getRandomValues`), kept in `queue.storage` when there is one
   */
  session?: string;
  /** How long to wait before acknowledging the server's messages, so that one `$ack` covers a burst, in ms. @default 20 */
  ackDelay?: number;
  /**
   * The largest message frame, in UTF-8 bytes (over socket.io: the packet's JSON plus its binary data).
   * `send` refuses a larger message at once (an `encode` error), which the server would otherwise refuse on
   * every reconnect, since a reliable message is sent until it is acknowledged. The default sits below
   * `surewire/server`'s `maxFrame` (1 MiB) and socket.io's `maxHttpBufferSize` (1e6), with room for their
   * framing; keep it below the server's limit. @default 990000
   */
  maxFrame?: number;
  /**
   * The most messages on the wire without an acknowledgement; the next ones wait (kept like the others)
   * until acknowledgements make room. Keep it below the server's `maxPending` (4000), which closes a
   * connection that floods it. A deep window keeps a backlog flowing in large batches, which costs the browser
   * less per message than a trickle between acknowledgements. @default 3600
   */
  window?: number;
  /**
   * How long to wait for the server's `$welcome` after the `$hello`, in ms. A server that opens the socket but
   * does not answer does not speak the protocol: the client reports a `protocol` error, closes the socket
   * (4003) and tries again after the backoff. Keep it below the client's `connectTimeout`, which also covers
   * this wait. @default 5000
   */
  helloTimeout?: number;
}

/** Events of the reliable layer. */
export interface ReliableEvents {
  /**
   * The server could not replay what the client missed, or lost the session (a `$welcome` with
   * `resumed: false`): offsets after `from`, up to `to`, will not come. Refetch. After a server that lost
   * the session, `to` may be below `from` (its numbering started again).
   */
  discontinuity: (info: { from: number; to: number }) => void;
  /** A message given up: the server closed with 1009 twice with it on the wire (`reason: 'too-big'`). */
  drop: LifecycleEvents['drop'];
}

/**
 * The client side of PROTOCOL.md, given to one client as its `reliable` option. It wraps the client's
 * transport and codec, so a client without it carries none of its code.
 */
export interface Reliable {
  /**
   * Resolves once the server has stored every message sent before the call, or the message was dropped
   * (the client's `drop` event, or this one's, reports that). With `queue.storage`, what is not delivered
   * when the page goes continues on the next load.
   */
  delivered(): Promise<void>;
  on<E extends keyof ReliableEvents>(event: E, listener: ReliableEvents[E]): Unsubscribe;
  off<E extends keyof ReliableEvents>(event: E, listener?: ReliableEvents[E]): void;
  /** The session id, known once a client uses this. */
  readonly session: string | undefined;
  /**
   * Called by the client it is given to; a `Reliable` serves one client. Another may take it over when that one
   * has no connection (closed, or waiting to reconnect), starting from what `queue.storage` holds.
   */
  wrap(transport: Transport, codec: Codec<unknown>, queue: QueueConfig | false): Transport;
}

type Config = Required<Omit<ReliableOptions, 'session'>> & ReliableOptions;

const isId = (v: unknown): boolean => typeof v == 'string' && /^[\w-]{1,64}$/.test(v);
// Every number that crosses the wire or comes out of storage: a safe integer, not negative.
const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

const rules: { [k: string]: Rule } = {
  session: [isId, '1 to 64 of A-Z a-z 0-9 _ -'],
  ackDelay: [0, MAX_TIMER],
  maxFrame: 1,
  window: 1,
  helloTimeout: [1, MAX_TIMER],
};

// What the codec hands the client for a frame that is the protocol's own: no event, no reply, nothing to do.
const nothing: Packet = { args: [] };

// `["$m", n, event, ...args]` → the app's message.
const unwrap = (p: Packet): Packet => ({ event: p.args[1] as string, args: p.args.slice(2) });

const ONE = 'a reliable() serves one client; make one per client';

// 128 bits of a CSPRNG as 22 characters of base64url; never Math.random, since the id is the session's key.
// A runtime without `crypto` (Node 18) needs the `session` option.
const newSession = (): string => {
  if (!globalThis.crypto) throw new OptionError('reliable.session', undefined, 'a session id (no crypto here)');
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))))
    .slice(0, 22)
    .replace(/\+/g, '-')
    .replace(/\//g, '_');
};

// The size the server counts: the text or binary frame, or a socket.io packet's JSON plus its binary parts
// (read from `this[k]`, since JSON.stringify has already turned a Node Buffer into an object in `v`).
const size = (f: unknown): number => {
  if (typeof f != 'object' || isBinary(f)) return frameSize(f);
  let n = 0;
  const json = JSON.stringify((f as Packet).args, function (this: Record<string, unknown>, k, v: unknown) {
    const x = this[k];
    return isBinary(x) ? ((n += frameSize(x)), 0) : v;
  });
  return frameSize(json) + n;
};

/**
 * Exactly-once, in-order delivery of the client's messages across dropped connections (and page reloads,
 * with `queue.storage`), and a server stream resumed where it stopped: the client side of PROTOCOL.md.
 * The server must speak the protocol (`surewire/server` does). Every number the server sends is checked:
 * a server that breaks the protocol gets a `protocol` error and its connection closed (4003), with nothing
 * acknowledged, forgotten or moved.
 *
 * @example
 * const delivery = reliable();
 * const chat = new Surewire(url, { reliable: delivery, queue: { storage: localStorage } });
 * chat.send('message', 'hi');
 * await delivery.delivered(); // the server has stored it
 * @throws {OptionError} when an option is invalid, naming it
 */
export function reliable(options: ReliableOptions = {}): Reliable {
  const o = check(options as Record<string, unknown>, 'reliable.', rules, { ackDelay: 20, maxFrame: 99e4, window: 3600, helloTimeout: 5000 }) as Config;
  const ev = emitter();
  let session: string | undefined;
  // The last sequence number given out, the last one the server acknowledged, the last server offset delivered.
  let seq = 0;
  let acked = 0;
  let seen = 0;
  // The highest sequence number handed to a socket (after a reload, the saved `seq`): the server cannot have
  // stored anything above it, so a `$welcome` or `$ack` beyond it is a lie.
  let top = 0;
  // Whether this session said `$hello` before (on this page, or before a reload): the server then knows
  // that a session it does not have is one it lost.
  let resuming = false;
  // Sequenced frames handed to this layer and not acknowledged yet, in order, numbered without gaps (see
  // `send`); the first `wire` of them are on the current connection's wire, the rest wait for room in the window.
  let unacked: [number, unknown][] = [];
  let wire = 0;
  // Frames made but not handed to a socket yet (in the outbox), oldest first, each followed by its sequence
  // number, from index `head` on. The outbox hands them on in the order they were made, so the one looked for
  // is almost always at `head`: taken by moving `head` (splice there would copy the whole backlog per frame).
  let made: unknown[] = [];
  let head = 0;
  // Takes a frame out of `made`: its sequence number, or undefined when it is not one of them.
  const take = (f: unknown): number | undefined => {
    const i = made.indexOf(f, head);
    if (i < 0) return;
    const n = made[i + 1] as number;
    // The taken part is cut once it is the bigger half, so that a queue that never empties does not grow for ever.
    if (i > head) made.splice(i, 2);
    else if ((head += 2) * 2 > made.length) (made = made.slice(head)), (head = 0);
    return n;
  };
  let waiters: [number, () => void][] = [];
  // Whether the client it serves has no connection left (it closed it, or the connection ended): only then may
  // another client take this over, starting from what is in storage (a tab that leads again, in surewire/share).
  let gone = false;
  // Which wrap is the current one: a client taken over (a newer wrap) may not connect again.
  let owner = 0;
  // The connection that said hello and waits for, or got, its welcome (`c` the transport's, `w` the one the
  // client holds). `ready` once its welcome is handled: only then may app messages go on it, after the resent ones.
  let live:
    | { ctx: TransportContext; c: TransportConnection; w: TransportConnection; info: { recovered?: boolean } | undefined; ready?: boolean }
    | undefined;

  // A message is pending until acknowledged or dropped: `delivered()` waits for those made before it.
  const settle = (): void => {
    const low = Math.min(unacked.length ? unacked[0]![0] : Infinity, made.length > head ? (made[head + 1] as number) : Infinity);
    // Waiters are in increasing order: resolved from the front, without a new array per acknowledgement.
    while (waiters.length && waiters[0]![0] < low) waiters.shift()![1]();
  };

  return {
    get session() {
      return session;
    },
    on: ev.on,
    off: ev.off,
    delivered: () =>
      new Promise((resolve) => {
        waiters.push([seq, resolve]);
        settle();
      }),
    wrap(inner, codec, queue) {
      if (session && !gone) throw new SurewireError('option', ONE);
      const me = ++owner;
      // Taken over: what the last client had not handed on is its own; the rest is read from storage below.
      (made = []), (head = 0);
      const storage = queue ? queue.storage : undefined;
      const key = (queue ? queue.key : 'surewire:outbox') + ':reliable';
      // Set by surewire/share: the state may lag what the server has (a leading tab that crashed wrote more than
      // the other tabs heard of), so a `$welcome` above the last number handed on is taken as acknowledged.
      const behind = (inner as { behind?: boolean }).behind;
      let saving = false;
      let ackTimer: ReturnType<typeof setTimeout> | undefined;
      let helloTimer: ReturnType<typeof setTimeout> | undefined;
      // An error found while the client is being made, told to the first connection attempt (after the
      // constructor has returned, so that listeners added right after it hear it).
      let early: SurewireError | undefined;
      // The frame the client is about to decode to report it dropped: one of ours, not the server's.
      let own: unknown;
      // The frame that was the largest on the wire at the last 1009 close.
      let suspect: unknown;

      const save = (): void => {
        if (!storage || saving) return;
        saving = true;
        queueMicrotask(() => {
          saving = false;
          const write = (u: unknown[]): void => storage.setItem(key, JSON.stringify([session, seq, acked, seen, u]));
          try {
            // What the outbox would not store (binary, socket.io packets with binary data) stays in memory.
            write(unacked.filter(([, f]) => canStore(inner, f)));
          } catch {
            // A full storage (the outbox reports it): the numbers at least stay right, or the next page load
            // would take the server's for a lie. The messages themselves go on in memory.
            try {
              write([]);
            } catch {
              // nothing more to do
            }
          }
        });
      };
      // Puts waiting messages on the wire while the window has room.
      const fill = (): void => {
        while (live?.ready && wire < o.window && wire < unacked.length) {
          const e = unacked[wire++]!;
          if (e[0] > top) top = e[0];
          live.c.send(e[1]);
        }
      };
      const ack = (n: number): void => {
        if (n > acked) acked = n;
        // One splice for all it acknowledges: shift() per message copies a backlog too big for V8 to trim in place.
        let k = 0;
        while (k < unacked.length && unacked[k]![0] <= n) k++;
        unacked.splice(0, k);
        wire = Math.max(0, wire - k);
        settle();
        save();
        fill();
      };
      const put = (p: Packet): unknown => live?.c.send(codec.encode(p));
      // The number of the last message handed on.
      const last = (): number => (unacked.length ? unacked[unacked.length - 1]![0] : acked);
      // The connection's end, from whichever side: this layer forgets it.
      const down = (ctx: TransportContext): void => {
        gone = true;
        if (live?.ctx == ctx) live = undefined;
        clearTimeout(helloTimer);
        clearTimeout(ackTimer);
        ackTimer = undefined;
      };
      // The server broke the protocol: reported, and the connection replaced, with the state left as it was.
      const fail = (m: string): Packet => {
        const l = live;
        if (l) {
          // The URL without credentials or query (a token is often there).
          l.ctx.error(new SurewireError('protocol', `${l.ctx.url.split(/[?#]/)[0]!.replace(/\/\/[^/]*@/, '//')} ${m}`));
          // Unless an error listener closed or replaced it already.
          if (live == l) l.w.close(CloseCode.protocol, (m = 'protocol violation')), l.ctx.close(CloseCode.protocol, m);
        }
        return nothing;
      };
      const bad = (frame: string, v: unknown, expected: string): Packet => fail(`sent ${frame} ${show(v)}, expected ${expected}`);
      // A 1009 close: one frame on the wire is over the server's limit. The largest one is dropped once it
      // was the largest at two such closes in a row (the first could have been a request's), so that it
      // cannot come back at the head of every reconnect.
      const tooBig = (): void => {
        let i = -1;
        let max = 0;
        for (let j = 0; j < wire; j++) {
          const z = size(unacked[j]![1]);
          if (z > max) (max = z), (i = j);
        }
        const e = unacked[i];
        if (!e || e[1] !== suspect) return void (suspect = e?.[1]);
        unacked.splice(i, 1);
        wire--;
        ack(0); // settles delivered() and saves (the connection is down: nothing goes on the wire)
        ev.emit('drop', { message: unwrap(codec.decode(e[1])), frame: e[1], reason: 'too-big' });
      };

      try {
        const saved = storage?.getItem(key);
        if (saved) {
          // [session, seq, acked, seen, [[n, frame], …]]: numbers that the protocol allows, frames in
          // increasing order within (acked, seq], each an `$m` with its own number (what the codec decodes
          // as one: a frame of another transport is not). Anything else throws on the way (what is not an
          // array cannot be destructured, nor its entries read).
          const s = JSON.parse(saved);
          const [id, q, a, v, u] = s;
          let prev = a;
          let p: Packet;
          if (
            !(
              isId(id) &&
              isCount(q) &&
              isCount(a) &&
              isCount(v) &&
              a <= q &&
              (u as [number, unknown][]).every(
                ([n, f]) => isCount(n) && n > prev && (prev = n) <= q && (p = codec.decode(f)).event == '$m' && p.args[0] === n,
              )
            )
          )
            throw 0; // no cause to tell: the shape is wrong
          if (!o.session || id == o.session) ([session, seq, acked, seen, unacked] = s), (top = seq), (resuming = true);
        }
      } catch (e) {
        early = new SurewireError('storage', `bad saved state in queue.storage "${key}": discarded, new session`, e === 0 ? undefined : e);
      }
      session ??= o.session ?? newSession();
      if (early) save();

      const wrapped: Codec<unknown> = {
        encode(p) {
          // App events are sequenced; requests, replies and the protocol's own frames are not.
          if (p.id != null || p.event == null) return codec.encode(p);
          // `$` names are the protocol's: the server would close the connection for good.
          if (p.event[0] == '$') throw new SurewireError('encode', `"${p.event}" is reserved (event names starting with $)`);
          // Over WebSocket the event `binary` is a bare binary frame, with no room for a sequence number (socket.io
          // packets carry binary inside): refused rather than sent unsequenced, or mangled by JSON.
          if (p.event == 'binary' && !inner.codec)
            throw new SurewireError('encode', 'a binary frame has no room for a sequence number');
          // With nothing made and not handed on, numbering goes on from the last number handed on (which
          // `send` may have lowered): no frame needs renumbering then. Waiters keep their meaning: everything
          // made so far is handed on, at or below it.
          if (made.length == head && seq > (seq = last())) for (const w of waiters) if (w[0] > seq) w[0] = seq;
          const f = codec.encode({ event: '$m', args: [seq + 1, p.event, ...p.args] });
          const z = size(f);
          if (z > o.maxFrame)
            throw new SurewireError('encode', `"${p.event}" is ${z} bytes, over reliable.maxFrame (${o.maxFrame}): split it`);
          made.push(f, ++seq);
          save();
          return f;
        },
        decode(f) {
          const p = codec.decode(f);
          const [n, a, b] = p.args as [unknown, unknown, unknown];
          if (f === own) {
            own = undefined;
            return p.event == '$m' ? unwrap(p) : p;
          }
          const l = live;
          switch (p.event) {
            case '$m':
              // On one connection the server's offsets go up by one, from its welcome on.
              if (!l?.ready || n !== seen + 1 || !isCount(n)) return bad('$m', n, `${seen + 1} after $welcome`);
              seen = n as number;
              save();
              ackTimer ??= setTimeout(() => {
                ackTimer = undefined;
                put({ event: '$ack', args: [seen] });
              }, o.ackDelay);
              return unwrap(p);
            case '$ack':
              if (!l?.ready || !isCount(n) || n > top) return bad('$ack', n, `≤ ${top} after $welcome`);
              ack(n);
              return nothing;
            case '$welcome':
              if (!l) return nothing;
              if (l.ready || !(n === null || (isCount(n) && (n <= top || behind))) || !isCount(a) || typeof b != 'boolean' || (b && a < seen))
                return bad('$welcome', p.args, `[null or ≤ ${top}, offset (≥ ${seen} if resumed), boolean] once`);
              clearTimeout(helloTimer);
              // Not resumed: the server cannot replay from our offset (its history is gone, or the session is).
              if (!b) ev.emit('discontinuity', { from: seen, to: (seen = a) });
              if (live != l) return nothing; // a listener closed the client
              // What the server has not stored goes again, in order, before the outbox (which open() flushes).
              l.ready = true;
              wire = 0;
              // Numbering goes on after the server's number (`behind` only): none of its numbers is given again.
              if ((n as number) > top) seq = top = n as number;
              ack(n ?? 0);
              l.ctx.open(l.info);
              return nothing;
          }
          return p;
        },
      };

      return {
        ...inner,
        codec: wrapped,
        connect(ctx) {
          // Taken over by another client: the same mistake, seen from the other client.
          if (me != owner) throw new SurewireError('option', ONE);
          gone = false;
          if (early) ctx.error(early), (early = undefined);
          let c: TransportConnection | undefined;
          let opened: { recovered?: boolean } | undefined | false = false;
          const w: TransportConnection = {
            send(f) {
              // Before the welcome, a message would overtake the resent ones: the outbox keeps it until then.
              if (live?.ctx != ctx || !live.ready) return false;
              let n = take(f);
              const l = last();
              // Only a frame the outbox restored from storage on this page load can be ours and unknown: its
              // sequence number is inside. Without storage nothing is restored, so nothing is decoded.
              if (n === undefined && storage) {
                try {
                  const p = codec.decode(f);
                  if (p.event == '$m') n = p.args[0] as number;
                } catch {
                  // not a frame of ours
                }
                // At or below the last number handed on, it was handed on before (numbers only ever go down
                // when renumbered); a number that is not one is a corrupt entry.
                if (n !== undefined && !(isCount(n) && n > l)) {
                  if (!isCount(n)) ctx.error(new SurewireError('storage', `a saved message numbered ${show(n)} is corrupt: dropped`));
                  return true;
                }
              }
              if (n === undefined) return c!.send(f);
              // Numbered without gaps as handed on: the numbers of messages dropped unsent go to the next ones,
              // so that no run of drops makes a jump the server refuses (PROTOCOL.md: at most 1000).
              if (n != l + 1) {
                const p = codec.decode(f);
                p.args[0] = n = l + 1;
                f = codec.encode(p);
              }
              unacked.push([n, f]);
              save();
              fill();
              return true;
            },
            close(code, reason) {
              down(ctx);
              c!.close(code, reason);
            },
          };
          const hello = (info: { recovered?: boolean } | undefined): void => {
            live = { ctx, c: c!, w, info };
            put({ event: '$hello', args: [session, seen, resuming] });
            resuming = true;
            helloTimer = setTimeout(
              () => fail(`sent no $welcome in ${o.helloTimeout} ms: not a reliable server (see surewire/server)`),
              o.helloTimeout,
            );
          };
          c = inner.connect({
            ...ctx,
            open: (info) => (c ? hello(info) : (opened = info)),
            close(code, reason) {
              down(ctx);
              if (code == CloseCode.tooBig) tooBig();
              ctx.close(code, reason);
            },
          });
          if (opened !== false) hello(opened);
          return w;
        },
        drop(f) {
          own = f;
          if (take(f) !== undefined) settle();
        },
      };
    },
  };
}
