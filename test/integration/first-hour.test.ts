// The usual mistakes of a first hour with surewire, against real servers on loopback: what the user sees
// must name the URL (without secrets), the cause in words, and the fix; permanent mistakes stop, network
// failures retry; the default heartbeat never breaks or loops a server that knows nothing of it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer, type WebSocket as WsSocket } from 'ws';
import { Surewire } from '../../src/client';
import { ConnectionError, OptionError, type SurewireError } from '../../src/errors';
import type { Provider, SurewireOptions } from '../../src/options';
import { delay, waitFor } from '../helpers/wait';
import { NodeWebSocket } from '../helpers/ws-client';
import { freePort } from '../helpers/ports';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  vi.restoreAllMocks();
});

function client(url: Provider<string | URL>, options: SurewireOptions = {}): Surewire {
  const c = new Surewire(url, { WebSocket: NodeWebSocket, reconnect: { initialDelay: 20, maxDelay: 40 }, ...options });
  cleanups.push(() => c.close());
  return c;
}

/** A plain `ws` server (no surewire on it), on loopback. */
async function plainServer(onMessage: (ws: WsSocket, data: string) => void, path?: string): Promise<{ url: string; wss: WebSocketServer }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...(path ? { path } : {}) });
  await new Promise<void>((r) => wss.once('listening', r));
  wss.on('connection', (ws) => ws.on('message', (d) => onMessage(ws, String(d))));
  cleanups.push(() => new Promise<void>((r) => (wss.clients.forEach((c) => c.terminate()), wss.close(() => r()))));
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}${path ?? '/'}`, wss };
}


function errorsOf(c: Surewire): SurewireError[] {
  const errors: SurewireError[] = [];
  c.connection.on('error', (e) => errors.push(e));
  return errors;
}

describe('errors that speak', () => {
  it('a wrong port: names the URL and "connection refused", and keeps retrying (a network failure)', async () => {
    const port = await freePort();
    const c = client(`ws://127.0.0.1:${port}/ws`);
    const errors = errorsOf(c);
    await waitFor(() => errors.length >= 3);
    expect(errors[0]).toBeInstanceOf(ConnectionError);
    expect(errors[0]!.code).toBe('socket');
    expect(errors[0]!.message).toBe(
      `surewire: could not connect to ws://127.0.0.1:${port}/ws: connection refused (is the server up, on that port?)`,
    );
    expect((errors[0]!.cause as { error?: { code?: string } }).error?.code).toBe('ECONNREFUSED');
    expect(c.connection.state).not.toBe('closed');
  });

  it('a wrong path: says the server answered HTTP, not an upgrade, and to check the path', async () => {
    const { url } = await plainServer(() => {}, '/ws');
    const c = client(url.replace('/ws', '/socket'));
    const errors = errorsOf(c);
    await waitFor(() => errors.length >= 1);
    expect(errors[0]!.message).toMatch(/^surewire: could not connect to ws:\/\/127\.0\.0\.1:\d+\/socket: the server answered HTTP 400, not a WebSocket upgrade \(check the path\)/);
  });

  it('an unknown host: says the host was not found', async () => {
    const c = client('ws://no-such-host.invalid:8080/ws');
    const errors = errorsOf(c);
    await waitFor(() => errors.length >= 1);
    expect(errors[0]!.message).toBe('surewire: could not connect to ws://no-such-host.invalid:8080/ws: host not found (DNS)');
  });

  it('wss:// to a server without TLS: says TLS failed', async () => {
    const http: Server = createServer();
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => http.close(r)));
    const { port } = http.address() as AddressInfo;
    const c = client(`wss://127.0.0.1:${port}/`);
    const errors = errorsOf(c);
    await waitFor(() => errors.length >= 1);
    expect(errors[0]!.message).toBe(`surewire: could not connect to wss://127.0.0.1:${port}/: TLS failed (certificate)`);
  });

  it('never shows credentials or the query string (tokens) of the URL', async () => {
    const port = await freePort();
    const c = client(`ws://ada:s3cret@127.0.0.1:${port}/ws?token=t0ken&room=1`);
    const errors = errorsOf(c);
    await waitFor(() => errors.length >= 1);
    expect(errors[0]!.message).toContain(`ws://127.0.0.1:${port}/ws?…`);
    expect(errors[0]!.message).not.toMatch(/s3cret|t0ken|room/);
  });

  it('a server that accepts, then closes: no connection error (the socket did open), the close code in the snapshot', async () => {
    const { url, wss } = await plainServer(() => {});
    wss.on('connection', (ws) => ws.close(4403, 'not you'));
    const c = client(url);
    const errors = errorsOf(c);
    await waitFor(() => c.connection.getSnapshot().code == 4403);
    expect(errors).toEqual([]);
  });
});

