import { frameSize, type Frame } from './codec';

/** A `localStorage`-like store; the outbox keeps its text frames there so they survive a reload. */
export interface OutboxStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/** What to do when a message would exceed `max` or `maxBytes`. */
export type OverflowPolicy = 'drop-oldest' | 'drop-newest' | 'error';

/** Options of the queue that holds messages while the connection is not open. */
export interface QueueOptions {
  /** Most messages held. @default 1000 */
  max?: number;
  /** Most bytes held (UTF-16 units of text frames plus bytes of binary frames). @default Infinity */
  maxBytes?: number;
  /** Which message goes when full: the oldest queued, the new one, or the new one with an `error` event. @default 'drop-oldest' */
  overflow?: OverflowPolicy;
  /** A queued message older than this many ms is dropped instead of sent. @default Infinity */
  ttl?: number;
  /** Keeps text frames across page reloads (binary frames are held in memory only). */
  storage?: OutboxStorage;
  /** The storage key. @default 'surewire:outbox' */
  key?: string;
}

/**
 * Why a message was dropped: the outbox was full (`overflow`), it waited longer than `ttl`, the client was
 * closed, or it was sent while not open with the queue turned off (`offline`).
 */
export type DropReason = 'overflow' | 'ttl' | 'closed' | 'offline';

/**
 * A bounded FIFO of encoded frames. Frames are kept as they will be sent (no wrapper object per message),
 * with expiry times in a parallel array only when a `ttl` is set.
 */
export class Outbox {
  #frames: Frame[] = [];
  #expires: number[] = [];
  #bytes = 0;
  #o: Required<Omit<QueueOptions, 'storage'>> & QueueOptions;
  #drop: (frame: Frame, reason: DropReason) => void;
  #error: (e: unknown) => void;
  #keep: (frame: Frame) => boolean;
  #saving = false;

  /**
   * @param drop receives every frame that leaves the queue unsent, with the reason
   * @param error receives storage failures (unreadable saved state, a full storage); the queue goes on in memory
   * @param keep says which text frames may be written to storage
   */
  constructor(
    o: QueueOptions,
    drop: (frame: Frame, reason: DropReason) => void,
    error: (e: unknown) => void,
    keep: (frame: Frame) => boolean = () => true,
  ) {
    this.#o = { max: 1000, maxBytes: Infinity, overflow: 'drop-oldest', ttl: Infinity, key: 'surewire:outbox', ...o };
    this.#drop = drop;
    this.#error = error;
    this.#keep = keep;
    try {
      const saved = o.storage?.getItem(this.#o.key);
      if (saved) {
        const [frames, expires] = JSON.parse(saved) as [unknown[], (number | null)[]];
        frames.forEach((f, i) => typeof f == 'string' && this.#add(f, expires[i] ?? Infinity));
      }
    } catch (e) {
      error(e);
    }
  }

  get length(): number {
    return this.#frames.length;
  }

  /** Queues a frame; false when the frame itself was refused (`drop-newest`, `error`, or larger than `maxBytes`). */
  push(frame: Frame): boolean {
    const { max, maxBytes, overflow } = this.#o;
    const size = frameSize(frame);
    this.#prune();
    if (size > maxBytes || max < 1 || (overflow != 'drop-oldest' && (this.length >= max || this.#bytes + size > maxBytes))) {
      this.#drop(frame, 'overflow');
      return false;
    }
    while (this.length && (this.length >= max || this.#bytes + size > maxBytes)) this.#drop(this.#take(0)!, 'overflow');
    this.#add(frame, Date.now() + this.#o.ttl);
    this.#save();
    return true;
  }

  /** Hands every live frame, oldest first, to `send`; stops at the first frame `send` refuses. */
  flush(send: (frame: Frame) => boolean): void {
    this.#prune();
    while (this.length && send(this.#frames[0]!)) this.#take(0);
    this.#save();
  }

  /** Removes one frame (a request that timed out before it could be sent). */
  remove(frame: Frame): boolean {
    const i = this.#frames.indexOf(frame);
    if (i < 0) return false;
    this.#take(i);
    this.#save();
    return true;
  }

  has(frame: Frame): boolean {
    return this.#frames.includes(frame);
  }

  /** Empties the queue, reporting every frame with `reason`. */
  clear(reason: DropReason): void {
    while (this.length) this.#drop(this.#take(0)!, reason);
    this.#save();
  }

  #add(frame: Frame, expires: number): void {
    this.#frames.push(frame);
    if (expires != Infinity || this.#expires.length) this.#expires[this.#frames.length - 1] = expires;
    this.#bytes += frameSize(frame);
  }

  // The flush takes from the front, frame after frame: shift() there, which V8 does in place, where
  // splice(0, 1) would copy the whole queue each time.
  #take(i: number): Frame | undefined {
    const f = i ? this.#frames.splice(i, 1)[0] : this.#frames.shift();
    if (i) this.#expires.splice(i, 1);
    else this.#expires.shift();
    if (f !== undefined) this.#bytes -= frameSize(f);
    return f;
  }

  // Expiry times are not always in queue order (frames restored from storage may never expire),
  // so every frame is checked, not just the front. Only runs when some frame has an expiry.
  #prune(): void {
    const now = Date.now();
    for (let i = 0; i < this.#expires.length; ) {
      if ((this.#expires[i] ?? Infinity) <= now) this.#drop(this.#take(i)!, 'ttl');
      else i++;
    }
  }

  // One write per burst of pushes: the microtask runs after the current task, however many frames it queued.
  #save(): void {
    const { storage, key } = this.#o;
    if (!storage || this.#saving) return;
    this.#saving = true;
    queueMicrotask(() => {
      this.#saving = false;
      const frames: string[] = [];
      const expires: (number | undefined)[] = [];
      this.#frames.forEach((f, i) => {
        if (typeof f == 'string' && this.#keep(f)) frames.push(f), expires.push(this.#expires[i]);
      });
      try {
        // JSON writes Infinity and holes as null, which reads back as "never expires".
        storage.setItem(key, JSON.stringify([frames, expires]));
      } catch (e) {
        this.#error(e);
      }
    });
  }
}
