// `surewire/server` over a real socket.io server, with socket.io-client as a raw protocol client: the
// protocol's frames are events (`socket.emit('$hello', session, offset)`). socket.io carries no close code,
// so the helper closes in the two ways surewire's transport can tell apart: a namespace disconnect
// (`io server disconnect`: 1008, no reconnect) and a transport close (`transport close`: reconnect).
import { describe, expect, it } from 'vitest';
import { io, type Socket as ClientSocket } from 'socket.io-client';
import { memoryStore, reliable, type ReliableServer, type ReliableServerOptions } from '../../src/server';
import { startSioServer, type TestSioServer } from '../helpers/sio-server';
import { startTcpProxy } from '../helpers/tcp-proxy';
import { delay, waitFor } from '../helpers/wait';
import { cleanup, flakyStore, sid, type Handled } from './fixtures';

interface SioServed {
  server: ReliableServer;
  sio: TestSioServer;
  handled: Handled[];
  of(session: string): unknown[][];
  /** Plain events that reached the app's own listeners, as `[event, session, ...args]`. */
  plain: unknown[][];
}

async function serveSio(o: Partial<ReliableServerOptions> = {}, ioOptions: Parameters<typeof startSioServer>[0] = {}): Promise<SioServed> {
  const handled: Handled[] = [];
  const plain: unknown[][] = [];
  const server = reliable({
    onError: () => {},
    ...o,
    onMessage: (s, e, ...a) => (handled.push([s, e, ...a]), o.onMessage?.(s, e, ...a)),
  });
  const sio = await startSioServer({
    ...ioOptions,
    onConnection(socket) {
      server.socketIo(socket);
      // The app's own listener: sees plain events only.
      socket.on('chat', (...a: unknown[]) => plain.push(['chat', server.session(socket), ...a]));
      socket.on('$m', (...a: unknown[]) => plain.push(['$m', ...a]));
    },
  });
  cleanup(async () => {
    await server.close();
    await sio.close();
  });
  return { server, sio, handled, of: (s) => handled.filter((h) => h[0] == s).map((h) => h.slice(1)), plain };
}

/** A raw socket.io client: connects, records every event, and tells how it was disconnected. */
class SioClient {
  readonly frames: unknown[][] = [];
  disconnected: string | undefined;
  readonly socket: ClientSocket;
  constructor(url: string) {
    this.socket = io(url, { forceNew: true, reconnection: false, transports: ['websocket'] });
    this.socket.onAny((event: string, ...args: unknown[]) => this.frames.push([event, ...args]));
    this.socket.on('disconnect', (reason) => (this.disconnected = reason));
    cleanup(() => this.socket.disconnect());
  }
  static async connect(url: string): Promise<SioClient> {
    const c = new SioClient(url);
    await new Promise<void>((resolve, reject) => (c.socket.once('connect', () => resolve()), c.socket.once('connect_error', reject)));
    return c;
  }
  static async hello(url: string, session: string, offset = 0): Promise<{ client: SioClient; welcome: unknown[] }> {
    const client = await SioClient.connect(url);
    client.emit('$hello', session, offset);
    return { client, welcome: await waitFor(() => client.of('$welcome')[0], 2000, '$welcome') };
  }
  emit(event: string, ...args: unknown[]): void {
    this.socket.emit(event, ...args);
  }
  of(event: string): unknown[][] {
    return this.frames.filter((f) => f[0] == event).map((f) => f.slice(1));
  }
  acks(): number[] {
    return this.of('$ack').map((a) => a[0] as number);
  }
  ackOf(n: number): Promise<number> {
    return waitFor(() => this.acks().find((a) => a >= n), 2000, `$ack >= ${n}`);
  }
  gone(): Promise<string> {
    return waitFor(() => this.disconnected, 2000, 'disconnect');
  }
}

const url = (s: SioServed): string => s.sio.url();

