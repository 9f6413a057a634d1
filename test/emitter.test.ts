import { afterEach, describe, expect, it, vi } from 'vitest';
import { emitter } from '../src/emitter';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('emitter', () => {
  it('calls listeners in the order they were added, with every argument', () => {
    const ev = emitter();
    const calls: unknown[][] = [];
    ev.on('m', (...a: unknown[]) => calls.push(['first', ...a]));
    ev.on('m', (...a: unknown[]) => calls.push(['second', ...a]));
    ev.emit('m', 1, 'two', { three: 3 });
    expect(calls).toEqual([
      ['first', 1, 'two', { three: 3 }],
      ['second', 1, 'two', { three: 3 }],
    ]);
  });

  it('on returns an unsubscribe that removes that listener only, and can be called twice', () => {
    const ev = emitter();
    const a = vi.fn();
    const b = vi.fn();
    const stop = ev.on('m', a);
    ev.on('m', b);
    stop();
    stop();
    ev.emit('m');
    expect(a).not.toHaveBeenCalled();
    expect(b).toHaveBeenCalledTimes(1);
  });

  it('once fires one time, and can be removed by off with the original listener before it fires', () => {
    const ev = emitter();
    const a = vi.fn();
    const b = vi.fn();
    ev.once('m', a);
    ev.once('m', b);
    ev.off('m', b);
    ev.emit('m', 1);
    ev.emit('m', 2);
    expect(a.mock.calls).toEqual([[1]]);
    expect(b).not.toHaveBeenCalled();
  });

  it('off without a listener removes every listener of the event, and no other event', () => {
    const ev = emitter();
    const a = vi.fn();
    const other = vi.fn();
    ev.on('m', a);
    ev.on('m', a);
    ev.on('n', other);
    ev.off('m');
    ev.emit('m');
    ev.emit('n');
    expect(a).not.toHaveBeenCalled();
    expect(other).toHaveBeenCalledTimes(1);
  });

  it('emits over a snapshot: listeners added or removed while it runs do not change that round', () => {
    const ev = emitter();
    const late = vi.fn();
    const removed = vi.fn();
    ev.on('m', () => {
      ev.on('m', late);
      ev.off('m', removed);
    });
    ev.on('m', removed);
    ev.emit('m');
    expect(late).not.toHaveBeenCalled();
    expect(removed).toHaveBeenCalledTimes(1);
    ev.emit('m');
    expect(late).toHaveBeenCalledTimes(1);
    expect(removed).toHaveBeenCalledTimes(1);
  });

  it('knows event names that Object.prototype has', () => {
    const ev = emitter();
    const fn = vi.fn();
    ev.emit('constructor');
    ev.on('toString', fn);
    ev.emit('toString', 1);
    expect(fn).toHaveBeenCalledWith(1);
  });

  it('a listener that throws does not stop the others; its error is rethrown on its own, later', async () => {
    const thrown: unknown[] = [];
    const spy = vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((task) => {
      try {
        task();
      } catch (e) {
        thrown.push(e);
      }
    });
    const ev = emitter();
    const boom = new Error('app bug');
    const after = vi.fn();
    ev.on('m', () => {
      throw boom;
    });
    ev.on('m', after);
    expect(() => ev.emit('m')).not.toThrow();
    expect(after).toHaveBeenCalledTimes(1);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(thrown).toEqual([boom]);
  });
});
