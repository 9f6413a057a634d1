// `reliable()` on redisStore: two servers, each with its own Redis connections (as two processes would
// have), on one real redis-server. Delivery from one to a client held by the other, broadcast, takeover,
// a client moving between them mid-burst, and Redis going away.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisStore } from '../../src/server/redis';
import { CloseCode } from '../../src/close-codes';
import { ProtocolClient, ReliableRawClient } from '../helpers/protocol-client';
import { startRedis, type RedisServer } from '../helpers/redis';
import { deferred, waitFor } from '../helpers/wait';
import type { Store, StoreNews } from '../../src/server/store';
import { cleanup, serveWs, sid, type Handled, type Served } from './fixtures';

let redis: RedisServer;
beforeAll(async () => void (redis = await startRedis()));
afterAll(() => redis?.stop());

/** A `reliable()` server on its own Redis connections; `handled` may be shared between servers. */
async function node(handled?: Handled[], r: RedisServer = redis): Promise<Served> {
  const store = redisStore(r.client({ autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 0 }));
  cleanup(() => store.close());
  return serveWs({ store, ...(handled ? { onMessage: (...h: unknown[]) => void handled.push(h as Handled) } : {}) });
}

const hello = async (url: string, session: string, offset = 0): Promise<ProtocolClient> => {
  const { client } = await ProtocolClient.hello(url, session, offset);
  cleanup(() => client.kill());
  return client;
};