describe('socket.io: hello, welcome, dedupe, acks', () => {
  it('welcomes new and known sessions, dedupes resends, and acks cumulatively in batches', async () => {
    const served = await serveSio({ ackDelay: 20 });
    const s = sid();
    const a = await SioClient.hello(url(served), s);
    expect(a.welcome).toEqual([null, 0, true]);
    for (let n = 1; n <= 100; n++) a.client.emit('$m', n, 'e', n);
    a.client.emit('$m', 50, 'e', 50); // a resend
    await a.client.ackOf(100);
    expect(a.client.acks().length).toBeLessThan(10);
    expect(served.of(s)).toEqual(Array.from({ length: 100 }, (_, i) => ['e', i + 1]));
    a.client.socket.disconnect();
    const b = await SioClient.hello(url(served), s);
    expect(b.welcome).toEqual([100, 0, true]);
    b.client.emit('$m', 100, 'e', 100);
    b.client.emit('$m', 101, 'e', 101, Buffer.from([1, 2]));
    await b.client.ackOf(101);
    expect(served.of(s)).toHaveLength(101);
    expect(served.of(s)[100]).toEqual(['e', 101, Buffer.from([1, 2])]);
  });

  it("keeps protocol events from the app's listeners, passes plain events after $hello, and knows the socket's session", async () => {
    const served = await serveSio();
    const s = sid();
    const { client } = await SioClient.hello(url(served), s);
    client.emit('$m', 1, 'chat', 'reliable');
    client.emit('chat', 'plain');
    await client.ackOf(1);
    await waitFor(() => served.plain.length == 1);
    expect(served.plain).toEqual([['chat', s, 'plain']]);
    expect(served.of(s)).toEqual([['chat', 'reliable']]);
  });
});

describe('socket.io: server → client', () => {
  it('delivers live, replays after a reconnect (resumed: true), and says resumed: false past the history', async () => {
    const served = await serveSio({ store: memoryStore({ history: 3 }) });
    const s = sid();
    const a = await SioClient.hello(url(served), s);
    await served.server.send(s, 'n', 1);
    await waitFor(() => a.client.of('$m').length == 1);
    expect(a.client.of('$m')).toEqual([[1, 'n', 1]]);
    a.client.emit('$ack', 1);
    a.client.socket.disconnect();
    await served.server.send(s, 'n', 2);
    await served.server.send(s, 'n', 3, { x: 1 });
    const b = await SioClient.hello(url(served), s, 1);
    expect(b.welcome).toEqual([null, 3, true]);
    await waitFor(() => b.client.of('$m').length == 2);
    expect(b.client.frames.map((f) => f[0])).toEqual(['$welcome', '$m', '$m']);
    expect(b.client.of('$m')).toEqual([
      [2, 'n', 2],
      [3, 'n', 3, { x: 1 }],
    ]);
    b.client.socket.disconnect();
    for (let i = 4; i <= 10; i++) await served.server.send(s, 'n', i);
    const c = await SioClient.hello(url(served), s, 3);
    expect(c.welcome).toEqual([null, 10, false]);
    await delay(30);
    expect(c.client.of('$m')).toEqual([]);
  });
});

describe('socket.io: takeover and failures', () => {
  it('a newer connection takes the session over; the older one gets a transport close (it may reconnect)', async () => {
    const served = await serveSio();
    const s = sid();
    const a = await SioClient.hello(url(served), s);
    const b = await SioClient.hello(url(served), s);
    expect(await a.client.gone()).toBe('transport close');
    await served.server.send(s, 'n', 'to b');
    await waitFor(() => b.client.of('$m').length == 1);
    expect(a.client.of('$m')).toEqual([]);
  });

  it('a store that throws closes the transport (1013: the client reconnects); the resend is then handled once', async () => {
    const store = flakyStore();
    const served = await serveSio({ store });
    const s = sid();
    const a = await SioClient.hello(url(served), s);
    store.fail.add('accept');
    a.client.emit('$m', 1, 'e', 1);
    expect(await a.client.gone()).toBe('transport close');
    store.fail.delete('accept');
    const b = await SioClient.hello(url(served), s);
    b.client.emit('$m', 1, 'e', 1);
    await b.client.ackOf(1);
    expect(served.of(s)).toEqual([['e', 1]]);
  });

  it('refuses a server with connection state recovery on (it would append an offset to every event)', async () => {
    const errors: unknown[] = [];
    const server = reliable({ onMessage() {} });
    const sio = await startSioServer({
      io: { connectionStateRecovery: {} },
      onConnection(socket) {
        try {
          server.socketIo(socket);
        } catch (e) {
          errors.push(e);
        }
      },
    });
    cleanup(() => sio.close());
    await SioClient.connect(sio.url());
    await waitFor(() => errors.length == 1);
    expect(String(errors[0])).toMatch(/connectionStateRecovery/);
  });
});

