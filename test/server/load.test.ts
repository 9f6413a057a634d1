// Load: 200 real reliable clients, each its own principal, send 500 messages each through a TCP proxy that
// cuts every socket once mid-stream: the server hands each message to the app exactly once, in order per
// session, under the default limits.
import { describe, expect, it } from 'vitest';
import { Surewire } from '../../src/client';
import { reliable as reliableClient } from '../../src/reliable';
import { startTcpProxy } from '../helpers/tcp-proxy';
import { NodeWebSocket } from '../helpers/ws-client';
import { waitFor } from '../helpers/wait';
import { cleanup, serveWs } from './fixtures';

const CLIENTS = 200;
const MESSAGES = 500;

describe('load', () => {
  it(`${CLIENTS} reliable clients × ${MESSAGES} messages, every socket cut once: each message handled exactly once, in order`, async () => {
    const { port, handled, errors } = await serveWs({
      authenticate: ({ request }) => new URL(request!.url!, 'http://x').searchParams.get('user'),
    });
    const proxy = await startTcpProxy({ port });
    cleanup(() => proxy.close());
    const clients = Array.from({ length: CLIENTS }, (_, i) => {
      const delivery = reliableClient();
      let opens = 0;
      const client = new Surewire(proxy.url(`/?user=u${i}`), {
        WebSocket: NodeWebSocket,
        reliable: delivery,
        reconnect: { initialDelay: 20, maxDelay: 200 },
      });
      client.connection.on('open', () => void opens++);
      cleanup(() => client.close());
      return { client, delivery, opens: () => opens };
    });
    await waitFor(() => clients.every((c) => c.opens() == 1), 10_000, 'every client open');
    const half = MESSAGES / 2;
    for (const { client } of clients) for (let n = 1; n <= half; n++) client.send('m', n);
    // Every socket cut once, while the first half is on its way.
    await waitFor(() => handled.length >= (CLIENTS * half) / 4, 10_000, 'a quarter handled');
    proxy.cut();
    for (const { client } of clients) for (let n = half + 1; n <= MESSAGES; n++) client.send('m', n);
    await Promise.all(clients.map((c) => c.delivery.delivered()));
    expect(clients.every((c) => c.opens() == 2), 'every client reconnected once').toBe(true);
    const bySession = new Map<string, number[]>();
    for (const [s, , n] of handled) {
      if (!bySession.has(s)) bySession.set(s, []);
      bySession.get(s)!.push(n as number);
    }
    expect(bySession.size).toBe(CLIENTS);
    const expected = Array.from({ length: MESSAGES }, (_, i) => i + 1);
    for (const [s, ns] of bySession) expect(ns, s).toEqual(expected);
    expect(errors).toEqual([]);
  });
});
