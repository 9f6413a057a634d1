// `surewire/server` against a dishonest peer, over real `ws` and socket.io servers: every attack of the security model (PROTOCOL.md)
// (takeover, no owner, sequence poisoning, eviction flood, stalled reader, big frames, malformed numbers,
// `__proto__`, deep nesting, many idle sockets) while a well-behaved bystander sends both ways throughout
// and must see nothing lost, nothing twice, and no close.
import { describe, expect, it, vi } from 'vitest';
import { io as ioClient } from 'socket.io-client';
import { memoryStore, reliable } from '../../src/server';
import { startSioServer } from '../helpers/sio-server';
import { deferred, delay, waitFor } from '../helpers/wait';
import { cleanup, sid } from './fixtures';
import { startRig, type Raw, type TransportName } from './hostile-rig';

const MAX = Number.MAX_SAFE_INTEGER;

describe.each<TransportName>(['ws', 'socket.io'])('hostile peers over %s', (transport) => {
  describe('sessions belong to someone', () => {
    it('a $hello from another principal is refused (1008) and touches nothing: no close of the owner, no replay, no ack, no trim', async () => {
      const rig = await startRig(transport, { auth: true });
      const s = sid('owned');
      const owner = await rig.hello(s, 'alice');
      owner.c.send('$m', 1, 'e', 'mine');
      await owner.c.until(() => owner.c.acks().includes(1), '$ack 1');
      await rig.server.send(s, 'n', 'secret 1');
      await rig.server.send(s, 'n', 'secret 2');
      await owner.c.until(() => owner.c.messages().length == 2, 'two $m');

      const thief = await rig.raw('mallory');
      // Everything at once: the hello, an ack that would trim the history, a message that would be stored.
      thief.send('$hello', s, 0);
      thief.send('$ack', 2);
      thief.send('$m', 2, 'e', 'forged');
      const closed = await thief.closeOf();
      expect(closed.code).toBe(rig.code(1008));
      if (transport == 'ws') expect(closed.reason).toBe('session belongs to another principal');
      expect(thief.frames.filter((f) => String(f[0]).startsWith('$'))).toEqual([]);
      // The owner: still connected, still in step, its history whole.
      expect(owner.c.open).toBe(true);
      expect(await rig.store.since(s, 0)).toHaveLength(2);
      owner.c.send('$m', 2, 'e', 'mine too');
      await owner.c.until(() => owner.c.acks().includes(2), '$ack 2');
      expect(rig.of(s)).toEqual([
        ['e', 'mine'],
        ['e', 'mine too'],
      ]);
      expect(rig.server.principal(s)).toBe('alice');
      await rig.bystander.check();
    });

    it('while the owner is away, a foreign $hello is refused too, and the owner resumes as if nothing happened', async () => {
      const rig = await startRig(transport, { auth: true });
      const s = sid('away');
      const owner = await rig.hello(s, 'alice');
      owner.c.send('$m', 1, 'e', 1);
      await owner.c.until(() => owner.c.acks().includes(1), '$ack 1');
      owner.c.kill();
      await rig.server.send(s, 'n', 'while away');
      for (const token of ['mallory', 'eve']) {
        const thief = await rig.raw(token);
        thief.send('$hello', s, 0);
        expect((await thief.closeOf()).code).toBe(rig.code(1008));
      }
      const back = await rig.hello(s, 'alice', 0, true);
      expect(back.welcome).toEqual({ seq: 1, offset: 1, resumed: true });
      await back.c.until(() => back.c.messages().length == 1, 'the replay');
      await rig.bystander.check();
    });

    it('refused and failing authentication: 1008 for no principal, 1011 (retry) when authenticate throws', async () => {
      let fail = false;
      const rig = await startRig(transport, {
        authenticate: async ({ request, handshake }) => {
          if (fail) throw new Error('token service down');
          const token = request ? new URL(request.url!, 'http://x').searchParams.get('token') : (handshake!.auth.token as string);
          return token == 'nobody' ? false : token;
        },
      });
      const anon = await rig.raw('nobody');
      anon.send('$hello', sid(), 0);
      const refused = await anon.closeOf();
      expect(refused.code).toBe(rig.code(1008));
      if (transport == 'ws') expect(refused.reason).toMatch(/not authenticated/);
      fail = true;
      const unlucky = await rig.raw('alice');
      unlucky.send('$hello', sid(), 0);
      expect((await unlucky.closeOf()).code).toBe(rig.code(1011));
      expect(rig.errors).toEqual([expect.objectContaining({ message: 'token service down' })]);
      fail = false;
      await rig.bystander.check();
    });

    it('the same principal takes its session over (1001 for the older), at a bounded rate: then 1013 and the older stays', async () => {
      const rig = await startRig(transport, { auth: true, takeoversPerMinute: 1 });
      const s = sid('tab');
      let current = (await rig.hello(s, 'alice')).c;
      // Bursts of 5.
      for (let i = 0; i < 5; i++) {
        const next = await rig.hello(s, 'alice', 0, true);
        expect((await current.closeOf()).code).toBe(rig.code(1001));
        current = next.c;
      }
      const greedy = await rig.raw('alice');
      greedy.send('$hello', s, 0, true);
      expect((await greedy.closeOf()).code).toBe(rig.code(1013));
      expect(current.open).toBe(true);
      current.send('$m', 1, 'e', 'still here');
      await current.until(() => current.acks().includes(1), '$ack 1');
      await rig.bystander.check();
    });

    it('without authenticate, session ids are bearer secrets: fewer than 22 characters (128 bits) are refused', async () => {
      const rig = await startRig(transport);
      for (const id of ['a', 's1', 'x'.repeat(21), '__proto__', 'constructor']) {
        const c = await rig.raw();
        c.send('$hello', id, 0);
        expect((await c.closeOf()).code, id).toBe(rig.code(1008));
      }
      const ok = await rig.hello('x'.repeat(22));
      expect(ok.welcome).toEqual({ seq: null, offset: 0, resumed: true });
      await rig.bystander.check();
    });
  });

  describe('numbers checked', () => {
    it('sequence poisoning: one $m with 2^53-1 is refused (1008) and the real client goes on', async () => {
      const rig = await startRig(transport);
      const s = sid('victim');
      const victim = await rig.hello(s);
      victim.c.send('$m', 1, 'e', 1);
      await victim.c.until(() => victim.c.acks().includes(1), '$ack 1');
      // The attacker knows the id (a bearer secret): it takes the session over, then poisons it.
      const attacker = await rig.hello(s, 'mallory', 0, true);
      attacker.c.send('$m', MAX, 'e', 'poison');
      expect((await attacker.c.closeOf()).code).toBe(rig.code(1008));
      expect(attacker.c.acks()).toEqual([]);
      // The real client comes back and sends 100 more: every one handled.
      const back = await rig.hello(s, 'victim', 1, true);
      expect(back.welcome.seq).toBe(1);
      for (let n = 2; n <= 101; n++) back.c.send('$m', n, 'e', n);
      await back.c.until(() => back.c.acks().includes(101), '$ack 101');
      expect(rig.of(s).map((m) => m[1])).toEqual(Array.from({ length: 101 }, (_, i) => i + 1));
      await rig.bystander.check();
    });

    it('a sequence number may skip up to 1000 past the stored one, not further; a new session starts at most at 1000', async () => {
      const rig = await startRig(transport);
      const s = sid('skip');
      const a = await rig.hello(s);
      a.c.send('$m', 1000, 'e', 'first');
      a.c.send('$m', 2000, 'e', 'skipped 999');
      await a.c.until(() => a.c.acks().includes(2000), '$ack 2000');
      a.c.send('$m', 3001, 'e', 'too far');
      expect((await a.c.closeOf()).code).toBe(rig.code(1008));
      const fresh = await rig.hello(sid('fresh'));
      fresh.c.send('$m', 1001, 'e', 'too far');
      expect((await fresh.c.closeOf()).code).toBe(rig.code(1008));
      // A client that had its session (`resuming`) and finds it new goes on with its own numbers.
      const lost = await rig.hello(sid('lost'), 'x', 0, true);
      lost.c.send('$m', 5000, 'e', 'its own numbering');
      await lost.c.until(() => lost.c.acks().includes(5000), '$ack 5000');
      expect(rig.handled.map((h) => h[2])).not.toContain('too far');
      await rig.bystander.check();
    });

    const bad: [string, unknown][] = [
      ['a float', 1.5],
      ['2^53', 2 ** 53],
      ['1e308', 1e308],
      ['null', null],
      ['a string', '1'],
      ['a negative number', -1],
      ['true', true],
      ['an array', [1]],
      ['an object', { n: 1 }],
    ];
    it.each(bad)('%s as a sequence number, an offset or an ack → 1008, nothing stored', async (_name, value) => {
      const rig = await startRig(transport);
      const hello = await rig.raw();
      hello.send('$hello', sid(), value);
      const m = await rig.hello(sid());
      m.c.send('$m', value, 'e', 'x');
      const ack = await rig.hello(sid());
      ack.c.send('$ack', value);
      for (const c of [hello, m.c, ack.c]) expect((await c.closeOf()).code).toBe(rig.code(1008));
      expect(rig.handled.filter((h) => h[2] == 'x')).toEqual([]);
      await rig.bystander.check();
    });
  });

  describe('bounded server, nothing silently lost', () => {
    it('eviction flood: fresh ids beyond the rate are refused (1013); an offline session that owes messages keeps them', async () => {
      const rig = await startRig(transport, { store: memoryStore({ sessions: 300 }) });
      const s = sid('offline');
      const victim = await rig.hello(s);
      victim.c.kill();
      await rig.server.send(s, 'n', 'pending 1');
      await rig.server.send(s, 'n', 'pending 2');
      // From one address, with no secret: a burst of 10 seconds' worth of new sessions (100), then 1013. The
      // clock stands still, so that the bucket does not refill while the flood runs.
      vi.useFakeTimers({ toFake: ['Date'] });
      const codes = new Map<number, number>();
      for (let i = 0; i < 120; i++) {
        const c = await rig.raw();
        c.send('$hello', sid('flood'), 0);
        const first = await outcome(c);
        if (!first) c.kill();
        codes.set(first, (codes.get(first) ?? 0) + 1);
      }
      vi.useRealTimers();
      // The bystander and the victim took two of the burst.
      expect(Object.fromEntries(codes)).toEqual({ 0: 98, [rig.code(1013)]: 22 });
      const back = await rig.hello(s, 'victim', 0, true);
      expect(back.welcome).toEqual({ seq: null, offset: 2, resumed: true });
      await back.c.until(() => back.c.messages().length == 2, 'the pending messages');
      await rig.bystander.check();
    });

    it('a full store forgets idle sessions that owe nothing first, tells one that owed messages (resumed: false), never forgets a held one', async () => {
      // 10 sessions: the bystander, an idle one owing messages, and the flood.
      const rig = await startRig(transport, { store: memoryStore({ sessions: 10 }), newSessionsPerSecond: 1000 });
      const gone = (id: string): Promise<unknown> => waitFor(() => rig.server.principal(id) === undefined, 2000, `${id} released`);
      const owes = sid('owes');
      (await rig.hello(owes)).c.kill();
      await gone(owes);
      await rig.server.send(owes, 'n', 'kept if it can be');
      // 20 sessions that come and go: they owe nothing and are forgotten first.
      for (let i = 0; i < 20; i++) {
        const id = sid('come-and-go');
        (await rig.hello(id)).c.kill();
        await gone(id);
      }
      expect(await rig.store.since(owes, 0)).toHaveLength(1);
      // 9 that stay connected: held, never forgotten; the one owing messages has to go, and is told.
      const held: [string, Raw][] = [];
      for (let i = 0; i < 9; i++) {
        const id = sid('held');
        held.push([id, (await rig.hello(id)).c]);
      }
      expect(await rig.store.since(owes, 0)).toBeUndefined();
      // Full of held sessions: a new one is refused, none is forgotten.
      const late = await rig.raw();
      late.send('$hello', sid('late'), 0);
      expect((await late.closeOf()).code).toBe(rig.code(1013));
      expect(held.every(([, c]) => c.open)).toBe(true);
      held[0]![1].kill();
      await gone(held[0]![0]);
      // Its client had seen nothing (offset 0) and finds an empty session: only `resuming` lets the server
      // tell it that it lost something (a message it never got).
      const told = await rig.hello(owes, 'x', 0, true);
      expect(told.welcome).toEqual({ seq: null, offset: 0, resumed: false });
      await rig.bystander.check();
    });

    it('a handler never runs twice for one message, with a small store, a drop during the handler and a flood', async () => {
      const gate = deferred<void>();
      const rig = await startRig(transport, {
        store: memoryStore({ sessions: 3 }),
        newSessionsPerSecond: 1000,
        onMessage: (_s, e) => (e == 'slow' ? gate.promise : undefined),
      });
      const s = sid('slow');
      const a = await rig.hello(s);
      a.c.send('$m', 1, 'slow', 'once');
      await waitFor(() => rig.of(s).length == 1, 2000, 'the handler started');
      a.c.kill();
      // The flood tries to push the session out while its handler runs, and after.
      const flood = async (): Promise<void> => {
        for (let i = 0; i < 10; i++) {
          const c = await rig.raw();
          c.send('$hello', sid('flood'), 0);
          await Promise.race([c.welcome(), c.closeOf()]).catch(() => {});
          c.kill();
        }
      };
      await flood();
      gate.resolve();
      await waitFor(() => rig.server.principal(s) === undefined, 2000, 'the session released');
      await flood();
      // The client never saw the $ack: it resends.
      const b = await rig.hello(s, 'x', 0, true);
      b.c.send('$m', 1, 'slow', 'once');
      await b.c.until(() => b.c.acks().includes(1), '$ack 1');
      expect(rig.of(s)).toEqual([['slow', 'once']]);
      await rig.bystander.check();
    });

    it('caps the sessions of one principal connected at once (1013 beyond)', async () => {
      const rig = await startRig(transport, { auth: true, maxSessionsPerPrincipal: 3 });
      const tabs = [];
      for (let i = 0; i < 3; i++) tabs.push((await rig.hello(sid('tab'), 'alice')).c);
      const fourth = await rig.raw('alice');
      fourth.send('$hello', sid('tab'), 0);
      expect((await fourth.closeOf()).code).toBe(rig.code(1013));
      // Another principal is not affected; a tab closed makes room.
      await rig.hello(sid('tab'), 'bob');
      tabs[0]!.kill();
      await tabs[0]!.closeOf();
      await delay(50);
      await rig.hello(sid('tab'), 'alice');
      await rig.bystander.check();
    });

    it('stalled reader: past maxBuffered the connection closes with 1013; the client gets the rest from the history', async () => {
      const N = 20_000;
      const rig = await startRig(transport, { maxBuffered: 256 << 10, store: memoryStore({ history: N }) });
      const s = sid('stalled');
      const a = await rig.hello(s);
      const kb = 'x'.repeat(1024);
      if (transport == 'ws') {
        const ws = rig.wss!.clients;
        const pause = (a.c as unknown as { ws: { _socket: { pause(): void } } }).ws._socket;
        pause.pause();
        for (let i = 1; i <= N; i++) await rig.server.send(s, 'n', i, kb);
        // What waits in this process for the stalled client stays under the limit (plus the one frame over it).
        const buffered = Math.max(...[...ws].map((c) => c.bufferedAmount));
        expect(buffered).toBeLessThan((256 << 10) + 2048);
        (pause as unknown as { resume(): void }).resume();
      } else {
        const engine = (a.c as unknown as { socket: { io: { engine: { transport: { ws: { _socket: { pause(): void; resume(): void } } } } } } }).socket.io.engine;
        engine.transport.ws._socket.pause();
        const conn = rig.sio!.last!.socket.conn as unknown as { writeBuffer: unknown[]; transport: { socket: { bufferedAmount: number } } };
        for (let i = 1; i <= N; i++) await rig.server.send(s, 'n', i, kb);
        expect(conn.writeBuffer.length).toBeLessThan(300);
        expect(conn.transport.socket.bufferedAmount).toBeLessThan((256 << 10) + 300 * 1100);
        engine.transport.ws._socket.resume();
      }
      expect((await a.c.closeOf(10_000)).code).toBe(rig.code(1013));
      const got = a.c.messages().map((m) => m[0] as number);
      expect(got.length).toBeLessThan(N);
      // It comes back from where it was: the rest from the history, each once.
      const back = await rig.hello(s, 'x', got.length, true);
      expect(back.welcome).toEqual({ seq: null, offset: N, resumed: true });
      // (frames.length, not messages(): a check that filters every frame on every frame is quadratic.)
      await back.c.until(() => back.c.frames.length == 1 + N - got.length, 'the rest', 10_000);
      expect([...got, ...back.c.messages().map((m) => m[0] as number)]).toEqual(Array.from({ length: N }, (_, i) => i + 1));
      await rig.bystander.check();
    });

    it('many idle sockets: without $hello they are closed after helloTimeout (1008), with it they count against the principal', async () => {
      const rig = await startRig(transport, { helloTimeout: 300, maxSessionsPerPrincipal: 50, newSessionsPerSecond: 1000 });
      const idle = await Promise.all(Array.from({ length: 200 }, () => rig.raw()));
      const codes = await Promise.all(idle.map((c) => c.closeOf(5000).then((x) => x.code)));
      expect(new Set(codes)).toEqual(new Set([rig.code(1008)]));
      const welcomed: Raw[] = [];
      const refused: number[] = [];
      for (let i = 0; i < 60; i++) {
        const c = await rig.raw();
        c.send('$hello', sid('idle'), 0);
        const r = await outcome(c);
        if (r) refused.push(r);
        else welcomed.push(c);
      }
      // 50 per address, the bystander's included.
      expect(welcomed).toHaveLength(49);
      expect(refused).toEqual(Array(11).fill(rig.code(1013)));
      await rig.bystander.check();
    });
  });

  describe('hostile names and shapes', () => {
    it('__proto__ and constructor as session ids, event names and keys: no crash, no prototype pollution', async () => {
      const rig = await startRig(transport, { auth: true });
      for (const id of ['__proto__', 'constructor', 'hasOwnProperty', 'toString']) {
        const { c, welcome } = await rig.hello(id, '__proto__');
        expect(welcome.seq).toBe(null);
        c.send('$m', 1, '__proto__', JSON.parse('{"__proto__": {"polluted": 1}}'));
        c.send('$m', 2, 'constructor', { constructor: { prototype: { polluted: 1 } } });
        await c.until(() => c.acks().includes(2), '$ack 2');
        expect(await rig.server.send(id, '__proto__', 'x')).toBe(1);
        await c.until(() => c.messages().length == 1, '$m');
      }
      expect(rig.of('__proto__').map((m) => m[0])).toEqual(['__proto__', 'constructor']);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(rig.server.principal('constructor')).toBe('__proto__');
      await rig.bystander.check();
    });

    it('deep nesting: a message 100,000 levels deep is handled; echoing it cannot be encoded and is reported, not sent', async () => {
      const rig = await startRig(transport, { onMessage: (s, e, ...a) => (e == 'deep' ? rig.server.send(s, 'echo', ...a).catch(() => {}) : undefined) });
      const s = sid('deep');
      const { c } = await rig.hello(s);
      const deep = '['.repeat(100_000) + ']'.repeat(100_000);
      if (transport == 'ws') (c as unknown as { raw(f: string): void }).raw(`["$m",1,"deep",${deep}]`);
      else {
        let v: unknown[] = [];
        for (let i = 0; i < 1000; i++) v = [v];
        c.send('$m', 1, 'deep', v);
      }
      await c.until(() => c.acks().includes(1), '$ack 1');
      expect(rig.of(s)).toHaveLength(1);
      if (transport == 'ws') {
        await waitFor(() => rig.errors.length, 2000, 'the error');
        expect(rig.errors[0]).toMatchObject({ code: 'encode' });
      }
      expect(c.open).toBe(true);
      await rig.bystander.check();
    });
  });

  describe('requests (onRequest)', () => {
    it('answers after $hello, sync or async; a throw becomes an error with the message only', async () => {
      const rig = await startRig(transport, {
        onRequest: async (session, event, ...args) => {
          if (event == 'boom') throw new Error('no such room');
          if (event == 'later') return await delay(5).then(() => ['later', ...args]);
          return { session, event, args };
        },
      });
      const s = sid('asker');
      const { c } = await rig.hello(s);
      const ask = (id: number, event: string, ...args: unknown[]): Promise<unknown> => request(transport, c, id, event, args);
      expect(await ask(1, 'sum', 1, 2)).toEqual({ result: { session: s, event: 'sum', args: [1, 2] } });
      expect(await ask(2, 'later', 'x')).toEqual({ result: ['later', 'x'] });
      expect(await ask(3, 'boom')).toEqual({ error: 'no such room' });
      expect(rig.of(s)).toEqual([]);
      await rig.bystander.check();
    });
  });
});

