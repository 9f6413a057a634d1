import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Frame } from '../src/codec';
import { defaults } from '../src/options';
import { outbox, type DropReason, type QueueStorage, type OverflowPolicy, type QueueOptions } from '../src/outbox';

/** A Map-backed stand-in for localStorage that records every call. */
class MemoryStorage implements QueueStorage {
  map = new Map<string, string>();
  getItem = vi.fn((key: string): string | null => this.map.get(key) ?? null);
  setItem = vi.fn((key: string, value: string): void => {
    this.map.set(key, value);
  });
}

function make(o: QueueOptions = {}, keep?: (frame: Frame) => boolean) {
  const drops: [Frame, DropReason][] = [];
  const errors: unknown[] = [];
  const [frames, push, flush, remove, clear] = outbox({ ...defaults.queue, ...o }, (f, r) => drops.push([f as Frame, r]), (e) => errors.push(e), (keep as ((f: unknown) => boolean) | undefined) ?? ((f) => typeof f == 'string'));
  // The tuple with names, as the client uses it (`has` is what it asks of `frames`).
  const box = {
    get length() {
      return frames.length;
    },
    has: (f: unknown) => frames.includes(f),
    push,
    flush,
    remove,
    clear,
  };
  return { box, drops, errors };
}

type Box = ReturnType<typeof make>['box'];

/** Flushes everything and returns what went out, in order. */
function drain(box: Box): Frame[] {
  const sent: Frame[] = [];
  box.flush((f) => (sent.push(f as Frame), true));
  return sent;
}

/** Lets the outbox's save microtask run. */
const saved = () => Promise.resolve();

describe('Outbox: order', () => {
  it('hands frames to send oldest first and empties itself', () => {
    const { box, drops } = make();
    expect(box.push('a')).toBe(true);
    expect(box.push('b')).toBe(true);
    expect(box.push('c')).toBe(true);
    expect(box.length).toBe(3);
    expect(drain(box)).toEqual(['a', 'b', 'c']);
    expect(box.length).toBe(0);
    expect(drops).toEqual([]);
  });

  it('keeps text and binary frames in one order', () => {
    const { box } = make();
    const bin = new Uint8Array([1]);
    box.push('a');
    box.push(bin);
    box.push('b');
    const sent = drain(box);
    expect(sent).toEqual(['a', bin, 'b']);
    expect(sent[1]).toBe(bin);
  });

  it('does not call send when empty', () => {
    const { box } = make();
    const send = vi.fn(() => true);
    box.flush(send);
    expect(send).not.toHaveBeenCalled();
  });

  it('stops flushing at the first frame send refuses and keeps it and the rest in order', () => {
    const { box, drops } = make();
    for (const f of ['a', 'b', 'c', 'd']) box.push(f);
    const send = vi.fn((f: unknown) => f != 'b');
    box.flush(send);
    expect(send.mock.calls).toEqual([['a'], ['b']]);
    expect(box.length).toBe(3);
    expect(drops).toEqual([]);
    box.push('e');
    expect(drain(box)).toEqual(['b', 'c', 'd', 'e']);
  });
});

describe('Outbox: a big backlog', () => {
  it('flushes 50,000 frames with a single cut of the array, not a shift per frame (quadratic past ~16,000)', () => {
    const { box } = make({ max: 100_000, maxBytes: 10_000_000 });
    for (let i = 0; i < 50_000; i++) box.push(`m${i}`);
    const proto = Array.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
    const real = { shift: proto.shift!, splice: proto.splice! };
    let shifts = 0;
    let splices = 0;
    proto.shift = function (this: unknown[], ...a: unknown[]) {
      shifts++;
      return real.shift.apply(this, a);
    };
    proto.splice = function (this: unknown[], ...a: unknown[]) {
      splices++;
      return real.splice.apply(this, a);
    };
    let sent: Frame[];
    try {
      sent = drain(box);
    } finally {
      Object.assign(proto, real);
    }
    expect(sent).toHaveLength(50_000);
    expect(sent[0]).toBe('m0');
    expect(sent[49_999]).toBe('m49999');
    expect(box.length).toBe(0);
    expect(shifts).toBe(0);
    expect(splices).toBeLessThanOrEqual(2); // frames and expiry times, once each
    // Its bytes were freed: a full maxBytes fits again.
    box.push('x'.repeat(9_999_999));
    expect(box.length).toBe(1);
  });
});