describe('socket.io: bad input', () => {
  const hello0 = (c: SioClient, s: string) => c.emit('$hello', s, 0);
  const cases: [string, (c: SioClient, s: string) => void][] = [
    ['a plain event before $hello', (c) => c.emit('chat', 'hi')],
    ['$m before $hello', (c) => c.emit('$m', 1, 'e')],
    ['$hello with a bad session id', (c) => c.emit('$hello', 'a b', 0)],
    ['$hello with a bad offset', (c, s) => c.emit('$hello', s, -1)],
    ['$hello with an acknowledgement', (c, s) => c.socket.emit('$hello', s, 0, () => {})],
    ['a malformed $m', (c, s) => (hello0(c, s), c.emit('$m', 'one', 'e'))],
    ['a malformed $ack', (c, s) => (hello0(c, s), c.emit('$ack', null))],
    ['an unknown $ event', (c, s) => (hello0(c, s), c.emit('$bye'))],
    ['a $m carrying a $ event', (c, s) => (hello0(c, s), c.emit('$m', 1, '$ack', 1))],
  ];
  it.each(cases)('%s → a namespace disconnect (1008); another session is unaffected', async (_name, act) => {
    const served = await serveSio();
    const bystander = sid('bystander');
    const b = await SioClient.hello(url(served), bystander);
    b.client.emit('$m', 1, 'e', 'before');
    await b.client.ackOf(1);
    const bad = await SioClient.connect(url(served));
    act(bad, bystander.replace('bystander', 'bad'));
    expect(await bad.gone()).toBe('io server disconnect');
    b.client.emit('$m', 2, 'e', 'after');
    await b.client.ackOf(2);
    expect(await served.server.send(bystander, 'n')).toBe(1);
    await waitFor(() => b.client.of('$m').length == 1);
    expect(served.of(bystander).map((m) => m[1])).toEqual(['before', 'after']);
    expect(served.handled.filter((h) => h[0] != bystander).length).toBeLessThanOrEqual(1);
    expect(served.plain.filter((p) => p[0] == '$m')).toEqual([]);
  });
});

describe('socket.io: exactly once across reconnects', () => {
  it('onMessage sees every sequence number once, in order, over 10 cut connections', async () => {
    // A long ack delay keeps a window open in which messages are stored but not acknowledged yet.
    const served = await serveSio({ ackDelay: 30, onMessage: async () => void (Math.random() < 0.1 && (await delay(2))) });
    const proxy = await startTcpProxy({ port: served.sio.port });
    cleanup(() => proxy.close());
    const s = sid();
    let seq = 0;
    let seen = 0;
    let unacked: [number, number][] = [];
    const received: number[] = [];
    let storedUnacked = 0;
    for (let round = 0; round <= 10; round++) {
      const c = await SioClient.connect(proxy.url('/', 'http'));
      c.socket.on('$welcome', (n: number | null, offset: number, resumed: boolean) => {
        storedUnacked += unacked.filter(([k]) => k <= (n ?? 0)).length;
        unacked = unacked.filter(([k]) => k > (n ?? 0));
        if (!resumed) seen = offset;
        for (const [k, v] of unacked) c.emit('$m', k, 'm', v);
      });
      c.socket.on('$ack', (n: number) => (unacked = unacked.filter(([k]) => k > n)));
      c.socket.on('$m', (n: number, _e: string, v: number) => n > seen && ((seen = n), received.push(v), c.emit('$ack', n)));
      c.emit('$hello', s, seen);
      await waitFor(() => c.of('$welcome').length);
      const pushes = Array.from({ length: 3 }, (_, i) => served.server.send(s, 'p', round * 3 + i + 1));
      if (round == 10) {
        await waitFor(() => !unacked.length && seen == 33, 3000, 'everything acknowledged');
        break;
      }
      for (let i = 0; i < 30; i++) {
        unacked.push([++seq, seq]);
        c.emit('$m', seq, 'm', seq);
      }
      const left = Math.floor(Math.random() * 20);
      await waitFor(() => unacked.length <= left, 3000);
      for (let i = 0; i < 10; i++) {
        unacked.push([++seq, seq]);
        c.emit('$m', seq, 'm', seq);
      }
      await delay(Math.random() * 5);
      proxy.cut();
      await Promise.all(pushes);
      await waitFor(() => c.disconnected);
    }
    expect(served.of(s).map((m) => m[1])).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
    expect(received).toEqual(Array.from({ length: 33 }, (_, i) => i + 1));
    expect(storedUnacked).toBeGreaterThan(0);
  });
});