describe('reliable() on redisStore, two processes', () => {
  it('send on A reaches the client connected to B at once, once, in order with B’s own sends', async () => {
    const a = await node();
    const b = await node();
    const id = sid();
    const c = await hello(b.url, id);
    expect(await a.server.send(id, 'from', 'a')).toBe(1);
    await c.until(() => c.messages().length == 1, 'the message from A');
    expect(await b.server.send(id, 'from', 'b')).toBe(2);
    expect(await a.server.send(id, 'from', 'a2')).toBe(3);
    await c.until(() => c.messages().length == 3, 'three messages');
    expect(c.messages()).toEqual([
      [1, 'from', 'a'],
      [2, 'from', 'b'],
      [3, 'from', 'a2'],
    ]);
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
  });

  it('a message appended on A while B reads the session for a $hello reaches the client once B has welcomed it', async () => {
    const a = await node();
    const inner = redisStore(redis.client({ autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 0 }));
    cleanup(() => inner.close());
    const read = deferred<void>();
    const gate = deferred<void>();
    const heard: StoreNews[] = [];
    // B's $hello read comes back only after A has appended and B has heard the news of it.
    const store: Store = {
      ...inner,
      open: async (...args) => {
        const r = await inner.open(...args);
        read.resolve();
        await gate.promise;
        return r;
      },
      watch: (id, listener) => inner.watch(id, (n) => (heard.push(n), listener(n))),
    };
    const b = await serveWs({ store });
    const id = sid();
    const c = await ProtocolClient.open(b.url);
    cleanup(() => c.kill());
    c.send('$hello', id, 0);
    await read.promise;
    await a.server.send(id, 'late', 1);
    await waitFor(() => heard.length, 2000, 'the news on B');
    gate.resolve();
    expect((await c.welcome()).offset, 'the read was taken before the append').toBe(0);
    await c.until(() => c.messages().length, 'the late message');
    expect(c.messages()).toEqual([[1, 'late', 1]]);
  });

  it('many sends from A and B at once reach the client on B, each once, in offset order', async () => {
    const a = await node();
    const b = await node();
    const id = sid();
    const c = await hello(b.url, id);
    const sent = [];
    for (let i = 0; i < 300; i++) sent.push((i % 2 ? a : b).server.send(id, 'm', i));
    const offsets = await Promise.all(sent);
    expect(new Set(offsets).size).toBe(300);
    await c.until(() => c.messages().length >= 300, '300 messages', 5000);
    expect(c.messages().map((m) => m[0])).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
  });

  it('broadcast on A reaches every session, on A and on B, once', async () => {
    const a = await node();
    const b = await node();
    const onA = await hello(a.url, sid('onA'));
    const onB = await hello(b.url, sid('onB'));
    const n = await a.server.broadcast('news', 'x');
    expect(n).toBeGreaterThanOrEqual(2);
    await onA.until(() => onA.messages().length, 'news on A');
    await onB.until(() => onB.messages().length, 'news on B');
    expect(onA.messages()).toEqual([[1, 'news', 'x']]);
    expect(onB.messages()).toEqual([[1, 'news', 'x']]);
  });

  it('a takeover on B closes the old connection on A with 1001; the new one gets what A had sent', async () => {
    const a = await node();
    const b = await node();
    const id = sid();
    const old = await hello(a.url, id);
    await a.server.send(id, 'm', 1);
    await old.until(() => old.messages().length, 'the message on A');
    const now = await hello(b.url, id);
    expect(await old.closeOf()).toEqual({ code: CloseCode.goingAway, reason: 'session taken over' });
    expect(now.open).toBe(true);
    expect(now.of('$welcome')[0]?.slice(0, 3)).toEqual([null, 1, true]);
    expect(now.messages()).toEqual([[1, 'm', 1]]);
  });

  it('a client moving between A and B mid-burst: every message handed over once, in order, across both', async () => {
    const handled: Handled[] = [];
    const a = await node(handled);
    const b = await node(handled);
    const id = sid();
    const client = new ReliableRawClient(id);
    cleanup(() => client.stop());
    const N = 600;
    const servers = [a, b];
    await client.connect(a.url);
    for (let k = 1, hop = 0; k <= N; k++) {
      client.send('m', k);
      // Every 50 messages the connection is killed without a word and the client goes to the other process,
      // with messages in flight on the old one.
      if (k % 50 == 0) {
        client.conn!.kill();
        await client.connect(servers[++hop % 2]!.url);
      }
    }
    await waitFor(() => client.acked, 10_000, 'every message acknowledged');
    const got = handled.map((h) => h[2]);
    expect(got).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(client.errors).toEqual([]);
    expect([...a.errors, ...b.errors]).toEqual([]);
  });

  it('while Redis is down: the live connection closes with 1013, a $hello is refused with 1013, nothing acknowledged; after, the client resumes with a discontinuity', async () => {
    const own = await startRedis();
    cleanup(() => own.stop());
    const handled: Handled[] = [];
    const a = await node(handled, own);
    const id = sid();
    const client = new ReliableRawClient(id);
    cleanup(() => client.stop());
    await client.connect(a.url);
    client.send('m', 1);
    await a.server.send(id, 'p', 1);
    await waitFor(() => client.acked && client.received.length == 1, 2000, 'the first exchange');
    await own.kill();
    expect((await client.conn!.closeOf(3000)).code).toBe(CloseCode.tryAgain);
    client.send('m', 2);
    const refused = await ProtocolClient.open(a.url);
    refused.send('$hello', id, 1);
    expect((await refused.closeOf(3000)).code).toBe(CloseCode.tryAgain);
    expect(client.unacked.map(([n]) => n), 'nothing acknowledged that was not stored').toEqual([2]);
    await own.start();
    // The client retries until the store answers again (ioredis reconnects with its own backoff).
    let welcome;
    for (let i = 0; i < 50 && !welcome; i++) {
      welcome = await client.connect(a.url).catch(() => undefined);
      if (!welcome) await new Promise((r) => setTimeout(r, 100));
    }
    expect(welcome).toMatchObject({ seq: null, offset: 0, resumed: false });
    expect(client.discontinuities).toEqual([{ from: 1, to: 0 }]);
    await waitFor(() => client.acked, 3000, 'message 2 acknowledged');
    expect(handled.map((h) => h[2])).toEqual([1, 2]);
    a.errors.length = 0; // the store's failures while Redis was down were reported, as they should
  });
});
