// redisStore against a real redis-server (test/helpers/redis.ts): what each store call does to Redis, and
// the guarantees it keeps when two stores (two processes, as Redis sees them: two connections) share a session.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { redisStore, type RedisStore } from '../../src/server/redis';
import type { StoreNews } from '../../src/server/store';
import { isSurewireError } from '../../src/errors';
import { startRedis, waitForAsync, type RedisServer } from '../helpers/redis';
import { waitFor } from '../helpers/wait';
import { sid } from './fixtures';

let redis: RedisServer;
beforeAll(async () => void (redis = await startRedis()));
afterAll(() => redis?.stop());

const client = (): Redis => redis.client({ autoResendUnfulfilledCommands: false });
const stores: RedisStore[] = [];
const store = (o: Parameters<typeof redisStore>[1] = {}): RedisStore => {
  const s = redisStore(client(), o);
  stores.push(s);
  return s;
};
afterAll(() => Promise.all(stores.map((s) => s.close())));
/** Two processes' stores, each watching one new session (as after a `$hello` on each). */
const twoProcesses = () => {
  const a = store();
  const b = store();
  const id = sid();
  a.watch(id, () => {});
  b.watch(id, () => {});
  return { a, b, id };
};

describe('redisStore: one process', () => {
  it('a new session starts at seq null, offset 0; accept, handled, append and since keep what they were given', async () => {
    const s = store();
    const id = sid();
    expect(await s.open(id, '', true)).toEqual({ seq: null, offset: 0, principal: '', fresh: true });
    expect(await s.accept(id, 1)).toBe(true);
    expect(await s.accept(id, 5)).toBe(true);
    await s.handled(id, 5);
    expect(await s.append(id, 'a', [1, { x: 'é' }])).toBe(1);
    expect(await s.append(id, 'b', [])).toBe(2);
    expect(await s.open(id, '', true)).toEqual({ seq: 5, offset: 2, principal: '', fresh: false });
    expect(await s.since(id, 0)).toEqual([
      { offset: 1, event: 'a', args: [1, { x: 'é' }] },
      { offset: 2, event: 'b', args: [] },
    ]);
    expect(await s.since(id, 1)).toEqual([{ offset: 2, event: 'b', args: [] }]);
    expect(await s.since(id, 2)).toEqual([]);
    expect(await s.since(id, 3), 'beyond the last offset').toBeUndefined();
    expect(await s.since(sid('unknown'), 0), 'an unknown session').toBeUndefined();
  });

  it('accept claims numbers above the last one handed over (numbers may skip); open answers the last one handed over', async () => {
    const s = store();
    const id = sid();
    await s.open(id, '', true);
    expect(await s.accept(id, 3)).toBe(true);
    await s.handled(id, 3);
    expect(await s.accept(id, 3)).toBe(false);
    expect(await s.accept(id, 2)).toBe(false);
    expect(await s.accept(id, 10)).toBe(true);
    await s.handled(id, 10);
    expect((await s.open(id, '', true))!.seq).toBe(10);
    // Claimed and not handed over: the client is welcomed with 10, resends 11, and this process claims it again.
    expect(await s.accept(id, 11)).toBe(true);
    expect((await s.open(id, '', true))!.seq).toBe(10);
    expect(await s.accept(id, 11)).toBe(true);
  });

  it('acceptBatched and appendBatched answer the calls of a session in one tick with one promise: every answer in order, a refused number as its error', async () => {
    const { a, b, id } = twoProcesses();
    await a.open(id, '', true);
    const claims = [1, 2, 3].map((n) => a.acceptBatched(id, n));
    expect(claims[1]).toBe(claims[0]);
    expect(claims[2]).toBe(claims[0]);
    expect(await claims[0]).toEqual([true, true, true]);
    await a.handled(id, 2);
    // Another tick, another batch: 2 is a duplicate, 3 claimed again (its claim is this process's own), 4 new.
    const next = [2, 3, 4].map((n) => a.acceptBatched(id, n));
    expect(next[0]).not.toBe(claims[0]);
    expect(await next[0]).toEqual([false, true, true]);
    const appended = ['x', 'y', 'z'].map((e, i) => a.appendBatched(id, e, [i, 'line\nbreak']));
    expect(appended[2]).toBe(appended[0]);
    expect(await appended[0]).toEqual([1, 2, 3]);
    expect((await a.since(id, 0))!.map((m) => [m.offset, m.event, ...m.args])).toEqual([
      [1, 'x', 0, 'line\nbreak'],
      [2, 'y', 1, 'line\nbreak'],
      [3, 'z', 2, 'line\nbreak'],
    ]);
    // The client moves to b while a's claims of 3 and 4 are live: both busy for b, each with its error.
    await b.open(id, '', true);
    const busy = await Promise.all([b.acceptBatched(id, 2), b.acceptBatched(id, 3), b.acceptBatched(id, 4)]);
    expect(busy[0]!.slice(0, 1)).toEqual([false]);
    expect(busy[0]!.slice(1).map((x) => String(x))).toEqual([expect.stringMatching(/claiming message 3 .* another process claimed it/), expect.stringMatching(/claiming message 4 .* another process claimed it/)]);
    expect(() => a.appendBatched(id, 'big', [10n])).toThrow(/cannot be stored as JSON/);
  });

  it('the history keeps `history` messages; trim drops the acknowledged ones; since says when it no longer reaches back', async () => {
    const s = store({ history: 3 });
    const id = sid();
    for (let i = 1; i <= 5; i++) await s.append(id, 'm', [i]);
    expect((await s.since(id, 2))!.map((m) => m.offset)).toEqual([3, 4, 5]);
    expect(await s.since(id, 1), 'offset 2 was pushed out').toBeUndefined();
    await s.trim(id, 4);
    expect((await s.since(id, 4))!.map((m) => m.offset)).toEqual([5]);
    expect(await s.since(id, 3), 'offset 4 was trimmed').toBeUndefined();
    await s.trim(id, 5);
    expect(await s.since(id, 5)).toEqual([]);
    expect(await s.since(id, 4)).toBeUndefined();
    expect(await s.append(id, 'm', [6]), 'offsets go on after a trim').toBe(6);
  });

  it('keeps the data in the documented layout: a hash, a stream with the offsets as ids, a sorted set of sessions', async () => {
    const s = store({ prefix: 'layout:' });
    const id = sid();
    const c = client();
    await s.open(id, '', true);
    await s.accept(id, 7);
    await s.append(id, 'hi', ['there']);
    expect(await c.hgetall(`layout:{${id}}:s`)).toMatchObject({ seq: '7', off: '1', ep: '1', p: '', hc: '1' });
    expect(await c.xrange(`layout:{${id}}:h`, '-', '+')).toEqual([['1-0', ['m', '["hi","there"]']]]);
    expect(await c.zscore('layout:sessions', id)).not.toBeNull();
    expect([...(await s.sessions())]).toContain(id);
    c.disconnect();
  });

  it('a session idle past `ttl` loses its history (a discontinuity for its client), and past `keep` its record', async () => {
    const s = store({ ttl: 150, keep: 600 });
    const id = sid();
    await s.open(id, '', true);
    await s.accept(id, 4);
    await s.handled(id, 4);
    await s.append(id, 'm', [1]);
    // Held (a connection here), the history has the long expiry; released, the short one.
    await s.release(id, true);
    const c = client();
    await waitForAsync(async () => (await c.exists(`surewire:{${id}}:h`)) == 0, 3000, 'the history expired');
    // The record stays: the client's resends are still deduplicated, and a client at offset 0 is told it missed offset 1.
    expect(await s.since(id, 0)).toBeUndefined();
    expect(await s.open(id, '', true)).toMatchObject({ seq: 4, offset: 1, fresh: false });
    await waitForAsync(async () => (await c.exists(`surewire:{${id}}:s`)) == 0, 3000, 'the record expired');
    expect(await s.open(id, '', true)).toMatchObject({ seq: null, offset: 0, fresh: true });
    c.disconnect();
  });

  it('refuses a client that would resend unanswered commands, bad options, and arguments JSON cannot carry', async () => {
    expect(() => redisStore(redis.client())).toThrow(/autoResendUnfulfilledCommands: false/);
    expect(() => redisStore({} as never)).toThrow(/an ioredis client/);
    expect(() => redisStore(redis.client({ autoResendUnfulfilledCommands: false, enableAutoPipelining: true }))).toThrow(/enableAutoPipelining/);
    const c = client();
    expect(() => redisStore(c, { history: -1 })).toThrow(/redisStore\.history/);
    expect(() => redisStore(c, { ttl: 1.5 })).toThrow(/redisStore\.ttl/);
    expect(() => redisStore(c, { ttl: 1000, keep: 10 })).toThrow(/redisStore\.keep/);
    const s = store();
    await expect(s.append(sid(), 'big', [10n])).rejects.toThrow(/cannot be stored as JSON/);
  });

  it('scripts Redis forgot (SCRIPT FLUSH) fail the calls that find them missing, are loaded again, and a burst never lands out of order', async () => {
    const s = store();
    const id = sid();
    await s.open(id, '', true);
    const c = client();
    await c.script('FLUSH');
    // Appends over many ticks, none awaited: each tick's batch is one call. Those that find the script missing
    // fail (the app is told); the others land in the order they were sent.
    const results: Promise<number | string>[] = [];
    for (let tick = 0; tick < 40; tick++) {
      for (let i = 0; i < 5; i++) results.push(s.append(id, 'm', [tick * 5 + i]).catch((e: Error) => e.message));
      // Some batches go out before the answer to the one before (a later tick of the same turn), some after.
      await new Promise((r) => (tick % 3 ? process.nextTick(r) : setImmediate(r)));
    }
    const got = await Promise.all(results);
    const failed = got.filter((r) => typeof r == 'string');
    const stored = got.flatMap((r, i) => (typeof r == 'number' ? [[r, i] as const] : []));
    expect(failed.every((m) => /NOSCRIPT/.test(m as string)), String(failed[0])).toBe(true);
    // How many batches fail depends on how fast Redis answers (a busy machine: more); that the scripts are
    // loaded again does not: the next call after the failures stores, after everything stored before it.
    const next = await s.append(id, 'm', [got.length]);
    expect(next, 'the next call, once the scripts are loaded again').toBe(stored.length + 1);
    expect(stored.map(([off]) => off), 'offsets in the order of the calls').toEqual(stored.map((_, k) => k + 1));
    expect((await s.since(id, 0))!.map((m) => m.args[0])).toEqual([...stored.map(([, i]) => i), got.length]);
    expect(await s.accept(id, 1)).toBe(true);
    c.disconnect();
  });
});

