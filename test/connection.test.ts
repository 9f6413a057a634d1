import { describe, expect, it, vi } from 'vitest';
import { connection, type ConnectionSnapshot, type LifecycleEvents } from '../src/connection';
import { ConnectionError } from '../src/errors';

function make() {
  const control = connection();
  return { conn: control.connection, control };
}

const initial: ConnectionSnapshot = { state: 'idle', reason: 'created', code: null, final: false, attempt: 0, retryAt: null, queued: 0, rtt: null };

describe('Connection', () => {
  it('keeps the write access apart from the connection users see', () => {
    const { conn } = make();
    expect(Object.keys(conn).sort()).toEqual(['getSnapshot', 'off', 'on', 'once', 'state', 'subscribe']);
    expect('set' in conn || 'emit' in conn).toBe(false);
  });

  it('starts idle with a frozen snapshot', () => {
    const { conn } = make();
    expect(conn.state).toBe('idle');
    expect(conn.getSnapshot()).toStrictEqual(initial);
    expect(Object.isFrozen(conn.getSnapshot())).toBe(true);
  });

  it('returns the same snapshot until something changes', () => {
    const { conn } = make();
    expect(conn.getSnapshot()).toBe(conn.getSnapshot());
  });

  it('replaces the snapshot with a new frozen object on set', () => {
    const { conn, control } = make();
    const before = conn.getSnapshot();
    control.set({ state: 'connecting', reason: 'connect()', attempt: 1 });
    const after = conn.getSnapshot();
    expect(after).not.toBe(before);
    expect(Object.isFrozen(after)).toBe(true);
    expect(after).toStrictEqual({ ...initial, state: 'connecting', reason: 'connect()', attempt: 1 });
    expect(before).toStrictEqual(initial);
    expect(conn.state).toBe('connecting');
  });

  it('keeps the fields a patch leaves out', () => {
    const { conn, control } = make();
    control.set({ state: 'open', reason: 'open', queued: 3 });
    control.set({ rtt: 42 });
    expect(conn.getSnapshot()).toStrictEqual({ state: 'open', reason: 'open', code: null, final: false, attempt: 0, retryAt: null, queued: 3, rtt: 42 });
  });

  it('does not let a snapshot be changed from outside', () => {
    const { conn } = make();
    const snap = conn.getSnapshot() as { state: string };
    expect(() => {
      snap.state = 'open';
    }).toThrow(TypeError);
    expect(conn.state).toBe('idle');
  });

  it('calls a subscriber at once with the current snapshot and then with each new one', () => {
    const { conn, control } = make();
    const seen: ConnectionSnapshot[] = [];
    conn.subscribe((s) => seen.push(s));
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBe(conn.getSnapshot());
    control.set({ state: 'connecting', reason: 'connect()' });
    control.set({ queued: 2 });
    expect(seen).toHaveLength(3);
    expect(seen[2]).toBe(conn.getSnapshot());
    expect(seen.map((s) => [s.state, s.queued])).toEqual([
      ['idle', 0],
      ['connecting', 0],
      ['connecting', 2],
    ]);
  });

  it('stops calling a subscriber after its unsubscribe, and leaves the others', () => {
    const { conn, control } = make();
    const a = vi.fn();
    const b = vi.fn();
    const stopA = conn.subscribe(a);
    conn.subscribe(b);
    stopA();
    control.set({ queued: 1 });
    expect(a).toHaveBeenCalledTimes(1);
    expect(b).toHaveBeenCalledTimes(2);
    expect(() => stopA()).not.toThrow();
    control.set({ queued: 2 });
    expect(a).toHaveBeenCalledTimes(1);
    expect(b).toHaveBeenCalledTimes(3);
  });

  it('emits state with from, to and reason when the state changes', () => {
    const { conn, control } = make();
    const changes: Parameters<LifecycleEvents['state']>[0][] = [];
    conn.on('state', (c) => changes.push(c));
    control.set({ state: 'connecting', reason: 'connect()' });
    control.set({ state: 'open', reason: 'open' });
    control.set({ state: 'reconnecting', reason: 'heartbeat timeout', attempt: 1 });
    expect(changes).toEqual([
      { from: 'idle', to: 'connecting', reason: 'connect()' },
      { from: 'connecting', to: 'open', reason: 'open' },
      { from: 'open', to: 'reconnecting', reason: 'heartbeat timeout' },
    ]);
  });

  it('does not emit state when the state stays the same', () => {
    const { conn, control } = make();
    const onState = vi.fn();
    conn.on('state', onState);
    control.set({ queued: 4 });
    control.set({ rtt: 12, reason: 'open' });
    control.set({ state: 'idle' });
    expect(onState).not.toHaveBeenCalled();
    control.set({ state: 'connecting', reason: 'connect()' });
    control.set({ state: 'connecting', attempt: 2 });
    expect(onState).toHaveBeenCalledTimes(1);
  });

  it('updates the snapshot before the state event fires', () => {
    const { conn, control } = make();
    let seen: ConnectionSnapshot | undefined;
    conn.on('state', () => (seen = conn.getSnapshot()));
    control.set({ state: 'open', reason: 'open' });
    expect(seen?.state).toBe('open');
  });

  it('passes emitted lifecycle events to their listeners', () => {
    const { conn, control } = make();
    const onOpen = vi.fn();
    const onError = vi.fn();
    const onDrop = vi.fn();
    conn.on('open', onOpen);
    conn.on('error', onError);
    conn.on('drop', onDrop);
    const err = new ConnectionError('socket', 'boom');
    control.emit('open', { attempt: 2 });
    control.emit('error', err);
    control.emit('drop', { message: { event: 'a', args: [] }, frame: '["a"]', reason: 'overflow' });
    expect(onOpen.mock.calls).toEqual([[{ attempt: 2 }]]);
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError.mock.calls[0]![0]).toBe(err);
    expect(onDrop.mock.calls).toEqual([[{ message: { event: 'a', args: [] }, frame: '["a"]', reason: 'overflow' }]]);
  });

  it('stops a listener with the unsubscribe that on returned', () => {
    const { conn, control } = make();
    const a = vi.fn();
    const b = vi.fn();
    const stopA = conn.on('heartbeat', a);
    conn.on('heartbeat', b);
    control.emit('heartbeat', { rtt: 1 });
    stopA();
    control.emit('heartbeat', { rtt: 2 });
    expect(a.mock.calls).toEqual([[{ rtt: 1 }]]);
    expect(b.mock.calls).toEqual([[{ rtt: 1 }], [{ rtt: 2 }]]);
    expect(() => stopA()).not.toThrow();
  });

  it('calls a once listener for the next event only', () => {
    const { conn, control } = make();
    const fn = vi.fn();
    conn.once('reconnecting', fn);
    control.emit('reconnecting', { attempt: 1, delay: 1000 });
    control.emit('reconnecting', { attempt: 2, delay: 2000 });
    expect(fn.mock.calls).toEqual([[{ attempt: 1, delay: 1000 }]]);
  });

  it('cancels a once listener with the unsubscribe it returned', () => {
    const { conn, control } = make();
    const fn = vi.fn();
    const stop = conn.once('close', fn);
    stop();
    control.emit('close', { code: 1000, reason: '', willReconnect: false });
    expect(fn).not.toHaveBeenCalled();
  });

  it('removes one listener with off', () => {
    const { conn, control } = make();
    const a = vi.fn();
    const b = vi.fn();
    conn.on('open', a);
    conn.on('open', b);
    conn.off('open', a);
    control.emit('open', { attempt: 0 });
    expect(a).not.toHaveBeenCalled();
    expect(b).toHaveBeenCalledTimes(1);
  });

  it('removes a once listener with off', () => {
    const { conn, control } = make();
    const fn = vi.fn();
    conn.once('open', fn);
    conn.off('open', fn);
    control.emit('open', { attempt: 0 });
    expect(fn).not.toHaveBeenCalled();
  });

  it('removes every listener of one event with off and no listener', () => {
    const { conn, control } = make();
    const a = vi.fn();
    const b = vi.fn();
    const other = vi.fn();
    conn.on('open', a);
    conn.once('open', b);
    conn.on('close', other);
    conn.off('open');
    control.emit('open', { attempt: 0 });
    control.emit('close', { code: 1006, reason: '', willReconnect: true });
    expect(a).not.toHaveBeenCalled();
    expect(b).not.toHaveBeenCalled();
    expect(other).toHaveBeenCalledTimes(1);
  });

  it('keeps state listeners apart from subscribers', () => {
    const { conn, control } = make();
    const onState = vi.fn();
    const sub = vi.fn();
    conn.on('state', onState);
    const stop = conn.subscribe(sub);
    conn.off('state', onState);
    control.set({ state: 'open', reason: 'open' });
    expect(onState).not.toHaveBeenCalled();
    expect(sub).toHaveBeenCalledTimes(2);
    stop();
  });

  it('works with subscribe and getSnapshot taken off the object', () => {
    const { conn, control } = make();
    const { subscribe, getSnapshot } = conn;
    const seen: string[] = [];
    const stop = subscribe((s) => seen.push(s.state));
    control.set({ state: 'connecting', reason: 'connect()' });
    expect(getSnapshot().state).toBe('connecting');
    expect(getSnapshot()).toBe(conn.getSnapshot());
    stop();
    control.set({ state: 'open', reason: 'open' });
    expect(seen).toEqual(['idle', 'connecting']);
    expect(getSnapshot().state).toBe('open');
  });

  it('keeps two connections apart', () => {
    const one = make();
    const two = make();
    const fn = vi.fn();
    two.conn.on('state', fn);
    one.control.set({ state: 'open', reason: 'open' });
    expect(two.conn.state).toBe('idle');
    expect(fn).not.toHaveBeenCalled();
  });
});
