// The fault-injection scenarios, written once and run over each transport (see ws.test.ts, socketio.test.ts).
import { expect } from 'vitest';
import { reliable as reliableClient } from '../../src/reliable';
import { waitFor } from '../helpers/wait';
import { Chaos, plan, startClient, startRig, stream, tally, within, type Tally, type TransportName } from './harness';
import { hash, rng } from './rng';

export interface ScenarioOptions {
  transport: TransportName;
  /** The run's seed; each scenario draws from its own stream, derived from it and `name`. */
  seed: number;
  /** Names the scenario's random stream (the test's name). */
  name: string;
  /** Messages in the stream. @default 5000 */
  n?: number;
  /** Faults during the stream. @default 20 */
  faults?: number;
  /** Messages per timer turn. @default 3 */
  perTick?: number;
}

export interface Outcome {
  tally: Tally;
  /** Faults applied while the stream was still being sent (the rest fell right after it). */
  duringStream: number;
  faults: string;
  opens: number;
  closes: number;
  /** The closes the client saw, by code and reason. */
  reasons: string;
  ms: number;
}

const report = (what: string, o: ScenarioOptions, out: Outcome, extra = ''): void => {
  const t = out.tally;
  console.log(
    `[fault] ${what} over ${o.transport} (SUREWIRE_SEED=${o.seed}): ` +
      `received ${t.total}, unique ${t.unique}, lost ${t.lost}, duplicated ${t.duplicated}, out of order ${t.outOfOrder}` +
      `${extra}; faults: ${out.faults} (${out.duringStream} during the stream); ` +
      `${out.opens} opens, ${out.closes} closes (${out.reasons}); ${out.ms} ms`,
  );
};

/**
 * Client → server: messages 1..n sent steadily with `client.send('m', k)` while the connection is faulted.
 * With `reliable`, the client runs `reliable()` against `surewire/server` and the run waits for
 * `delivered()`; without it, a plain client talks to a plain server, and the run ends once a final `fin`
 * came through on a healthy connection (so everything that could still arrive has arrived).
 */
export async function clientToServer(o: ScenarioOptions & { reliable: boolean }): Promise<Outcome> {
  const n = o.n ?? 5000;
  const r = rng((o.seed ^ hash(o.name)) >>> 0);
  const started = Date.now();
  const rig = await startRig({ transport: o.transport, reliable: o.reliable ? { history: 1000 } : false });
  const delivery = o.reliable ? reliableClient() : undefined;
  const { client, log } = startClient(rig, delivery);
  await waitFor(() => client.connection.state == 'open', 5000, 'the first open');
  const chaos = new Chaos(rig, plan(r, n, o.faults ?? 20), client, log);

  await stream(n, o.perTick ?? 3, (k) => void client.send('m', k), chaos);
  const duringStream = chaos.applied.length;
  await chaos.finish();
  if (delivery) await within(delivery.delivered(), 15_000, 'delivered()');
  else {
    // Plain mode has no acknowledgement: a `fin` that reaches the server behind everything still queued
    // says the run is over. It is sent again now and then, in case it went into a connection that died.
    let last = 0;
    await waitFor(
      () => {
        if (rig.fins) return true;
        if (Date.now() - last > 200 && client.connection.state == 'open') (last = Date.now()), client.send('fin');
        return false;
      },
      10_000,
      'the fin',
    );
  }
  const out: Outcome = {
    tally: tally(rig.received, n),
    duringStream,
    faults: chaos.summary(),
    opens: log.opens,
    closes: log.closes,
    reasons: [...log.reasons].map(([k, v]) => `${k} ×${v}`).join(', '),
    ms: Date.now() - started,
  };
  expect(log.drops, 'messages the outbox dropped').toBe(0);
  expect(chaos.applied.length).toBe(o.faults ?? 20);
  report(`client → server, reliable ${o.reliable ? 'on' : 'off'}`, o, out);
  return out;
}

/**
 * Server → client: messages 1..n sent steadily with the server's `send(session, 'p', k)` while the
 * connection is faulted; the client app records what reaches its `p` listener, and every `discontinuity`.
 * The run ends once the client is at offset n: it received n, or a discontinuity took it there.
 */
export async function serverToClient(o: ScenarioOptions & { history: number }): Promise<Outcome & { got: number[]; gaps: { from: number; to: number }[] }> {
  const n = o.n ?? 5000;
  const r = rng((o.seed ^ hash(o.name)) >>> 0);
  const started = Date.now();
  const rig = await startRig({ transport: o.transport, reliable: { history: o.history } });
  const delivery = reliableClient();
  const { client, log } = startClient(rig, delivery);
  const got: number[] = [];
  client.on('p', (k: unknown) => void got.push(k as number));
  await waitFor(() => client.connection.state == 'open', 5000, 'the first open');
  const chaos = new Chaos(rig, plan(r, n, o.faults ?? 20), client, log);
  const session = delivery.session!;
  const server = rig.server!;

  const sent: Promise<number>[] = [];
  await stream(n, o.perTick ?? 3, (k) => void sent.push(server.send(session, 'p', k)), chaos);
  const duringStream = chaos.applied.length;
  expect(await within(Promise.all(sent), 10_000, 'server.send'), 'offsets given out').toEqual(Array.from({ length: n }, (_, i) => i + 1));
  await chaos.finish();
  const at = (): number => Math.max(got[got.length - 1] ?? 0, ...log.gaps.map((g) => g.to));
  await waitFor(() => at() >= n, 15_000, `the client at offset ${n}`);
  const out = {
    tally: tally(got, n),
    duringStream,
    faults: chaos.summary(),
    opens: log.opens,
    closes: log.closes,
    reasons: [...log.reasons].map(([k, v]) => `${k} ×${v}`).join(', '),
    ms: Date.now() - started,
    got,
    gaps: log.gaps,
  };
  const skipped = log.gaps.reduce((s, g) => s + g.to - g.from, 0);
  report(`server → client, history ${o.history}`, o, out, `, discontinuities ${log.gaps.length} (covering ${skipped})`);
  return out;
}