describe('nobody listening to errors', () => {
  it('writes the first error of each kind once to console.warn, not on every retry', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const port = await freePort();
    const c = client(`ws://127.0.0.1:${port}/`);
    const retries: number[] = [];
    c.connection.on('reconnecting', ({ attempt }) => retries.push(attempt));
    await waitFor(() => retries.length >= 4);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toContain(`could not connect to ws://127.0.0.1:${port}/: connection refused`);
  });

  it('is silenced by an error listener, or by debug: false', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const port = await freePort();
    const listened = client(`ws://127.0.0.1:${port}/`);
    listened.connection.on('error', () => {});
    const quiet = client(`ws://127.0.0.1:${port}/`, { debug: false });
    const retries: number[] = [];
    quiet.connection.on('reconnecting', ({ attempt }) => retries.push(attempt));
    listened.connection.on('reconnecting', ({ attempt }) => retries.push(attempt));
    await waitFor(() => retries.length >= 6);
    expect(warn).not.toHaveBeenCalled();
  });

  it('sends the errors to a debug function instead of the console', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const lines: unknown[][] = [];
    const port = await freePort();
    client(`ws://127.0.0.1:${port}/`, { debug: (...a: unknown[]) => lines.push(a) });
    await waitFor(() => lines.some(([e]) => e == 'error'));
    expect(warn).not.toHaveBeenCalled();
    expect(String((lines.find(([e]) => e == 'error')![1] as Error).message)).toContain('connection refused');
  });
});

describe('permanent mistakes stop', () => {
  it('a URL without a scheme is an OptionError at construction, with the fix', () => {
    expect(() => new Surewire('localhost:3000/ws', { WebSocket: NodeWebSocket })).toThrow(OptionError);
    expect(() => new Surewire('localhost:3000/ws', { WebSocket: NodeWebSocket })).toThrow('(did you mean "ws://localhost:3000/ws"?)');
  });

  it('a URL provider that returns a URL that can never work: a final closed, with a clear error, no retry', async () => {
    let calls = 0;
    const c = client(() => (calls++, 'localhost:3000/ws'));
    const errors = errorsOf(c);
    await waitFor(() => c.connection.state == 'closed');
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'closed', reason: 'bad url', final: false });
    expect(errors.map((e) => e.code)).toEqual(['url']);
    expect(errors[0]!.message).toContain('bad url from the url provider');
    expect(errors[0]!.message).toContain('did you mean "ws://localhost:3000/ws"?');
    await delay(150);
    expect(calls).toBe(1);
  });

  it('a URL provider that throws (a token fetch that failed) is a network blip: it retries', async () => {
    let calls = 0;
    const c = client(() => {
      calls++;
      throw new Error('token service down');
    });
    const errors = errorsOf(c);
    await waitFor(() => calls >= 3);
    expect(errors[0]!.code).toBe('url');
    expect(errors[0]!.message).toContain('token service down');
    expect(c.connection.state).not.toBe('closed');
  });
});

describe('the default heartbeat and a server that knows nothing of it', () => {
  it('a plain JSON server (JSON.parse on every frame) never throws on the ping, and the connection stays up', async () => {
    const thrown: unknown[] = [];
    const parsed: unknown[] = [];
    const { url, wss } = await plainServer((_ws, data) => {
      try {
        parsed.push(JSON.parse(data));
      } catch (e) {
        thrown.push(e);
      }
    });
    const c = client(url, { heartbeat: { interval: 30, timeout: 20 } });
    const errors = errorsOf(c);
    await waitFor(() => parsed.length >= 15, 3000);
    expect(thrown).toEqual([]);
    expect(parsed.slice(0, 3)).toEqual([['ping'], ['ping'], ['ping']]);
    expect(c.connection.state).toBe('open');
    expect(wss.clients.size).toBe(1);
    expect(errors).toEqual([]);
  });

  it('a verbatim echo server: the echoed ping never reaches the app, and nothing is reported', async () => {
    const { url } = await plainServer((ws, data) => ws.send(data));
    // The echoed ping is a pong: a timeout of 20 ms on real timers fails on a busy machine, which is not what is checked here.
    const c = client(url, { heartbeat: { interval: 30, timeout: 1000 } });
    const errors = errorsOf(c);
    const app: unknown[] = [];
    c.on('ping', (...a) => app.push(a));
    c.on('echo', (...a) => app.push(a));
    await waitFor(() => c.connection.state == 'open');
    c.send('echo', 1);
    await waitFor(() => app.length == 1);
    await delay(300);
    expect(app).toEqual([[1]]);
    expect(errors).toEqual([]);
    expect(c.connection.getSnapshot()).toMatchObject({ state: 'open', attempt: 0 });
  });
});