describe('redisStore: principals, holds, limits', () => {
  it('open binds a new session to its principal; another principal gets the record and changes nothing', async () => {
    const a = store();
    const b = store();
    const id = sid();
    const heard: StoreNews[] = [];
    a.watch(id, (n) => heard.push(n));
    expect(await a.open(id, 'alice', true)).toEqual({ seq: null, offset: 0, principal: 'alice', fresh: true });
    await a.accept(id, 3);
    await a.handled(id, 3);
    b.watch(id, () => {});
    expect(await b.open(id, 'mallory', true)).toEqual({ seq: 3, offset: 0, principal: 'alice', fresh: false });
    // No takeover was published for the foreign open: a's connection stays.
    await b.open(id, 'alice', true);
    await waitFor(() => heard.length, 2000, 'the takeover by alice on b');
    expect(heard).toEqual([{ type: 'takeover' }]);
  });

  it('open without `create` creates nothing; a session made by append is bound by its first open (fresh)', async () => {
    const s = store();
    const id = sid();
    expect(await s.open(id, 'p', false)).toBeUndefined();
    expect(await s.since(id, 0)).toBeUndefined();
    await s.append(id, 'early', []);
    expect(await s.open(id, 'p', false)).toEqual({ seq: null, offset: 1, principal: 'p', fresh: true });
    expect(await s.open(id, 'p', false)).toEqual({ seq: null, offset: 1, principal: 'p', fresh: false });
  });

  it('`sessions` bounds the sessions over every process: open answers undefined, append throws a store error', async () => {
    const s = store({ prefix: `full-${sid()}:`, sessions: 2 });
    await s.open(sid(), '', true);
    await s.append(sid(), 'm', []);
    expect(await s.open(sid(), '', true)).toBeUndefined();
    await expect(s.append(sid(), 'm', [])).rejects.toThrow(/no room for session .* all 2 sessions are in use/);
  });

  it('a held session keeps its history the long expiry (`keep`); released by every holder, the short one (`ttl`)', async () => {
    const a = store({ ttl: 60_000, keep: 600_000 });
    const b = store({ ttl: 60_000, keep: 600_000 });
    const id = sid();
    const c = client();
    await a.open(id, '', true);
    await b.open(id, '', true);
    await a.append(id, 'm', []);
    const pttl = (): Promise<number> => c.pttl(`surewire:{${id}}:h`);
    expect(await pttl()).toBeGreaterThan(60_000);
    await a.release(id, true);
    await a.release(id, true);
    expect(await pttl(), 'still held by b').toBeGreaterThan(60_000);
    await b.release(id, false);
    expect(await pttl()).toBeLessThanOrEqual(60_000);
    await a.append(id, 'm', []);
    expect(await pttl()).toBeLessThanOrEqual(60_000);
    c.disconnect();
  });
});

