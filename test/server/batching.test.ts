// `surewire/server`'s cost under load: a burst of client messages over a synchronous store is stored, handed
// over and echoed at once (no promise per message), and the frames sent for it leave in one write (the socket
// under `ws` is corked at the first and uncorked once the current callback and its microtasks are done).
// Driven through a fake `ws` socket, so that a test sees what happens synchronously and what after a tick.
import { describe, expect, it } from 'vitest';
import { memoryStore, reliable, type ReliableServer, type Store } from '../../src/server';
import { cleanup, flakyStore } from './fixtures';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A fake `ws` socket whose TCP socket (`_socket`) records cork and uncork: `log` has them among the frames sent. */
function fakeWs(corkable = true) {
  const handlers: Record<string, (...args: unknown[]) => void> = {};
  const log: string[] = [];
  let depth = 0;
  const ws = {
    readyState: 1,
    send(data: unknown) {
      log.push(String(data));
    },
    close() {
      ws.readyState = 3;
      handlers.close?.();
    },
    on(event: string, fn: (...args: unknown[]) => void) {
      handlers[event] = fn;
      return ws;
    },
    ...(corkable
      ? {
          _socket: {
            cork: () => void (depth++, log.push('cork')),
            uncork: () => void (depth--, log.push('uncork')),
          },
        }
      : {}),
  };
  const frame = (f: unknown[]): void => handlers.message!(Buffer.from(JSON.stringify(f)), false);
  return { ws, log, frame, depth: () => depth, frames: () => log.filter((l) => l != 'cork' && l != 'uncork') };
}

/** An echo server as an app writes one: each client message sent back with `server.send`, not awaited. */
function echoServer(store: Store = memoryStore()): { server: ReliableServer; errors: unknown[] } {
  const errors: unknown[] = [];
  const server = reliable({
    store,
    onMessage: (session, event, ...args) => void server.send(session, event, ...args).catch((e: unknown) => errors.push(e)),
    onError: (e) => void errors.push(e),
  });
  cleanup(() => server.close());
  return { server, errors };
}

async function welcomed(server: ReliableServer, corkable = true) {
  const f = fakeWs(corkable);
  server.ws(f.ws);
  f.frame(['$hello', 'batch-session-0123456789', 0]);
  while (!f.frames().length) await tick();
  expect(JSON.parse(f.frames()[0]!)).toEqual(['$welcome', null, 0, true]);
  await tick();
  f.log.length = 0;
  return f;
}

describe('a burst of messages over a synchronous store', () => {
  it('is stored, handed over and echoed at once, and its echoes leave in one corked write', async () => {
    const { server, errors } = echoServer();
    const f = await welcomed(server);
    for (let n = 1; n <= 10; n++) f.frame(['$m', n, 'echo', { n }]);
    // Synchronously: every echo sent, inside one cork, not yet uncorked.
    expect(f.log).toEqual(['cork', ...Array.from({ length: 10 }, (_, i) => JSON.stringify(['$m', i + 1, 'echo', { n: i + 1 }]))]);
    expect(f.depth()).toBe(1);
    await tick();
    expect(f.log.at(-1)).toBe('uncork');
    expect(f.depth()).toBe(0);
    // The ack, later, is a write of its own: corked and uncorked again.
    while (!f.frames().some((l) => l.startsWith('["$ack"'))) await tick();
    await tick();
    expect(f.frames().at(-1)).toBe('["$ack",10]');
    expect(f.depth()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('each burst (each callback) gets its own cork, always uncorked', async () => {
    const { server } = echoServer();
    const f = await welcomed(server);
    f.frame(['$m', 1, 'e', 1]);
    f.frame(['$m', 2, 'e', 2]);
    await tick();
    f.frame(['$m', 3, 'e', 3]);
    await tick();
    expect(f.log).toEqual(['cork', '["$m",1,"e",1]', '["$m",2,"e",2]', 'uncork', 'cork', '["$m",3,"e",3]', 'uncork']);
  });

  it('sends as before on a socket that cannot be corked', async () => {
    const { server } = echoServer();
    const f = await welcomed(server, false);
    f.frame(['$m', 1, 'e', 1]);
    f.frame(['$m', 2, 'e', 2]);
    expect(f.log).toEqual(['["$m",1,"e",1]', '["$m",2,"e",2]']);
  });
});

describe('a burst of messages over an async store', () => {
  it('is handed over once and in order, its echoes corked together and uncorked once the store answered', async () => {
    const store = flakyStore();
    const handled: unknown[] = [];
    const server = reliable({
      store,
      onMessage: (session, event, ...args) => {
        handled.push(args[0]);
        void server.send(session, event, ...args);
      },
    });
    cleanup(() => server.close());
    const f = await welcomed(server);
    for (let n = 1; n <= 10; n++) f.frame(['$m', n, 'e', n]);
    f.frame(['$m', 5, 'e', 5]); // a resend: dropped
    // Nothing yet: the store answers later.
    expect(f.frames()).toEqual([]);
    while (f.frames().filter((l) => l.startsWith('["$m"')).length < 10) await tick();
    await tick();
    expect(handled).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(f.frames().filter((l) => l.startsWith('["$m"'))).toEqual(Array.from({ length: 10 }, (_, i) => `["$m",${i + 1},"e",${i + 1}]`));
    expect(f.depth()).toBe(0);
    expect(f.log.filter((l) => l == 'cork').length).toBe(f.log.filter((l) => l == 'uncork').length);
  });

  it('send() resolves with the offset, whether the store answers at once or not', async () => {
    for (const store of [memoryStore(), flakyStore()]) {
      const server = reliable({ store, onMessage() {} });
      cleanup(() => server.close());
      expect(await server.send('offline', 'n', 1)).toBe(1);
      expect(await server.send('offline', 'n', 2)).toBe(2);
      expect(await store.since('offline', 0)).toEqual([
        { offset: 1, event: 'n', args: [1] },
        { offset: 2, event: 'n', args: [2] },
      ]);
    }
  });
});
