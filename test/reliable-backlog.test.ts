import { describe, expect, it } from 'vitest';
import { reliable } from '../src/reliable';
import { fakeClientHarness } from './helpers/fake-client';

const { tick, serve, client } = fakeClientHarness();
const net = (): Promise<unknown> => tick(20);

/**
 * A server speaking PROTOCOL.md for one new session: welcome, store, and an `$ack` for every `ackEvery`-th
 * message (so that one acknowledgement covers several messages, as surewire/server's batched acks do).
 */
function server(ackEvery: number) {
  const srv = serve();
  const s = { srv, stored: [] as number[], acks: 0 };
  srv.onConnection = (socket) => {
    socket.on('message', (data) => {
      const m = JSON.parse(data as string) as unknown[];
      if (m[0] != '$m') return;
      const n = m[1] as number;
      s.stored.push(n);
      if (n % ackEvery == 0) s.acks++, socket.send(JSON.stringify(['$ack', n]));
    });
  };
  return s;
}

// Counts Array.prototype calls on the reliable layer's own arrays, told apart by what they hold: `made` holds
// frames each followed by its number, `unacked` holds [number, frame] pairs, the waiters [number, resolve].
// Patched by hand (a vi.spyOn records every call, with arrays of its own); `restore` puts them back.
function count(): { made: number; unacked: number; waiters: number; restore(): void } {
  const proto = Array.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const names = ['splice', 'shift', 'filter'];
  const real = names.map((name) => proto[name]!);
  const c = {
    made: 0,
    unacked: 0,
    waiters: 0,
    restore: () => names.forEach((name, i) => (proto[name] = real[i]!)),
  };
  names.forEach((name, i) => {
    proto[name] = function (this: unknown[], ...a: unknown[]) {
      const x = this[0];
      const y = this[1];
      if (typeof x == 'string' && x.startsWith('["$m"') && typeof y == 'number') c.made++;
      else if (Array.isArray(x) && typeof x[0] == 'number' && typeof x[1] == 'string') c.unacked++;
      else if (Array.isArray(x) && typeof x[1] == 'function') c.waiters++;
      return real[i]!.apply(this, a);
    };
  });
  return c;
}

describe('reliable: a big backlog costs linear time', () => {
  it('flushes a burst queued before the welcome in order, without splicing or shifting per message', async () => {
    const n = 3000;
    const s = server(10);
    const delivery = reliable();
    const c = client(s.srv.url, { reliable: delivery, queue: { max: 10_000 } });
    await net(); // connected, $hello sent, no $welcome yet: messages wait in the outbox
    expect(c.connection.state).toBe('connecting');
    for (let i = 1; i <= n; i++) c.send('m', i);
    let settled = 0;
    for (let i = 0; i < 5; i++) void delivery.delivered().then(() => settled++);
    expect(c.connection.getSnapshot().queued).toBe(n);
    const calls = count();
    s.srv.send(JSON.stringify(['$welcome', null, 0, false]));
    try {
      for (let i = 0; i < 100 && s.stored.length < n; i++) await net();
      await net();
    } finally {
      calls.restore();
    }
    // Every message once, in order, numbered without gaps.
    expect(s.stored).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(settled).toBe(5);
    // Before: one made.splice(0, 2) per message (a copy of the whole backlog each time once it is big), one
    // unacked.shift() per acknowledged message, and a new waiters array per $ack.
    expect(calls.made).toBe(0);
    expect(calls.unacked).toBeLessThanOrEqual(s.acks);
    expect(calls.waiters).toBeLessThanOrEqual(5);
  });
});
