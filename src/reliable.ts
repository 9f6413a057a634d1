import { frameSize, type Codec, type Packet } from './codec';
import type { QueueConfig } from './outbox';
import { canStore, type Transport, type TransportConnection, type TransportContext } from './transport';
import type { Unsubscribe } from './types';
import { emitter } from './emitter';

/** Options of `reliable()`. */
export interface ReliableOptions {
  /** The session id (1–64 of `[A-Za-z0-9_-]`). @default a random one, kept in `queue.storage` when there is one */
  session?: string;
  /** How long to wait before acknowledging the server's messages, so that one `$ack` covers a burst, in ms. @default 20 */
  ackDelay?: number;
  /**
   * The largest message the server takes (`surewire/server`'s `maxFrame`), in UTF-16 units of text or
   * bytes: `send` refuses a larger one at once, which the server would otherwise refuse (1009) on every
   * reconnect, since a reliable message is sent until it is acknowledged. @default 1048576
   */
  maxFrame?: number;
  /**
   * The most messages on the wire without an acknowledgement; the next ones wait (kept like the others)
   * until acknowledgements make room. Keep it below the server's `maxPending` (1000), which closes a
   * connection that floods it. @default 900
   */
  window?: number;
}

/** Events of the reliable layer. */
export interface ReliableEvents {
  /** The server could not replay what the client missed (offsets after `from`, up to `to`): refetch. */
  discontinuity: (info: { from: number; to: number }) => void;
}

/**
 * The client side of PROTOCOL.md, given to one client as its `reliable` option. It wraps the client's
 * transport and codec, so a client without it carries none of its code.
 */
export interface Reliable {
  /**
   * Resolves once the server has stored every message sent before the call, or the outbox dropped it (the
   * `drop` event reports that). With `queue.storage`, what is not delivered when the page goes continues
   * on the next load.
   */
  delivered(): Promise<void>;
  on<E extends keyof ReliableEvents>(event: E, listener: ReliableEvents[E]): Unsubscribe;
  off<E extends keyof ReliableEvents>(event: E, listener?: ReliableEvents[E]): void;
  /** The session id, known once a client uses this. */
  readonly session: string | undefined;
  /** Called by the client it is given to; a `Reliable` serves one client. */
  wrap(transport: Transport, codec: Codec<unknown>, queue: QueueConfig | false): Transport;
}

// What the codec hands the client for a frame that is the protocol's own: no event, no reply, nothing to do.
const nothing: Packet = { args: [] };

const newSession = (): string =>
  globalThis.crypto?.randomUUID?.() ?? Array.from({ length: 24 }, () => ((Math.random() * 36) | 0).toString(36)).join('');

/**
 * Exactly-once, in-order delivery of the client's messages across dropped connections (and page reloads,
 * with `queue.storage`), and a server stream resumed where it stopped: the client side of PROTOCOL.md.
 * The server must speak the protocol (`surewire/server` does).
 *
 * @example
 * const delivery = reliable();
 * const chat = new Surewire(url, { reliable: delivery, queue: { storage: localStorage } });
 * chat.send('message', 'hi');
 * await delivery.delivered(); // the server has stored it
 */