describe('redisStore: two processes on one Redis', () => {
  it('accept-once: of two stores racing for the same numbers, exactly one stores each', async () => {
    const a = store();
    const b = store();
    const id = sid();
    const stopA = a.watch(id, () => {});
    const stopB = b.watch(id, () => {});
    await Promise.all([a.open(id, '', true), b.open(id, '', true)]);
    const wins: string[] = [];
    for (let n = 1; n <= 200; n++) {
      const [ra, rb] = await Promise.all([a.accept(id, n).catch(() => 'x'), b.accept(id, n).catch(() => 'x')]);
      wins.push(`${ra == true ? 'a' : ''}${rb == true ? 'b' : ''}`);
    }
    expect(wins.filter((w) => w.length != 1), 'numbers stored by both or by neither').toEqual([]);
    stopA();
    stopB();
  });

  it('only the process of the last $hello claims: an older one is refused, never skips a number', async () => {
    const { a, b, id } = twoProcesses();
    await a.open(id, '', true);
    await b.open(id, '', true);
    const e = await a.accept(id, 1).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(isSurewireError(e) && e.code).toBe('store');
    expect(String(e)).toMatch(/changed under this process/);
    expect(await b.accept(id, 1)).toBe(true);
    await b.handled(id, 1);
    expect((await a.open(id, '', true))!.seq).toBe(1);
  });

  it('a claim is its process’s for its lease: another process finds the number busy until it is committed (a duplicate then) or the lease ends (claimed again)', async () => {
    const a = store({ lease: 300 });
    const b = store({ lease: 300 });
    const id = sid();
    a.watch(id, () => {});
    b.watch(id, () => {});
    await a.open(id, '', true);
    expect(await a.accept(id, 1)).toBe(true);
    expect(await a.accept(id, 2)).toBe(true);
    // The client moves to b: welcomed with nothing handed over, it resends 1 and 2.
    expect((await b.open(id, '', true))!.seq).toBeNull();
    const busy = (n: number): Promise<unknown> =>
      b.accept(id, n).then(
        () => 'claimed',
        (x: unknown) => x,
      );
    expect(String(await busy(1))).toMatch(/another process claimed it and may still hand it over \(its lease ends in \d+ ms/);
    // a hands 1 over and commits it (its claim was made before b's $hello): 1 is a duplicate for b, 2 still busy.
    await a.handled(id, 1);
    expect(await b.accept(id, 1)).toBe(false);
    expect(String(await busy(2))).toMatch(/another process claimed it/);
    // a never hands 2 over (killed): once its lease has ended, b claims it; a's late claims are refused.
    await waitForAsync(async () => (await busy(2)) == 'claimed', 3000, 'the lease of 2 to end');
    expect(await b.accept(id, 3)).toBe(true);
    await expect(a.accept(id, 4)).rejects.toThrow(/changed under this process/);
  });

  it('release frees the claims its process will not hand over at once, after committing what it handed over', async () => {
    const a = store({ lease: 60_000 });
    const b = store({ lease: 60_000 });
    const id = sid();
    a.watch(id, () => {});
    b.watch(id, () => {});
    await a.open(id, '', true);
    await a.accept(id, 1);
    await a.accept(id, 2);
    await b.open(id, '', true);
    await expect(b.accept(id, 1)).rejects.toThrow(/another process claimed it/);
    void a.handled(id, 1);
    await a.release(id, false);
    expect(await b.accept(id, 1)).toBe(false);
    expect(await b.accept(id, 2)).toBe(true);
  });

  it('a commit rides on the session’s next claim (no call of its own); alone, it is one call', async () => {
    const c = client();
    let calls = 0;
    const evalsha = c.evalsha.bind(c);
    const counted = Object.assign(Object.create(c) as Redis, { evalsha: (...a: Parameters<Redis['evalsha']>) => (calls++, evalsha(...a)) });
    const s = redisStore(counted);
    stores.push(s);
    const id = sid();
    await s.open(id, '', true);
    calls = 0;
    await Promise.all([1, 2, 3].map((n) => s.accept(id, n)));
    expect(calls, 'three claims in one tick: one call').toBe(1);
    const committed = s.handled(id, 3);
    await Promise.all([s.accept(id, 4), committed]);
    expect(calls, 'the commit of 3 with the claim of 4').toBe(2);
    await s.handled(id, 4);
    expect(calls, 'a commit alone').toBe(3);
    expect(await c.hmget(`surewire:{${id}}:s`, 'seq', 'done')).toEqual(['4', '4']);
  });

  it('news: an append on one store reaches the other store watching the session, with the message; not itself', async () => {
    const a = store();
    const b = store();
    const id = sid();
    const heardB: StoreNews[] = [];
    b.watch(id, (n) => heardB.push(n));
    await b.open(id, '', true);
    await a.append(id, 'hello', [{ n: 1 }]);
    await waitFor(() => heardB.length, 2000, 'news on b');
    expect(heardB).toEqual([{ type: 'append', offset: 1, event: 'hello', args: [{ n: 1 }] }]);
    // b's own append is not news to b; the next one of a is.
    await b.append(id, 'own', []);
    await a.append(id, 'again', []);
    await waitFor(() => heardB.length == 2, 2000, 'the second news on b');
    expect(heardB[1]).toEqual({ type: 'append', offset: 3, event: 'again', args: [] });
  });

  it('news: a $hello read on one store is a takeover for the other, unless it is older than the other’s own', async () => {
    const a = store();
    const b = store();
    const id = sid();
    const heardA: StoreNews[] = [];
    a.watch(id, (n) => heardA.push(n));
    b.watch(id, () => {});
    await a.open(id, '', true);
    await b.open(id, '', true);
    await waitFor(() => heardA.length, 2000, 'the takeover on a');
    expect(heardA).toEqual([{ type: 'takeover' }]);
    // a reads again (the client came back): b's older takeover is not news any more.
    heardA.length = 0;
    await a.open(id, '', true);
    await a.append(id, 'after', []);
    const c = client();
    await c.publish('surewire:news', `t other ${id} 1`);
    await b.append(id, 'marker', []);
    await waitFor(() => heardA.length, 2000, 'the marker');
    expect(heardA).toEqual([{ type: 'append', offset: 2, event: 'marker', args: [] }]);
    c.disconnect();
  });

  it('while Redis is down every call fails at once with a store error; the watchers hear `lost`; after it is back, calls work again', async () => {
    const own = await startRedis();
    const c = own.client({ autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 0 });
    const s = redisStore(c);
    const id = sid();
    const heard: StoreNews[] = [];
    s.watch(id, (n) => heard.push(n));
    await s.open(id, '', true);
    await own.kill();
    await waitFor(() => c.status == 'reconnecting', 3000, 'the client reconnecting');
    const e = await s.accept(id, 1).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(isSurewireError(e) && e.code).toBe('store');
    expect(heard).toContainEqual({ type: 'lost' });
    await own.start();
    await waitFor(() => c.status == 'ready', 5000, 'the client ready again');
    // Redis came back empty: the session is new (its client will be told of a discontinuity).
    expect(await s.open(id, '', true)).toMatchObject({ seq: null, offset: 0, fresh: true });
    await s.close();
    await own.stop();
  });
});
