import type { Rule } from './check';
import { frameSize } from './codec';

/** A `localStorage`-like store; the queue keeps its text frames there so they survive a reload. */
export interface QueueStorage {
  /** The saved text under `key`, or null. */
  getItem(key: string): string | null;
  /** Saves `value` under `key`; may throw (a full storage), which is reported as a `storage` error. */
  setItem(key: string, value: string): void;
}

/** What to do when a message would exceed `max` or `maxBytes`. */
export type OverflowPolicy = 'drop-oldest' | 'drop-newest' | 'error';

/** Options of the queue that holds messages while the connection is not open. */
export interface QueueOptions {
  /** Most messages held. @default 1000 */
  max?: number;
  /** Most bytes held (UTF-8 bytes of text frames plus bytes of binary frames). @default Infinity */
  maxBytes?: number;
  /** Which message goes when full: the oldest queued, the new one, or the new one with an `error` event. @default 'drop-oldest' */
  overflow?: OverflowPolicy;
  /** A queued message older than this many ms is dropped instead of sent. @default Infinity */
  ttl?: number;
  /** Keeps text frames (and socket.io packets without binary data) across page reloads; binary frames are held in memory only. */
  storage?: QueueStorage;
  /** The storage key. @default 'surewire:outbox' */
  key?: string;
}

/**
 * Queue options with every default filled in.
 * @inline
 */
export type QueueConfig = Required<Omit<QueueOptions, 'storage'>> & Pick<QueueOptions, 'storage'>;

export const queueDefaults: QueueConfig = { max: 1000, maxBytes: Infinity, overflow: 'drop-oldest', ttl: Infinity, key: 'surewire:outbox' };

export const queueRules: { [k: string]: Rule } = {
  max: 0,
  maxBytes: 0,
  overflow: [(v) => v == 'drop-oldest' || v == 'drop-newest' || v == 'error', "'drop-oldest', 'drop-newest' or 'error'"],
  ttl: 0,
  storage: ['getItem', 'setItem'],
  key: 'string',
};

/**
 * Why a message was dropped: the outbox was full (`overflow`), it waited longer than `ttl`, the client was
 * closed, it was sent while not open with the queue turned off (`offline`), or the server refused it as
 * too big (`too-big`: close code 1009, reported by `reliable()`'s `drop` event).
 */
export type DropReason = 'overflow' | 'ttl' | 'closed' | 'offline' | 'too-big';

/**
 * The outbox as the client uses it, a tuple (names in an object would survive minification):
 * - `frames`: the queued frames, oldest first (read only: `length`, `includes`);
 * - `push(frame)` queues a frame; false when the frame itself was refused (`drop-newest`, `error`, or larger
 *   than `maxBytes`);
 * - `flush(send)` hands every live frame, oldest first, to `send`; stops at the first frame `send` refuses;
 * - `remove(frame)` removes one frame (a request that timed out before it could be sent); false when it was
 *   not there;
 * - `clear(reason)` empties the queue, reporting every frame with `reason`.
 */
export type Outbox = [
  frames: readonly unknown[],
  push: (frame: unknown) => boolean,
  flush: (send: (frame: unknown) => boolean) => void,
  remove: (frame: unknown) => boolean,
  clear: (reason: DropReason) => void,
];

/**
 * A bounded FIFO of encoded frames. Frames are kept as they will be sent (no wrapper object per message),
 * with expiry times in a parallel array only when a `ttl` is set.
 *
 * @param drop receives every frame that leaves the queue unsent, with the reason
 * @param error receives storage failures (unreadable saved state, a full storage); the queue goes on in memory
 * @param keep says which frames may be written to storage (as JSON) and read back
 */
export function outbox(
  o: QueueConfig,
  drop: (frame: unknown, reason: DropReason) => void,
  error: (e: unknown) => void,
  keep: (frame: unknown) => boolean,
): Outbox {
  const { max, maxBytes, overflow, ttl, storage, key } = o;
  const frames: unknown[] = [];
  const expires: number[] = [];
  let bytes = 0;
  let saving = false;

  const add = (frame: unknown, at: number): void => {
    if (at < Infinity || expires.length) expires[frames.length] = at;
    frames.push(frame);
    bytes += frameSize(frame);
  };

  // Takes `k` frames out from index `i`, in one splice: a flush or a clear of a big backlog cuts the array
  // once (shift() per frame copies the whole array per frame past about 16,000 frames).
  const take = (i: number, k = 1): unknown[] => {
    const f = frames.splice(i, k);
    expires.splice(i, k);
    for (const x of f) bytes -= frameSize(x);
    return f;
  };

  // Expiry times are not always in queue order (frames restored from storage may never expire),
  // so every frame is checked, not just the front; a hole (never expires) compares false. Only runs when
  // some frame has an expiry.
  const prune = (): void => {
    const now = Date.now();
    for (let i = 0; i < expires.length; ) {
      if (expires[i]! <= now) drop(take(i)[0], 'ttl');
      else i++;
    }
  };

  // One write per burst of changes: the microtask runs after the current task, however many frames it queued.
  const save = (): void => {
    if (!storage || saving) return;
    saving = true;
    queueMicrotask(() => {
      saving = false;
      const kept: [unknown[], (number | undefined)[]] = [[], []];
      try {
        frames.forEach((f, i) => keep(f) && (kept[0].push(f), kept[1].push(expires[i])));
        // JSON writes Infinity and holes as null, which reads back as "never expires".
        storage.setItem(key, JSON.stringify(kept));
      } catch (e) {
        error(e);
      }
    });
  };

  try {
    const saved = storage?.getItem(key);
    if (saved) {
      const [f, x] = JSON.parse(saved) as [unknown[], (number | null)[]];
      // What `keep` accepts: a saved entry of another kind (another transport's, or garbage) is skipped.
      f.forEach((frame, i) => keep(frame) && add(frame, x[i] ?? Infinity));
    }
  } catch (e) {
    error(e);
  }

  return [
    frames,
    (frame) => {
      const size = frameSize(frame);
      prune();
      if (size > maxBytes || max < 1 || (overflow != 'drop-oldest' && (frames.length >= max || bytes + size > maxBytes))) {
        drop(frame, 'overflow');
        return false;
      }
      while (frames.length && (frames.length >= max || bytes + size > maxBytes)) drop(take(0)[0], 'overflow');
      add(frame, Date.now() + ttl);
      save();
      return true;
    },
    (send) => {
      prune();
      let i = 0;
      while (i < frames.length && send(frames[i])) i++;
      take(0, i);
      save();
    },
    (frame) => {
      const i = frames.indexOf(frame);
      if (i >= 0) take(i), save();
      return i >= 0;
    },
    (reason) => {
      for (const f of take(0, frames.length)) drop(f, reason);
      save();
    },
  ];
}