export function reliable(o: ReliableOptions = {}): Reliable {
  const ev = emitter();
  let session: string | undefined;
  // The last sequence number given out, the last one the server acknowledged, the last server offset delivered.
  let seq = 0;
  let acked = 0;
  let seen = 0;
  // Sequenced frames handed to this layer and not acknowledged yet, in order; the first `wire` of them are
  // on the current connection's wire, the rest wait for room in the window.
  let unacked: [number, unknown][] = [];
  let wire = 0;
  // Frames made but not handed to a socket yet (in the outbox), oldest first, each followed by its sequence
  // number. The outbox hands them on in the order they were made, so the one looked for is almost always
  // first: an array does what a Map would, in less memory and without hashing every frame.
  const made: unknown[] = [];
  // Takes a frame out of `made`: its sequence number, or undefined when it is not one of them.
  const take = (f: unknown): number | undefined => {
    const i = made.indexOf(f);
    return i < 0 ? undefined : (made.splice(i, 2)[1] as number);
  };
  let waiters: [number, () => void][] = [];
  // The connection that said hello and waits for, or got, its welcome.
  // `ready` once its welcome is handled: only then may app messages go on it, after the resent ones.
  let live:
    | { ctx: TransportContext; conn: TransportConnection; info: { recovered?: boolean } | undefined; ready?: boolean }
    | undefined;

  // A message is pending until acknowledged or dropped: `delivered()` waits for those made before it.
  const settle = (): void => {
    const low = Math.min(unacked.length ? unacked[0]![0] : Infinity, made.length ? (made[1] as number) : Infinity);
    waiters = waiters.filter(([n, resolve]) => (n < low ? (resolve(), false) : true));
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
      if (session) throw new Error('surewire: a reliable() serves one client; make one per client');
      const storage = queue ? queue.storage : undefined;
      const key = (queue ? queue.key : 'surewire:outbox') + ':reliable';
      let saving = false;
      let ackTimer: ReturnType<typeof setTimeout> | undefined;
      session = o.session ?? newSession();

      const save = (): void => {
        if (!storage || saving) return;
        saving = true;
        queueMicrotask(() => {
          saving = false;
          try {
            // What the outbox would not store (binary, socket.io packets with binary data) stays in memory.
            storage.setItem(key, JSON.stringify([session, seq, acked, seen, unacked.filter(([, f]) => canStore(inner, f))]));
          } catch {
            // The outbox reports a storage that fails; the reliable state goes on in memory.
          }
        });
      };
      // Puts waiting messages on the wire while the window has room.
      const fill = (): void => {
        while (live?.ready && wire < (o.window ?? 900) && wire < unacked.length) live.conn.send(unacked[wire++]![1]);
      };
      const ack = (n: number): void => {
        if (n > acked) acked = n;
        while (unacked.length && unacked[0]![0] <= n) unacked.shift(), wire && wire--;
        settle();
        save();
        fill();
      };
      const put = (p: Packet): unknown => live?.conn.send(codec.encode(p));

      try {
        const saved = storage?.getItem(key);
        const s = saved && JSON.parse(saved);
        if (s && (!o.session || s[0] == o.session)) [session, seq, acked, seen, unacked] = s;
      } catch {
        // unreadable: start afresh (the outbox reports the storage)
      }

      const wrapped: Codec<unknown> = {
        encode(p) {
          // App events are sequenced; requests, replies and the protocol's own frames are not.
          if (p.id != null || p.event == null) return codec.encode(p);
          // `$` names are the protocol's: the server would close the connection for good.
          if (p.event[0] == '$') throw new TypeError(`"${p.event}" is reserved (event names starting with $)`);
          // Over WebSocket the event `binary` is a bare binary frame, with no room for a sequence number (socket.io
          // packets carry binary inside): refused rather than sent unsequenced, or mangled by JSON.
          if (p.event == 'binary' && !inner.codec)
            throw new TypeError('a binary frame has no room for a sequence number');
          const f = codec.encode({ event: '$m', args: [seq + 1, p.event, ...p.args] });
          const max = o.maxFrame ?? 1 << 20;
          if (frameSize(f) > max) throw new RangeError(`the message is larger than maxFrame (${max})`);
          made.push(f, ++seq);
          save();
          return f;
        },
        decode(f) {
          const p = codec.decode(f);
          const [n, a, b] = p.args as [number, unknown, unknown];
          switch (p.event) {
            case '$m':
              if (!(n > seen)) return nothing;
              seen = n;
              save();
              ackTimer ??= setTimeout(() => {
                ackTimer = undefined;
                put({ event: '$ack', args: [seen] });
              }, o.ackDelay ?? 20);
              return { event: a as string, args: p.args.slice(2) };
            case '$ack':
              ack(n);
              return nothing;
            case '$welcome':
              if (!live) return nothing;
              if (!b && a !== seen) ev.emit('discontinuity', { from: seen, to: (seen = a as number) });
              // What the server has not stored goes again, in order, before the outbox (which open() flushes).
              live.ready = true;
              wire = 0;
              ack(n ?? 0);
              live.ctx.open(live.info);
              return nothing;
          }
          return p;
        },
      };

      return {
        ...inner,
        codec: wrapped,
        connect(ctx) {
          let c: TransportConnection | undefined;
          let early: { recovered?: boolean } | undefined | false = false;
          const hello = (info: { recovered?: boolean } | undefined): void => {
            live = { ctx, conn: c!, info };
            put({ event: '$hello', args: [session, seen] });
          };
          c = inner.connect({ ...ctx, open: (info) => (c ? hello(info) : (early = info)) });
          if (early !== false) hello(early);
          return {
            send(f) {
              // Before the welcome, a message would overtake the resent ones: the outbox keeps it until then.
              if (live?.ctx != ctx || !live.ready) return false;
              let n = take(f);
              // Only a frame the outbox restored from storage on this page load can be ours and unknown: its
              // sequence number is inside. Without storage nothing is restored, so nothing is decoded.
              if (n === undefined && storage) {
                try {
                  const p = codec.decode(f);
                  if (p.event == '$m') n = p.args[0] as number;
                } catch {
                  // not a frame of ours
                }
              }
              if (n === undefined) return c!.send(f);
              unacked.push([n, f]);
              save();
              fill();
              return true;
            },
            close(code, reason) {
              if (live?.ctx == ctx) live = undefined;
              clearTimeout(ackTimer);
              ackTimer = undefined;
              c!.close(code, reason);
            },
          };
        },
        drop(f) {
          if (take(f) !== undefined) settle();
        },
      };
    },
  };
}
