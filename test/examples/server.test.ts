import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Surewire } from '../../src/index';
// @ts-expect-error: the example server is plain JavaScript with no declarations
import { startServer } from '../../examples/server/index.mjs';

type Msg = { nick: string; text: string; at: number };
interface ServerEvents {
  message: (m: Msg) => void;
  typing: (nick: string) => void;
}
interface ClientEvents {
  message: (nick: string, text: string) => void;
  typing: (nick: string) => void;
  history: (ack: (messages: Msg[]) => void) => void;
}

let server: { port: number; close: () => void } | undefined;
const clients: Surewire<ServerEvents, ClientEvents>[] = [];

afterEach(() => {
  clients.splice(0).forEach((c) => c.close());
  server?.close();
});

const connect = (port: number) => {
  const c = new Surewire<ServerEvents, ClientEvents>(`ws://127.0.0.1:${port}/ws`, {
    WebSocket: WebSocket as never,
    reconnect: { initialDelay: 20, jitter: 0 },
  });
  clients.push(c);
  return c;
};
const opened = (c: Surewire<ServerEvents, ClientEvents>) =>
  new Promise<void>((resolve) => (c.connection.state == 'open' ? resolve() : c.connection.once('open', () => resolve())));

describe('example chat server', () => {
  it('serves the CDN page and the CDN build, and nothing outside its folders', async () => {
    const srv = (server = await startServer(0, '127.0.0.1'));
    const base = `http://127.0.0.1:${srv.port}`;
    const page = await fetch(`${base}/cdn/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script src="/dist/surewire.min.js"></script>');
    expect((await fetch(`${base}/`, { redirect: 'manual' })).headers.get('location')).toBe('/cdn/');
    expect((await fetch(`${base}/package.json`)).status).toBe(404);
    expect((await fetch(`${base}/cdn/..%2f..%2fpackage.json`)).status).toBe(404);
  });

  it('relays a message between two clients and answers the history request', async () => {
    const srv = (server = await startServer(0, '127.0.0.1'));
    const ada = connect(srv.port);
    const bob = connect(srv.port);
    await Promise.all([opened(ada), opened(bob)]);
    const got = new Promise<Msg>((resolve) => bob.on('message', resolve));
    expect(ada.send('message', 'ada', '<img src=x onerror=alert(1)>')).toBe('sent');
    const m = await got;
    expect(m).toMatchObject({ nick: 'ada', text: '<img src=x onerror=alert(1)>' });
    const history = await bob.request('history', { timeout: 2000 });
    expect(history.map((h) => h.text)).toEqual(['<img src=x onerror=alert(1)>']);
  });

  it('answers the heartbeat, so the round trip is measured', async () => {
    const srv = (server = await startServer(0, '127.0.0.1'));
    const c = new Surewire(`ws://127.0.0.1:${srv.port}/ws`, {
      WebSocket: WebSocket as never,
      heartbeat: { interval: 30, timeout: 1000 },
    });
    clients.push(c as never);
    const rtt = await new Promise<number>((resolve) => c.connection.once('heartbeat', ({ rtt }) => resolve(rtt)));
    expect(rtt).toBeGreaterThanOrEqual(0);
    expect(c.connection.getSnapshot().rtt).toBe(rtt);
  });
});