describe('Outbox: max', () => {
  it('drops the oldest message when full and reports it', () => {
    const { box, drops } = make({ max: 3 });
    for (const f of ['a', 'b', 'c']) box.push(f);
    expect(box.push('d')).toBe(true);
    expect(drops).toEqual([['a', 'overflow']]);
    expect(box.length).toBe(3);
    expect(drain(box)).toEqual(['b', 'c', 'd']);
  });

  it('drops the oldest by default', () => {
    const { box, drops } = make({ max: 2 });
    box.push('a');
    box.push('b');
    box.push('c');
    box.push('d');
    expect(drops).toEqual([
      ['a', 'overflow'],
      ['b', 'overflow'],
    ]);
    expect(drain(box)).toEqual(['c', 'd']);
  });

  it('holds 1000 messages when max is not given', () => {
    const { box, drops } = make();
    for (let i = 0; i < 1000; i++) box.push(`m${i}`);
    expect(drops).toEqual([]);
    box.push('m1000');
    expect(drops).toEqual([['m0', 'overflow']]);
    expect(box.length).toBe(1000);
  });

  it('refuses the new message when full with drop-newest and reports it', () => {
    const { box, drops } = make({ max: 3, overflow: 'drop-newest' });
    for (const f of ['a', 'b', 'c']) box.push(f);
    expect(box.push('d')).toBe(false);
    expect(drops).toEqual([['d', 'overflow']]);
    expect(drain(box)).toEqual(['a', 'b', 'c']);
  });

  it('refuses the new message when full with error, leaving the error to the client', () => {
    const { box, drops, errors } = make({ max: 2, overflow: 'error' });
    box.push('a');
    box.push('b');
    expect(box.push('c')).toBe(false);
    expect(drops).toEqual([['c', 'overflow']]);
    expect(errors).toEqual([]);
    expect(drain(box)).toEqual(['a', 'b']);
  });

  it('accepts again once a flush has made room', () => {
    const { box, drops } = make({ max: 2, overflow: 'drop-newest' });
    box.push('a');
    box.push('b');
    box.flush((f) => f == 'a');
    expect(box.push('c')).toBe(true);
    expect(drops).toEqual([]);
    expect(drain(box)).toEqual(['b', 'c']);
  });

  it.each<OverflowPolicy>(['drop-oldest', 'drop-newest', 'error'])('holds no message when max is 0 (%s)', (overflow) => {
    const { box, drops } = make({ max: 0, overflow });
    expect(box.push('a')).toBe(false);
    expect(box.length).toBe(0);
    expect(drops).toEqual([['a', 'overflow']]);
  });
});

