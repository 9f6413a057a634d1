// Bugs of src/ the fault-injection suite found, each reduced to a minimal reproduction over both
// transports, kept as regression tests of their fixes.
import { describe, expect, it } from 'vitest';
import { reliable as reliableClient } from '../../src/reliable';
import { memoryStore, type Store } from '../../src/server';
import { deferred, waitFor } from '../helpers/wait';
import { startClient, startRig, within, type TransportName } from './harness';

describe.each<TransportName>(['ws', 'socket.io'])('regressions over %s', (transport) => {
  // Between the socket opening and `$welcome` the client is 'connecting' and sends nothing but `$hello`.
  // The bug: `send()` with an empty outbox went straight to the inner socket and the frame overtook the
  // resend of the unacknowledged messages; the server stored that newer sequence number first and dropped
  // the older resent ones as duplicates. Fixed: the wrapped connection refuses app frames until its welcome
  // is handled, so the outbox keeps them until then.
  it('a message sent while the client waits for $welcome does not overtake the unacknowledged ones', async () => {
    const base = memoryStore();
    const gate = deferred<void>();
    let hellos = 0;
    // The second `$hello` is answered only when the gate opens: the window between the socket opening and `$welcome`.
    const store: Store = { ...base, open: async (id, principal, create) => (++hellos == 2 && (await gate.promise), base.open(id, principal, create)) };
    const rig = await startRig({ transport, reliable: { history: 100, store } });
    const delivery = reliableClient();
    const { client } = startClient(rig, delivery);
    await waitFor(() => client.connection.state == 'open', 5000, 'open');
    rig.proxy.stall();
    // Handed to the socket, lost in the stalled link: kept unacknowledged, resent after `$welcome`.
    expect([client.send('m', 1), client.send('m', 2)]).toEqual(['sent', 'sent']);
    rig.proxy.cut();
    await waitFor(() => hellos == 2, 5000, 'the second $hello');
    expect(client.connection.state).toBe('connecting');
    const result = client.send('m', 3);
    gate.resolve();
    await within(delivery.delivered(), 5000, 'delivered()');
    expect(result).toBe('queued');
    expect(rig.received, 'handled by the server').toEqual([1, 2, 3]);
  });

  // A client that comes back with a backlog larger than the server's `maxPending` used to resend it all at
  // `$welcome`: the server took it for a flood (1013) before storing any, and the client made about one
  // message of progress per reconnect. Fixed: the client keeps at most `window` messages on the wire
  // without an acknowledgement (3600 by default, under the server's 4000). Here `maxPending` is 100 and the
  // window 50, with a backlog of 1000, so reads carrying more than `maxPending` frames would be certain.
  it('a backlog larger than maxPending, resent at $welcome, gets through with no flood', async () => {
    const rig = await startRig({ transport, reliable: { history: 100, maxPending: 100 } });
    const delivery = reliableClient({ window: 50 });
    const { client, log } = startClient(rig, delivery);
    await waitFor(() => client.connection.state == 'open', 5000, 'open');
    rig.proxy.stall();
    for (let k = 1; k <= 1000; k++) client.send('m', k);
    rig.proxy.cut();
    await waitFor(() => rig.received.length == 1000 || log.closes > 20, 10_000, 'all 1000 handled, or 20 reconnects');
    const closes = [...log.reasons].map(([k, v]) => `${k} ×${v}`).join(', ');
    expect(rig.received.length, `messages handled after ${log.closes} closes (${closes})`).toBe(1000);
    expect(rig.received).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    // One close, the cut: no flood close followed (over socket.io it would show as a transport close). A
    // heartbeat false alarm on a busy machine (4000) is not a flood.
    // The cut is one close: a transport close, or on a busy machine a ping timeout noticed first. A flood adds
    // closes of its own (1013 over ws; over socket.io a server disconnect, 1008, which ends the client).
    expect(log.closes, closes).toBeGreaterThanOrEqual(1);
    expect(log.closes - heartbeatCloses(log.reasons), closes).toBeLessThanOrEqual(1);
    expect([...log.reasons.keys()].filter((k) => /^10(08|13)/.test(k)), closes).toEqual([]);
  });

  // socket.io's frames are packet objects, not text, and neither the outbox nor the reliable layer wrote them to
  // `queue.storage`: over socket.io a page reload lost every unacknowledged and queued message. Fixed: the
  // transport says which packets can be stored (`storable`: no binary data), and both keep those as JSON.
  it('a reload with queue.storage (a new client on the same storage) loses nothing pending and doubles nothing', async () => {
    const rig = await startRig({ transport, reliable: { history: 100 } });
    const map = new Map<string, string>();
    const storage = { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v) };
    const queue = { max: 100_000, storage };
    const first = startClient(rig, reliableClient(), { queue });
    await waitFor(() => first.client.connection.state == 'open', 5000, 'open');
    for (let k = 1; k <= 50; k++) first.client.send('m', k);
    await waitFor(() => rig.received.length == 50, 5000, 'the first 50 handled');
    // Handed to a silent link: unacknowledged. Then the link drops and every attempt is refused: queued.
    rig.proxy.stall();
    for (let k = 51; k <= 100; k++) expect(first.client.send('m', k)).toBe('sent');
    rig.proxy.mode = 'refuse';
    rig.proxy.cut();
    await waitFor(() => first.client.connection.state != 'open', 5000, 'the cut noticed');
    for (let k = 101; k <= 150; k++) expect(first.client.send('m', k)).toBe('queued');
    await Promise.resolve(); // the storage writes (one microtask)
    // The page goes away.
    first.client.close();
    expect(rig.received).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    rig.proxy.mode = 'forward';
    const delivery = reliableClient();
    startClient(rig, delivery, { queue });
    await waitFor(() => rig.received.length >= 150, 10_000, 'all 150 handled');
    await within(delivery.delivered(), 5000, 'delivered()');
    expect(rig.received).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
  });

  // The same with both defaults, the client's window and the server's `maxPending`, against a store that takes
  // a while to answer, so messages pile up on the server: the default window must stay under the default guard.
  it('with the default window and maxPending, a backlog resent to a slow store gets through with no flood', async () => {
    const base = memoryStore({ history: 100 });
    const store: Store = { ...base, accept: (id, seq) => new Promise<void>((r) => setImmediate(() => r(base.accept(id, seq)))) };
    const rig = await startRig({ transport, reliable: { history: 100, store } });
    const delivery = reliableClient();
    const { client, log } = startClient(rig, delivery);
    await waitFor(() => client.connection.state == 'open', 5000, 'open');
    rig.proxy.stall();
    // More than the default window (3600), so the resend after the cut fills it.
    for (let k = 1; k <= 5000; k++) client.send('m', k);
    rig.proxy.cut();
    await waitFor(() => rig.received.length == 5000 || log.closes > 5, 20_000, 'all 5000 handled, or 5 reconnects');
    const closes = [...log.reasons].map(([k, v]) => `${k} ×${v}`).join(', ');
    expect(rig.received, `after ${log.closes} closes (${closes})`).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1));
    // The cut is one close: a transport close, or on a busy machine a ping timeout noticed first. A flood adds
    // closes of its own (1013 over ws; over socket.io a server disconnect, 1008, which ends the client).
    expect(log.closes, closes).toBeGreaterThanOrEqual(1);
    expect(log.closes - heartbeatCloses(log.reasons), closes).toBeLessThanOrEqual(1);
    expect([...log.reasons.keys()].filter((k) => /^10(08|13)/.test(k)), closes).toEqual([]);
  });
});

/** Closes by the heartbeat (4000: the client's own, or socket.io's ping timeout): false alarms of a busy machine. */
const heartbeatCloses = (reasons: Map<string, number>): number =>
  [...reasons].filter(([k]) => k.startsWith('4000')).reduce((n, [, v]) => n + v, 0);
