// The demo (examples/server/index.mjs) in its Redis mode: two demo servers on one real redis-server, as
// `REDIS_URL=… PORT=3000` and `PORT=3001` would start them, are one chat. Members on either process see each
// other's messages once, in order, typing hints cross, and a member moved from one process to the other
// misses nothing said meanwhile. It serves the built library: run `npm run build` first.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Surewire, reliable } from '../../src/index';
import { startServer, type ChatMessage, type DemoServer } from '../../examples/server/index.mjs';
import { NodeWebSocket } from '../helpers/ws-client';
import { startRedis, type RedisServer } from '../helpers/redis';
import { waitFor } from '../helpers/wait';

let redis: RedisServer;
beforeAll(async () => void (redis = await startRedis()));
afterAll(() => redis?.stop());

const cleanups: (() => unknown)[] = [];
const logged: unknown[][] = [];
const log = { warn: () => {}, error: (...a: unknown[]) => void logged.push(a) };
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  expect(logged.splice(0), 'errors logged by the demo').toEqual([]);
});

async function demo(): Promise<DemoServer> {
  const d = await startServer(0, '127.0.0.1', { log, redisUrl: redis.url });
  cleanups.push(() => d.close());
  return d;
}

/** A chat member as the pages make one; `to()` says which process its next connection goes to. */
function member(nick: string, to: () => number) {
  const delivery = reliable();
  const chat = new Surewire(() => `ws://127.0.0.1:${to()}/ws`, {
    WebSocket: NodeWebSocket,
    reliable: delivery,
    reconnect: { initialDelay: 10, maxDelay: 100, jitter: 0, stableAfter: 50 },
  });
  cleanups.push(() => chat.close());
  const m = { chat, delivery, messages: [] as ChatMessage[], histories: [] as ChatMessage[][], typing: [] as string[] };
  chat.on('message', (x: unknown) => void m.messages.push(x as ChatMessage));
  chat.on('history', (h: unknown) => void m.histories.push(h as ChatMessage[]));
  chat.on('typing', (t: unknown) => void m.typing.push((t as { nick: string }).nick));
  delivery.on('discontinuity', () => void chat.send('join', 'lobby', nick));
  chat.send('join', 'lobby', nick);
  return m;
}

describe('the demo on Redis: two processes, one chat', () => {
  it('members on two processes chat with each other; one moved to the other process misses nothing', async () => {
    const p3000 = await demo();
    const p3001 = await demo();
    const ada = member('ada', () => p3000.port);
    let bobAt = p3001.port;
    const bob = member('bob', () => bobAt);
    await waitFor(() => ada.histories.length && bob.histories.length, 5000, 'both joined');
    ada.chat.send('message', 'hello from 3000');
    await waitFor(() => bob.messages.length, 5000, 'bob hears ada');
    bob.chat.send('message', 'hello from 3001');
    await waitFor(() => ada.messages.length == 2, 5000, 'ada hears bob');

    // Bob's process stops answering him: his connection is cut and he comes back on the other process, while
    // ada goes on talking.
    bobAt = p3000.port;
    for (const ws of p3001.wss.clients) ws.terminate();
    for (let i = 1; i <= 20; i++) ada.chat.send('message', `while bob moves ${i}`);
    await waitFor(() => bob.messages.length == 22, 5000, 'bob has everything');
    const texts = (m: { messages: ChatMessage[] }): string[] => m.messages.map((x) => x.text);
    const expected = ['hello from 3000', 'hello from 3001', ...Array.from({ length: 20 }, (_, i) => `while bob moves ${i + 1}`)];
    expect(texts(bob)).toEqual(expected);
    await waitFor(() => ada.messages.length == 22, 5000, 'ada has everything');
    expect(texts(ada)).toEqual(expected);
    expect(new Set(bob.messages.map((x) => x.id)).size, 'message ids unique across processes').toBe(22);

    // A typing hint crosses processes too: carol on 3001, ada on 3000.
    const carol = member('carol', () => p3001.port);
    await waitFor(() => carol.histories.length, 5000, 'carol joined');
    expect(carol.histories[0]!.map((x) => x.text), 'the room history, from Redis').toEqual(expected);
    ada.chat.send('typing');
    await waitFor(() => carol.typing.length, 5000, 'carol sees ada typing');
    expect(carol.typing).toEqual(['ada']);
  });
});