/** 0 when the connection is welcomed, otherwise its close code. */
const outcome = async (c: Raw): Promise<number> => ((await c.welcome().then(() => true, () => false)) ? 0 : (await c.closeOf()).code);

/** A request on a raw connection: `{ result }` or `{ error }` as the client would read the reply. */
async function request(transport: TransportName, c: Raw, id: number, event: string, args: unknown[]): Promise<unknown> {
  if (transport == 'ws') {
    const pc = c as unknown as { raw(f: string): void; texts: string[]; until: Raw['until'] };
    pc.raw(JSON.stringify({ id, event, args }));
    const reply = await pc.until(() => pc.texts.map((t) => JSON.parse(t) as { id: number }).find((r) => r.id == id), `reply ${id}`);
    const { id: _, ...rest } = reply as { id: number; result?: unknown; error?: unknown };
    return rest;
  }
  const socket = (c as unknown as { socket: { emitWithAck(e: string, ...a: unknown[]): Promise<unknown> } }).socket;
  const r = await socket.emitWithAck(event, ...args);
  return r && typeof r == 'object' && Object.keys(r).length == 1 && '$error' in r ? { error: (r as { $error: unknown }).$error } : { result: r };
}

describe('ws only', () => {
  it('a frame header over maxFrame is refused at once (1009), even on a server created without maxPayload', async () => {
    const rig = await startRig('ws', { maxFrame: 1 << 20, wss: {} });
    const { connect } = await import('node:net');
    const port = Number(new URL(rig.url).port);
    const sock = connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    sock.on('data', (d) => (data = Buffer.concat([data, d])));
    await new Promise((r) => sock.once('connect', r));
    sock.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${Buffer.alloc(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    await waitFor(() => data.includes('\r\n\r\n'), 2000, 'the upgrade');
    data = Buffer.alloc(0);
    // A masked text frame announcing 50 MB, and only its first bytes.
    const header = Buffer.alloc(14);
    header[0] = 0x81;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(50_000_000n, 2);
    sock.write(Buffer.concat([header, Buffer.alloc(1024)]));
    await waitFor(() => data.length >= 4, 2000, 'a close frame');
    expect(data[0]).toBe(0x88);
    expect(data.readUInt16BE(2)).toBe(1009);
    sock.destroy();
    await rig.bystander.check();
  });

  it('a first frame that is not the protocol tells the user to add reliable() on the client (1008)', async () => {
    const rig = await startRig('ws');
    const c = await rig.raw();
    c.send('chat', 'hi');
    expect(await c.closeOf()).toEqual({ code: 1008, reason: 'expected $hello first: add reliable() on the client' });
    await rig.bystander.check();
  });

  it('without onRequest, requests still go to onFrame', async () => {
    const frames: unknown[] = [];
    const rig = await startRig('ws', { onFrame: (_ws, _f, info) => void frames.push(info.packet) });
    const { c } = await rig.hello(sid());
    (c as unknown as { raw(f: string): void }).raw(JSON.stringify({ id: 7, event: 'ask', args: [1] }));
    await waitFor(() => frames.length, 2000, 'onFrame');
    expect(frames).toEqual([{ id: 7, event: 'ask', args: [1] }]);
    await rig.bystander.check();
  });
});

describe('socket.io only', () => {
  it('refuses a server whose maxHttpBufferSize is above maxFrame (it would buffer such packets whole)', async () => {
    const server = reliable({ onMessage() {} });
    const errors: unknown[] = [];
    const sio = await startSioServer({
      io: { maxHttpBufferSize: 1e8 },
      onConnection: (socket) => {
        try {
          server.socketIo(socket);
        } catch (e) {
          errors.push(e);
        }
      },
    });
    cleanup(async () => (await server.close(), await sio.close()));
    const socket = ioClient(sio.url(), { forceNew: true, reconnection: false, transports: ['websocket'] });
    cleanup(() => socket.disconnect());
    await waitFor(() => errors.length, 2000, 'the refusal');
    expect(errors[0]).toMatchObject({ name: 'OptionError', option: 'maxHttpBufferSize', value: 1e8 });
  });

  it('without onRequest, events with an acknowledgement reach the socket listeners', async () => {
    const rig = await startRig('socket.io');
    rig.sio!.io!.on('connection', (socket) => socket.on('ask', (n: number, ack: (v: unknown) => void) => ack(n + 1)));
    const { c } = await rig.hello(sid());
    expect(await request('socket.io', c, 1, 'ask', [41])).toEqual({ result: 42 });
    await rig.bystander.check();
  });
});
