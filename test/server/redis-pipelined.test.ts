// The helper with a pipelined store (`Store.pipelined`, as redisStore is): a burst's accepts go out ahead of
// their turn, at most PIPELINE of them, each message still handed over in its turn, once; one whose accept
// went out is handed over even if its connection closed meanwhile (it was stored); a jump too far goes out
// never. A memory store whose answers come back later stands for the network store here.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { memoryStore, type Store } from '../../src/server';
import { PIPELINE } from '../../src/server/session';
import { CloseCode } from '../../src/close-codes';
import { ProtocolClient } from '../helpers/protocol-client';
import { deferred, waitFor } from '../helpers/wait';
import { cleanup, serveWs, sid } from './fixtures';

/** A pipelined store over memoryStore: accepts answer when `release()` is called (all at once), in order. */
function slowStore(claims?: { lease: number }) {
  const base = memoryStore({ history: 1000 });
  let gate = deferred<void>();
  const s = {
    inFlight: 0,
    maxInFlight: 0,
    accepted: [] as number[],
    /** What `handled` was told, in order (a store that claims). */
    committed: [] as number[],
    release: () => {
      const g = gate;
      gate = deferred<void>();
      g.resolve();
    },
  };
  const store: Store = {
    ...base,
    pipelined: true,
    async accept(id, seq) {
      s.inFlight++;
      s.maxInFlight = Math.max(s.maxInFlight, s.inFlight);
      await gate.promise;
      s.inFlight--;
      s.accepted.push(seq);
      return base.accept(id, seq);
    },
    ...(claims && {
      lease: claims.lease,
      handled: (_id: string, seq: number) => void s.committed.push(seq),
    }),
  };
  return Object.assign(s, { store });
}

const hello = async (url: string, id: string): Promise<ProtocolClient> => {
  const { client } = await ProtocolClient.hello(url, id, 0);
  cleanup(() => client.kill());
  return client;
};

