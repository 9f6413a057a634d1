// @vitest-environment node
// surewire in plain Node (SSR, scripts): importing it must not touch `window`, `document` or `WebSocket`;
// without a WebSocket it must say so at once; with the `ws` package it works against a real server.
import { afterEach, describe, expect, it } from 'vitest';
import { once, waitFor } from '../helpers/wait';
import { echo, startWsServer, type TestWsServer } from '../helpers/ws-server';
import { NodeWebSocket } from '../helpers/ws-client';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  // Every cleanup runs, even after one fails; the first failure is reported.
  const errors: unknown[] = [];
  for (const fn of cleanups.splice(0).reverse()) await Promise.resolve().then(fn).catch((e: unknown) => errors.push(e));
  if (errors.length) throw errors[0];
});

async function server(): Promise<TestWsServer> {
  const s = await startWsServer({ onMessage: echo((e) => `re:${e}`) });
  cleanups.push(() => s.close());
  return s;
}

describe('surewire in plain Node (no DOM)', () => {
  it('runs without a DOM and without a global WebSocket (Node 20)', () => {
    expect(typeof window).toBe('undefined');
    expect(typeof document).toBe('undefined');
    expect(typeof (globalThis as { WebSocket?: unknown }).WebSocket).toBe('undefined');
  });

  it('imports the package entry without touching browser globals', async () => {
    const api = await import('../../src/index');
    expect(typeof api.Surewire).toBe('function');
    expect(typeof api.OptionError).toBe('function');
    expect(new api.OptionError('x', 1, 'y')).toBeInstanceOf(api.SurewireError);
    expect(typeof api.jsonCodec.encode).toBe('function');
  });

  it('throws OptionError naming `WebSocket` at construction when no WebSocket constructor is given and it connects at once', async () => {
    const { Surewire, OptionError } = await import('../../src/index');
    let thrown: unknown;
    try {
      new Surewire('ws://127.0.0.1:9/');
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(OptionError);
    expect((thrown as InstanceType<typeof OptionError>).option).toBe('WebSocket');
    expect((thrown as Error).message).toContain("invalid option `WebSocket`: expected a WebSocket constructor (none here; in Node, pass ws's), got undefined");
  });

  it('constructs with autoConnect: false without a WebSocket (server rendering), and throws at connect()', async () => {
    const { Surewire, OptionError } = await import('../../src/index');
    const c = new Surewire('ws://127.0.0.1:9/', { autoConnect: false });
    expect(c.connection.state).toBe('idle');
    expect(c.send('m', 1)).toBe('queued');
    expect(() => c.connect()).toThrow(OptionError);
    expect(() => c.connect()).toThrow(/`WebSocket`/);
    expect(c.connection.state).toBe('idle');
    c.close();
  });

  it('connects to a real server with the ws package passed as WebSocket', async () => {
    const { Surewire } = await import('../../src/index');
    const s = await server();
    const c = new Surewire<{ 're:hello': (who: string, n: number) => void }, { hello: (who: string, n: number) => void }>(s.url(), {
      WebSocket: NodeWebSocket,
      reconnect: { initialDelay: 20, jitter: 0 },
      heartbeat: false,
    });
    cleanups.push(() => c.close());
    const reply = new Promise<[string, number]>((resolve) => c.once('re:hello', (who, n) => resolve([who, n])));
    await once(c.connection, 'open');
    expect(c.connection.state).toBe('open');
    expect(c.send('hello', 'node', 20)).toBe('sent');
    expect(await reply).toEqual(['node', 20]);
    expect(s.texts()).toEqual(['["hello","node",20]']);

    c.close();
    await waitFor(() => s.last!.closed);
    expect(s.last!.closed).toEqual({ code: 1000, reason: '' });
  });
});