describe('Outbox: maxBytes', () => {
  it('drops the oldest messages until the new one fits', () => {
    const { box, drops } = make({ maxBytes: 10 });
    box.push('aaa');
    box.push('bbb');
    box.push('ccc');
    expect(box.push('dddddd')).toBe(true);
    expect(drops).toEqual([
      ['aaa', 'overflow'],
      ['bbb', 'overflow'],
    ]);
    expect(drain(box)).toEqual(['ccc', 'dddddd']);
  });

  it('fills up to exactly maxBytes', () => {
    const { box, drops } = make({ maxBytes: 10, overflow: 'drop-newest' });
    box.push('aaaa');
    box.push('bbbb');
    expect(box.push('ccc')).toBe(false);
    expect(box.push('cc')).toBe(true);
    expect(drops).toEqual([['ccc', 'overflow']]);
    expect(drain(box)).toEqual(['aaaa', 'bbbb', 'cc']);
  });

  it('refuses the new message with error when it would not fit', () => {
    const { box, drops } = make({ maxBytes: 5, overflow: 'error' });
    box.push('abc');
    expect(box.push('def')).toBe(false);
    expect(drops).toEqual([['def', 'overflow']]);
    expect(drain(box)).toEqual(['abc']);
  });

  it('counts bytes of binary frames', () => {
    const { box, drops } = make({ maxBytes: 8 });
    const first = new Uint8Array(6);
    const second = new ArrayBuffer(4);
    box.push(first);
    box.push(second);
    expect(drops).toHaveLength(1);
    expect(drops[0]![0]).toBe(first);
    expect(drops[0]![1]).toBe('overflow');
    expect(drain(box)[0]).toBe(second);
  });

  it.each<OverflowPolicy>(['drop-oldest', 'drop-newest', 'error'])(
    'refuses a frame larger than maxBytes and keeps what it holds (%s)',
    (overflow) => {
      const { box, drops } = make({ maxBytes: 5, overflow });
      box.push('ab');
      expect(box.push('abcdef')).toBe(false);
      expect(drops).toEqual([['abcdef', 'overflow']]);
      expect(drain(box)).toEqual(['ab']);
    },
  );

  it('frees the bytes of frames that were sent', () => {
    const { box, drops } = make({ maxBytes: 10, overflow: 'drop-newest' });
    box.push('aaaaa');
    box.push('bbbbb');
    drain(box);
    expect(box.push('cccccccccc')).toBe(true);
    expect(drops).toEqual([]);
  });

  it('frees the bytes of frames that were removed', () => {
    const { box, drops } = make({ maxBytes: 10, overflow: 'drop-newest' });
    box.push('aaaaa');
    box.push('bbbbb');
    box.remove('aaaaa');
    expect(box.push('ccccc')).toBe(true);
    expect(drops).toEqual([]);
  });

  it('frees the bytes of frames that were cleared', () => {
    const { box, drops } = make({ maxBytes: 4, overflow: 'drop-newest' });
    box.push('aaaa');
    box.clear('closed');
    expect(box.push('bbbb')).toBe(true);
    expect(drops).toEqual([['aaaa', 'closed']]);
  });

  it('applies max and maxBytes together', () => {
    const { box, drops } = make({ max: 3, maxBytes: 6 });
    box.push('a');
    box.push('b');
    box.push('c');
    box.push('d');
    expect(drops).toEqual([['a', 'overflow']]);
    box.push('eeeee');
    expect(drops).toEqual([
      ['a', 'overflow'],
      ['b', 'overflow'],
      ['c', 'overflow'],
    ]);
    expect(drain(box)).toEqual(['d', 'eeeee']);
  });
});

describe('Outbox: remove, has, clear', () => {
  it('removes one frame, keeps the others in order, and does not report it as dropped', () => {
    const { box, drops } = make();
    for (const f of ['a', 'b', 'c']) box.push(f);
    expect(box.has('b')).toBe(true);
    expect(box.remove('b')).toBe(true);
    expect(box.has('b')).toBe(false);
    expect(box.length).toBe(2);
    expect(drops).toEqual([]);
    expect(drain(box)).toEqual(['a', 'c']);
  });

  it('returns false when removing a frame it does not hold', () => {
    const { box } = make();
    box.push('a');
    expect(box.remove('z')).toBe(false);
    expect(box.length).toBe(1);
  });

  it('finds binary frames by identity', () => {
    const { box } = make();
    const bin = new Uint8Array([1, 2]);
    box.push(bin);
    expect(box.has(bin)).toBe(true);
    expect(box.has(new Uint8Array([1, 2]))).toBe(false);
    expect(box.remove(new Uint8Array([1, 2]))).toBe(false);
    expect(box.remove(bin)).toBe(true);
    expect(box.length).toBe(0);
  });

  it('says it does not hold a frame after the frame was sent', () => {
    const { box } = make();
    box.push('a');
    drain(box);
    expect(box.has('a')).toBe(false);
  });

  it('reports every frame with the reason on clear, oldest first', () => {
    const { box, drops } = make();
    const bin = new ArrayBuffer(2);
    box.push('a');
    box.push(bin);
    box.push('c');
    box.clear('closed');
    expect(box.length).toBe(0);
    expect(drops).toEqual([
      ['a', 'closed'],
      [bin, 'closed'],
      ['c', 'closed'],
    ]);
    expect(drops[1]![0]).toBe(bin);
    box.push('d');
    box.clear('offline');
    expect(drops[3]).toEqual(['d', 'offline']);
  });
});