describe('a pipelined store', () => {
  it(`a burst's accepts go out ahead of their turn, at most ${PIPELINE}; each message handed over once, in order`, async () => {
    const slow = slowStore();
    const srv = await serveWs({ store: slow.store });
    const id = sid();
    const c = await hello(srv.url, id);
    for (let n = 1; n <= 100; n++) c.send('$m', n, 'm', n);
    await waitFor(() => slow.inFlight > 1, 2000, 'accepts out ahead');
    for (let i = 0; i < 20 && srv.handled.length < 100; i++) {
      slow.release();
      await new Promise((r) => setTimeout(r, 10));
    }
    await c.ackOf(100);
    expect(slow.maxInFlight).toBeGreaterThan(1);
    expect(slow.maxInFlight).toBeLessThanOrEqual(PIPELINE + 1);
    expect(srv.of(id)).toEqual(Array.from({ length: 100 }, (_, i) => ['m', i + 1]));
    expect(slow.accepted).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it('a message whose accept went out is handed over although its connection closed first; the client’s resend is a duplicate', async () => {
    const slow = slowStore();
    const srv = await serveWs({ store: slow.store });
    const id = sid();
    const c = await hello(srv.url, id);
    for (let n = 1; n <= 5; n++) c.send('$m', n, 'm', n);
    await waitFor(() => slow.inFlight == 5, 2000, 'five accepts out');
    c.kill();
    await waitFor(() => srv.wss.clients.size == 0, 2000, 'the connection closed on the server');
    slow.release();
    await waitFor(() => srv.handled.length == 5, 2000, 'all five handed over');
    // The client comes back: told they are stored, it resends nothing; resent anyway, they are duplicates.
    const again = await ProtocolClient.hello(srv.url, id, 0);
    cleanup(() => again.client.kill());
    expect(again.welcome.seq).toBe(5);
    again.client.send('$m', 5, 'm', 5);
    await again.client.ackOf(5);
    expect(srv.of(id)).toEqual([1, 2, 3, 4, 5].map((n) => ['m', n]));
  });

  it('a number that jumps too far goes out never: the connection is closed with 1008 in its turn, nothing after it stored', async () => {
    const slow = slowStore();
    const srv = await serveWs({ store: slow.store });
    const id = sid();
    const c = await hello(srv.url, id);
    c.send('$m', 1, 'm', 1);
    c.send('$m', 2, 'm', 2);
    c.send('$m', 5000, 'm', 5000);
    c.send('$m', 5001, 'm', 5001);
    await waitFor(() => slow.inFlight == 2, 2000, 'two accepts out');
    slow.release();
    expect((await c.closeOf()).code).toBe(CloseCode.violation);
    expect(slow.accepted).toEqual([1, 2]);
    expect(srv.of(id)).toEqual([
      ['m', 1],
      ['m', 2],
    ]);
  });
});

describe('a store that claims (`Store.handled`, `Store.lease`)', () => {
  afterEach(() => void vi.useRealTimers());

  it('each message handed over is committed once its handler returned', async () => {
    const slow = slowStore({ lease: 1000 });
    const srv = await serveWs({ store: slow.store });
    const id = sid();
    const c = await hello(srv.url, id);
    for (let n = 1; n <= 5; n++) c.send('$m', n, 'm', n);
    await waitFor(() => slow.inFlight == 5, 2000, 'five claims out');
    slow.release();
    await c.ackOf(5);
    expect(srv.of(id)).toEqual([1, 2, 3, 4, 5].map((n) => ['m', n]));
    expect(slow.committed).toEqual([1, 2, 3, 4, 5]);
  });

  /** A store that claims with a lease of 1,000 ms on a fake `performance` clock, and message 1's claim out. */
  const firstClaimOut = async () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const slow = slowStore({ lease: 1000 });
    const srv = await serveWs({ store: slow.store });
    const id = sid();
    const c = await hello(srv.url, id);
    c.send('$m', 1, 'm', 1);
    await waitFor(() => slow.inFlight == 1, 2000, 'the first claim out');
    return { slow, srv, id, c };
  };

  it('a claim answered after its lease is not handed over, nor anything after it on its connection: closed with 1013, nothing acknowledged', async () => {
    const { slow, srv, c } = await firstClaimOut();
    vi.advanceTimersByTime(500);
    for (let n = 2; n <= 4; n++) c.send('$m', n, 'm', n);
    await waitFor(() => slow.inFlight == 4, 2000, 'four claims out');
    // 1's claim is 1,001 ms old when the store answers, the others' 501 ms: none is handed over (order).
    vi.advanceTimersByTime(501);
    slow.release();
    const closed = await c.closeOf();
    expect(closed.code).toBe(CloseCode.tryAgain);
    expect(closed.reason).toMatch(/store too slow/);
    expect(srv.handled).toEqual([]);
    expect(slow.committed).toEqual([]);
    expect(c.frames.filter((f) => f[0] == '$ack')).toEqual([]);
    expect(String(srv.errors[0])).toMatch(/answered the claim of message 1 .* after its lease \(1000 ms\)/);
  });

  it('a claim answered within its lease is handed over (the clock is read when the claim goes out, not when it is answered)', async () => {
    const { slow, srv, id, c } = await firstClaimOut();
    vi.advanceTimersByTime(999);
    slow.release();
    await c.ackOf(1);
    expect(srv.of(id)).toEqual([['m', 1]]);
    expect(slow.committed).toEqual([1]);
  });
});

/**
 * A pipelined store over memoryStore that answers by batch (`acceptBatched`, `appendBatched`), as redisStore
 * does: the calls of a session in one tick share one promise, answered once `release()` is called (all at
 * once, in order). It counts the calls of each kind, the batches, and the reactions registered on its
 * promises (`then`), to tell a helper that reacts per batch from one that reacts per message.
 */
function batchStore(refuse?: (seq: number) => Error | undefined) {
  const base = memoryStore({ history: 1000 });
  let gate = deferred<void>();
  const s = {
    calls: { accept: 0, append: 0, acceptBatched: 0, appendBatched: 0 },
    batches: 0,
    thens: 0,
    accepted: [] as number[],
    release: () => {
      const g = gate;
      gate = deferred<void>();
      g.resolve();
    },
  };
  /** A promise whose reactions are counted, settled by `answer` after the gate opens. */
  const batchOf = <T>(answer: (calls: unknown[][]) => T[]) => {
    const calls: unknown[][] = [];
    s.batches++;
    const promise = gate.promise.then(() => answer(calls));
    const then = promise.then.bind(promise);
    promise.then = ((...a: Parameters<typeof then>) => (s.thens++, then(...a))) as typeof then;
    return { calls, promise };
  };
  type Open<T> = { calls: unknown[][]; promise: Promise<T[]> };
  const open = { accept: new Map<string, Open<boolean | void | Error>>(), append: new Map<string, Open<number>>() };
  const join = <T>(m: Map<string, Open<T>>, id: string, make: () => Open<T>, call: unknown[]): Promise<T[]> => {
    let b = m.get(id);
    if (!b) m.set(id, (b = make())), process.nextTick(() => m.delete(id));
    b.calls.push(call);
    return b.promise;
  };
  const store: Store = {
    ...base,
    pipelined: true,
    accept: (id, seq) => (s.calls.accept++, base.accept(id, seq)),
    append: (id, event, args) => (s.calls.append++, base.append(id, event, args)),
    acceptBatched(id, seq) {
      s.calls.acceptBatched++;
      return join(open.accept, id, () => batchOf((calls) => calls.map(([n]) => refuse?.(n as number) ?? (s.accepted.push(n as number), base.accept(id, n as number)))), [seq]);
    },
    appendBatched(id, event, args) {
      s.calls.appendBatched++;
      return join(open.append, id, () => batchOf((calls) => calls.map(([e, a]) => base.append(id, e as string, a as unknown[]) as number)), [event, args]);
    },
  };
  return Object.assign(s, { store });
}

describe('a pipelined store that answers by batch (`acceptBatched`, `appendBatched`)', () => {
  it('a burst is claimed and echoed through the batch methods: one reaction per batch, not per message; each message handed over once, in order', async () => {
    const b = batchStore();
    const sent: Promise<number>[] = [];
    const srv = await serveWs({ store: b.store, onMessage: (s, _e, n) => void sent.push(srv.server.send(s, 'echo', n)) });
    const id = sid();
    const c = await hello(srv.url, id);
    for (let n = 1; n <= 100; n++) c.send('$m', n, 'm', n);
    await waitFor(() => b.calls.acceptBatched > 1, 2000, 'claims out');
    for (let i = 0; i < 40 && c.of('$m').length < 100; i++) {
      b.release();
      await new Promise((r) => setTimeout(r, 10));
    }
    await c.ackOf(100);
    await c.until(() => c.of('$m').length == 100, 'the echoes');
    expect(srv.of(id)).toEqual(Array.from({ length: 100 }, (_, i) => ['m', i + 1]));
    expect(b.accepted).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(c.of('$m')).toEqual(Array.from({ length: 100 }, (_, i) => [i + 1, 'echo', i + 1]));
    expect(await Promise.all(sent)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    // Every call went through the batch methods, and the helper reacted to each batch a bounded number of
    // times (registering a reaction per message would make `thens` at least 200).
    expect(b.calls).toEqual({ accept: 0, append: 0, acceptBatched: 100, appendBatched: 100 });
    expect(b.batches).toBeLessThan(100);
    expect(b.thens).toBeLessThanOrEqual(3 * b.batches);
  });

  it('an Error in a batch’s answers fails that message in its turn: closed with 1013, the ones before it handed over, none after it', async () => {
    const b = batchStore((n) => (n == 3 ? new Error('refused by the test store') : undefined));
    const srv = await serveWs({ store: b.store });
    const id = sid();
    const c = await hello(srv.url, id);
    for (let n = 1; n <= 5; n++) c.send('$m', n, 'm', n);
    await waitFor(() => b.calls.acceptBatched == 5, 2000, 'five claims out');
    b.release();
    const closed = await c.closeOf();
    expect(closed.code).toBe(CloseCode.tryAgain);
    expect(srv.of(id)).toEqual([
      ['m', 1],
      ['m', 2],
    ]);
    expect(String(srv.errors[0])).toMatch(/refused by the test store/);
  });
});
