// The real client (`reliable()` from surewire) against the real server helper (`reliable()` from
// surewire/server), over `ws` and over socket.io, through a TCP proxy that cuts the connection mid-stream.
import { describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import { Surewire } from '../../src/client';
import { RemoteError } from '../../src/errors';
import { reliable as reliableClient } from '../../src/reliable';
import { socketIo } from '../../src/socket.io';
import { reliable } from '../../src/server';
import { NodeWebSocket } from '../helpers/ws-client';
import { startTcpProxy } from '../helpers/tcp-proxy';
import { startSioServer } from '../helpers/sio-server';
import { delay, waitFor } from '../helpers/wait';
import { cleanup, serveWs } from './fixtures';

const fast = { reconnect: { initialDelay: 10, maxDelay: 50, jitter: 0 } } as const;

describe('surewire client ↔ surewire/server', () => {
  it('over ws: every message once and in order both ways, across 10 cuts, with the heartbeat on', async () => {
    const { port, server, handled } = await serveWs();
    const proxy = await startTcpProxy({ port });
    cleanup(() => proxy.close());
    const delivery = reliableClient();
    const got: number[] = [];
    const gaps: unknown[] = [];
    delivery.on('discontinuity', (d) => void gaps.push(d));
    const c = new Surewire(proxy.url(), { WebSocket: NodeWebSocket, reliable: delivery, heartbeat: { interval: 50, timeout: 500 }, ...fast });
    cleanup(() => c.close());
    c.on('p', (n: unknown) => void got.push(n as number));
    let opens = 0;
    c.connection.on('open', () => void opens++);
    let sent = 0;
    let pushed = 0;
    const rounds = 10;
    for (let round = 0; round < rounds; round++) {
      await waitFor(() => opens == round + 1, 3000, `open #${round + 1}`);
      const session = delivery.session!;
      for (let i = 0; i < 20; i++) c.send('m', ++sent);
      const pushes = Array.from({ length: 3 }, () => server.send(session, 'p', ++pushed));
      await delay(Math.random() * 10);
      proxy.cut();
      await Promise.all(pushes);
    }
    await waitFor(() => opens == rounds + 1, 3000, 'the last open');
    await delivery.delivered();
    await waitFor(() => got.length == pushed, 3000, 'every server message');
    expect(handled.map((h) => h[2])).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
    expect(got).toEqual(Array.from({ length: pushed }, (_, i) => i + 1));
    expect(gaps).toEqual([]);
    expect(opens).toBe(11);
  });

  it('over ws: request() is answered by onRequest; a throw rejects with a RemoteError carrying the message', async () => {
    const { url } = await serveWs({
      onRequest: async (_session, event, ...args) => {
        if (event == 'sum') return (args as number[]).reduce((a, b) => a + b, 0);
        throw new Error('no such room');
      },
    });
    const c = new Surewire(url, { WebSocket: NodeWebSocket, reliable: reliableClient(), ...fast });
    cleanup(() => c.close());
    expect(await c.request('sum', 1, 2, 3)).toBe(6);
    const e = await c.request('join', 'nowhere').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RemoteError);
    expect((e as RemoteError).data).toBe('no such room');
  });

  it('over socket.io: every message once and in order both ways, across 5 cuts', async () => {
    const handled: unknown[] = [];
    const server = reliable({ onMessage: (_s, _e, n) => void handled.push(n) });
    const sio = await startSioServer({ onConnection: (socket) => server.socketIo(socket) });
    cleanup(async () => (await server.close(), await sio.close()));
    const proxy = await startTcpProxy({ port: sio.port });
    cleanup(() => proxy.close());
    const delivery = reliableClient();
    const got: number[] = [];
    const c = new Surewire(proxy.url('/', 'http'), { transport: socketIo(io, { transports: ['websocket'] }), reliable: delivery, ...fast });
    cleanup(() => c.close());
    c.on('p', (n: unknown) => void got.push(n as number));
    let opens = 0;
    c.connection.on('open', () => void opens++);
    let sent = 0;
    let pushed = 0;
    const rounds = 5;
    for (let round = 0; round < rounds; round++) {
      await waitFor(() => opens == round + 1, 3000, `open #${round + 1}`);
      for (let i = 0; i < 20; i++) c.send('m', ++sent);
      const pushes = Array.from({ length: 3 }, () => server.send(delivery.session!, 'p', ++pushed));
      await delay(Math.random() * 10);
      proxy.cut();
      await Promise.all(pushes);
    }
    await waitFor(() => opens == rounds + 1, 3000, 'the last open');
    await delivery.delivered();
    await waitFor(() => got.length == pushed, 3000, 'every server message');
    expect(handled).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
    expect(got).toEqual(Array.from({ length: pushed }, (_, i) => i + 1));
    expect(opens).toBe(6);
  });
});