describe('Outbox: ttl', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('drops a message older than ttl at flush instead of sending it', () => {
    const { box, drops } = make({ ttl: 1000 });
    box.push('old');
    vi.advanceTimersByTime(600);
    box.push('new');
    vi.advanceTimersByTime(500);
    expect(drain(box)).toEqual(['new']);
    expect(drops).toEqual([['old', 'ttl']]);
  });

  it('drops expired messages at push', () => {
    const { box, drops } = make({ ttl: 1000 });
    box.push('a');
    box.push('b');
    vi.advanceTimersByTime(1001);
    box.push('c');
    expect(drops).toEqual([
      ['a', 'ttl'],
      ['b', 'ttl'],
    ]);
    expect(box.length).toBe(1);
  });

  it('keeps a message younger than ttl', () => {
    const { box, drops } = make({ ttl: 1000 });
    box.push('a');
    vi.advanceTimersByTime(999);
    expect(drain(box)).toEqual(['a']);
    expect(drops).toEqual([]);
  });

  it('follows the clock, not timers', () => {
    const { box, drops } = make({ ttl: 1000 });
    box.push('a');
    vi.setSystemTime(Date.now() + 5000);
    expect(drain(box)).toEqual([]);
    expect(drops).toEqual([['a', 'ttl']]);
  });

  it('makes room with expired messages before counting overflow', () => {
    const { box, drops } = make({ max: 1, ttl: 1000, overflow: 'drop-newest' });
    box.push('a');
    vi.advanceTimersByTime(1500);
    expect(box.push('b')).toBe(true);
    expect(drops).toEqual([['a', 'ttl']]);
  });

  it('never expires messages without a ttl', () => {
    const { box, drops } = make();
    box.push('a');
    vi.advanceTimersByTime(365 * 24 * 3600 * 1000);
    expect(drain(box)).toEqual(['a']);
    expect(drops).toEqual([]);
  });

  it('keeps each message with its own expiry after a remove', () => {
    const { box, drops } = make({ ttl: 1000 });
    box.push('a');
    vi.advanceTimersByTime(500);
    box.push('b');
    vi.advanceTimersByTime(400);
    box.push('c');
    box.remove('a');
    vi.advanceTimersByTime(300);
    expect(drain(box)).toEqual(['b', 'c']);
    expect(drops).toEqual([]);
  });

  it('leaves no timers behind', () => {
    const { box } = make({ ttl: 1000 });
    box.push('a');
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('Outbox: storage', () => {
  it('saves once per burst of pushes, after the current task', async () => {
    const storage = new MemoryStorage();
    const { box } = make({ storage });
    box.push('a');
    box.push('b');
    box.push('c');
    expect(storage.setItem).not.toHaveBeenCalled();
    await saved();
    expect(storage.setItem).toHaveBeenCalledTimes(1);
    expect(storage.setItem.mock.calls[0]![0]).toBe('surewire:outbox');
    box.push('d');
    await saved();
    expect(storage.setItem).toHaveBeenCalledTimes(2);
  });

  it('reloads the saved messages, in order, in a new outbox', async () => {
    const storage = new MemoryStorage();
    const first = make({ storage });
    for (const f of ['a', 'b', 'c']) first.box.push(f);
    await saved();
    const second = make({ storage });
    expect(second.box.length).toBe(3);
    expect(second.box.has('b')).toBe(true);
    expect(drain(second.box)).toEqual(['a', 'b', 'c']);
    expect(second.errors).toEqual([]);
  });

  it('reads from storage when made', () => {
    const storage = new MemoryStorage();
    make({ storage });
    expect(storage.getItem).toHaveBeenCalledWith('surewire:outbox');
  });

  it('saves what is left after a flush, a remove and a clear', async () => {
    const storage = new MemoryStorage();
    const { box } = make({ storage });
    for (const f of ['a', 'b', 'c', 'd']) box.push(f);
    await saved();
    box.flush((f) => f == 'a');
    await saved();
    expect(drain(make({ storage }).box)).toEqual(['b', 'c', 'd']);
    box.remove('c');
    await saved();
    expect(drain(make({ storage }).box)).toEqual(['b', 'd']);
    box.clear('closed');
    await saved();
    expect(make({ storage }).box.length).toBe(0);
  });

  it('uses the given key', async () => {
    const storage = new MemoryStorage();
    const { box } = make({ storage, key: 'chat:outbox' });
    box.push('a');
    await saved();
    expect([...storage.map.keys()]).toEqual(['chat:outbox']);
    expect(make({ storage }).box.length).toBe(0);
    expect(drain(make({ storage, key: 'chat:outbox' }).box)).toEqual(['a']);
  });

  it('does not save frames the keep predicate excludes, but still holds them', async () => {
    const storage = new MemoryStorage();
    const keep = vi.fn((f: Frame) => !(typeof f == 'string' && f.startsWith('{')));
    const { box } = make({ storage }, keep);
    box.push('["a"]');
    box.push('{"id":1,"event":"history","args":[]}');
    box.push('["b"]');
    await saved();
    expect(drain(make({ storage }).box)).toEqual(['["a"]', '["b"]']);
    expect(drain(box)).toEqual(['["a"]', '{"id":1,"event":"history","args":[]}', '["b"]']);
  });

  it('does not save binary frames by default, but still holds them', async () => {
    const storage = new MemoryStorage();
    const { box, errors } = make({ storage });
    const bin = new Uint8Array([1, 2, 3]);
    box.push('a');
    box.push(bin);
    box.push('b');
    await saved();
    expect(errors).toEqual([]);
    expect(drain(make({ storage }).box)).toEqual(['a', 'b']);
    expect(drain(box)).toEqual(['a', bin, 'b']);
  });

  it('saves and restores the packets keep accepts (socket.io), as JSON, and skips saved entries it refuses', async () => {
    const storage = new MemoryStorage();
    const keep = (f: unknown): boolean => typeof f == 'string' || (typeof f == 'object' && f !== null && 'event' in f);
    const { box, errors } = make({ storage }, keep as (f: Frame) => boolean);
    const packet = { event: 'message', args: ['hi', { n: 1 }] };
    box.push('a');
    box.push(packet as unknown as Frame);
    box.push(new Uint8Array([1]));
    await saved();
    expect(errors).toEqual([]);
    const restored = drain(make({ storage }, keep as (f: Frame) => boolean).box);
    expect(restored).toEqual(['a', packet]);
    // Without that keep (the native transport's), a saved packet is not read back.
    expect(drain(make({ storage }).box)).toEqual(['a']);
  });

  it('reports a frame keep cannot judge (a cyclic packet) as a storage failure, and still holds it', async () => {
    const storage = new MemoryStorage();
    const cyclic: { event: string; args: unknown[] } = { event: 'm', args: [] };
    cyclic.args.push(cyclic);
    const keep = (f: unknown): boolean => typeof f == 'string' || JSON.stringify(f).length > 0;
    const { box, errors } = make({ storage }, keep as (f: Frame) => boolean);
    box.push(cyclic as unknown as Frame);
    await saved();
    expect(errors).toHaveLength(1);
    expect(drain(box)).toEqual([cyclic]);
  });

  it('ignores saved entries that are not text', () => {
    const storage = new MemoryStorage();
    storage.map.set('surewire:outbox', JSON.stringify([['a', 5, null, { x: 1 }, 'b'], []]));
    const { box, errors } = make({ storage });
    expect(errors).toEqual([]);
    expect(drain(box)).toEqual(['a', 'b']);
  });

  describe('with ttl', () => {
    beforeEach(() => {
      vi.useFakeTimers();
      vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    it('keeps each message expiry across a reload', async () => {
      const storage = new MemoryStorage();
      const first = make({ storage, ttl: 1000 });
      first.box.push('a');
      vi.advanceTimersByTime(600);
      first.box.push('b');
      await saved();
      const second = make({ storage, ttl: 1000 });
      vi.advanceTimersByTime(500);
      expect(drain(second.box)).toEqual(['b']);
      expect(second.drops).toEqual([['a', 'ttl']]);
    });

    it('keeps the saved expiry even when the new outbox has no ttl', async () => {
      const storage = new MemoryStorage();
      const first = make({ storage, ttl: 1000 });
      first.box.push('a');
      await saved();
      const second = make({ storage });
      vi.advanceTimersByTime(2000);
      expect(drain(second.box)).toEqual([]);
      expect(second.drops).toEqual([['a', 'ttl']]);
    });

    it('reloads messages saved without a ttl as never expiring', async () => {
      const storage = new MemoryStorage();
      make({ storage }).box.push('a');
      await saved();
      const second = make({ storage, ttl: 1000 });
      vi.advanceTimersByTime(5000);
      expect(drain(second.box)).toEqual(['a']);
    });

    it('drops an expired message that waits behind a reloaded message that never expires', async () => {
      const storage = new MemoryStorage();
      make({ storage }).box.push('saved without ttl');
      await saved();
      const second = make({ storage, ttl: 1000 });
      second.box.push('stale');
      vi.advanceTimersByTime(2000);
      expect(drain(second.box)).toEqual(['saved without ttl']);
      expect(second.drops).toEqual([['stale', 'ttl']]);
    });
  });

  it.each([
    ['text that is not JSON', '{not json'],
    ['JSON of the wrong shape', '{"frames":["a"]}'],
    ['a JSON string', '"abc"'],
  ])('reports saved %s and works in memory', async (_, corrupt) => {
    const storage = new MemoryStorage();
    storage.map.set('surewire:outbox', corrupt);
    const { box, errors } = make({ storage });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(Error);
    expect(box.length).toBe(0);
    box.push('a');
    box.push('b');
    expect(drain(box)).toEqual(['a', 'b']);
    box.push('c');
    await saved();
    expect(drain(make({ storage }).box)).toEqual(['c']);
  });

  it('reports a storage that cannot be read and works in memory', () => {
    const storage = new MemoryStorage();
    const denied = new Error('SecurityError');
    storage.getItem.mockImplementation(() => {
      throw denied;
    });
    const { box, errors } = make({ storage });
    expect(errors).toEqual([denied]);
    box.push('a');
    expect(drain(box)).toEqual(['a']);
  });

  it('reports a full storage and keeps the messages in memory', async () => {
    const storage = new MemoryStorage();
    const quota = new Error('QuotaExceededError');
    storage.setItem.mockImplementation(() => {
      throw quota;
    });
    const { box, errors, drops } = make({ storage });
    expect(box.push('a')).toBe(true);
    expect(box.push('b')).toBe(true);
    expect(errors).toEqual([]);
    await saved();
    expect(errors).toEqual([quota]);
    expect(drops).toEqual([]);
    expect(drain(box)).toEqual(['a', 'b']);
  });
});
