// Reliable delivery across processes, in a real Chromium: the CDN build (dist/surewire.min.js) on the reliable
// fixture page (fixtures/reliable.html) talks to two server processes on one redis-server
// (test/fault/cross-process-node.mjs: `reliable()` on `redisStore`) through a load balancer that sends each
// new connection to the process it currently points at. The page sends 1,000 numbered messages; this test
// process sends 1,000 to the page's session from a `reliable()` of its own (so every one of them crosses
// processes). Meanwhile the process the page is on is killed (SIGKILL) and the balancer turns to the other one;
// later the killed one is started again and the balancer turns back, cutting the page's connection.
// The page gets 1…1,000 once each, in order; the server apps get every page message, in order, none lost,
// and none twice but those the killed process handed over before Redis had its commit (docs/redis.md).
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import { reliable } from '../../src/server';
import { redisStore } from '../../src/server/redis';
import { startRedis, type RedisServer } from '../helpers/redis';
import { Node, needBuild, readLog } from '../fault/cross-process-rig';
import { startStaticServer, type StaticServer } from './helpers/static-server';
import { expectNoPageErrors, launchChromium } from './helpers/browser';
import { openReliablePage, pageGot, pageSnapshot, sequenceProblems, inOrderOnce, waitInPage, upTo } from './helpers/reliable';

let browser: Browser;
let web: StaticServer;
let redis: RedisServer;
let context: BrowserContext | undefined;

beforeAll(async () => {
  needBuild();
  [browser, web, redis] = await Promise.all([launchChromium(), startStaticServer(), startRedis()]);
});
afterAll(async () => {
  await context?.close();
  await browser?.close();
  await web?.close();
  await redis?.stop();
});

/** A TCP load balancer on 127.0.0.1: each new connection goes to `target()`'s port; `cut()` drops every current one. */
async function balancer(target: () => number): Promise<{ port: number; cut(): void; close(): Promise<void> }> {
  const links = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target(), '127.0.0.1');
    for (const s of [client, upstream]) {
      links.add(s);
      s.on('error', () => {});
      s.on('close', () => (links.delete(s), client.destroy(), upstream.destroy()));
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const cut = (): void => links.forEach((s) => s.destroy());
  return {
    port: (server.address() as { port: number }).port,
    cut,
    close: () => (cut(), new Promise<void>((resolve) => server.close(() => resolve()))),
  };
}

describe('reliable delivery across processes on Redis, in Chromium', () => {
  it('1,000 messages each way while the process the page is on is killed and another takes over: the page gets each once, in order', async () => {
    const N = 1000;
    const dir = mkdtempSync(join(tmpdir(), 'surewire-xp-browser-'));
    const log = join(dir, 'handled.log');
    const nodes = [new Node(redis.url, log, N), new Node(redis.url, log, N)];
    const store = redisStore(redis.client({ autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 1 }), { history: N });
    const producer = reliable({ store, onMessage: () => {}, onError: () => {} });
    let on = 0;
    const lb = await balancer(() => nodes[on]!.port);
    try {
      await Promise.all(nodes.map((n) => n.start()));
      context = await browser.newContext();
      const t = await openReliablePage(context, web.origin, {
        url: `ws://127.0.0.1:${lb.port}/`,
        options: { reconnect: { initialDelay: 20, maxDelay: 100, jitter: 0 }, heartbeat: { interval: 150, timeout: 400 } },
        send: { to: N, batch: 5, every: 10 },
      });
      const { session } = await pageSnapshot(t);
      const sends: Promise<number>[] = [];
      for (let k = 1; k <= N; k++) {
        sends.push(producer.send(session, 'p', k));
        if (k == 300) {
          // The page's process dies; the balancer turns to the other one.
          on = 1;
          await nodes[0]!.kill();
        }
        if (k == 650) {
          await nodes[0]!.start();
          on = 0;
          lb.cut();
        }
        if (k % 5 == 0) await new Promise((r) => setTimeout(r, 10));
      }
      expect(await Promise.all(sends), 'offsets given out').toEqual(upTo(N));
      await waitInPage(t, (s) => s.delivered && s.got >= N, 20_000, 'the page delivered everything and got everything');
      expect(sequenceProblems(await pageGot(t), N), 'server → page').toEqual(inOrderOnce(N));
      expect((await pageSnapshot(t)).discontinuities).toEqual([]);

      const { handled, committed } = readLog(log, session);
      const got = handled.map(([, n]) => n);
      const once = new Set(got);
      const lost = upTo(N).filter((n) => !once.has(n));
      const killed = new Set(nodes[0]!.killed);
      // A second hand-over only where the first was by the killed process, before Redis had its commit of it.
      const firstBy = new Map<number, number>();
      const doubtful: number[] = [];
      for (const [pid, n] of handled) {
        const by = firstBy.get(n);
        if (by === undefined) firstBy.set(n, pid);
        else if (!killed.has(by) || (committed.get(by) ?? 0) >= n) doubtful.push(n);
      }
      console.log(`[cross-process, Chromium] page → servers: handled ${got.length}, unique ${once.size}, lost ${lost.length}`);
      expect(lost, 'page messages lost').toEqual([]);
      expect(doubtful, 'page messages handed over twice, other than by the killed process before its commit').toEqual([]);
      expect([...firstBy.keys()].every((n, i, a) => i == 0 || n > a[i - 1]!), 'page messages in order').toBe(true);
      expectNoPageErrors(t);
    } finally {
      await context?.close();
      context = undefined;
      await producer.close();
      await store.close();
      await lb.close();
      await Promise.all(nodes.map((n) => n.stop()));
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
