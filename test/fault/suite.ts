// The fault-injection suite, defined once per transport (ws.test.ts and socketio.test.ts call it: one file
// per transport). Every random choice comes from the seed, printed in the suite's name and in each result
// line; each file draws its own seed unless SUREWIRE_SEED is set, so replay a failure with
// `SUREWIRE_SEED=<seed> npx vitest run test/fault/<file>`. That replays the plan (where each fault falls in
// the stream and which kind it is, and how long a stall lasts before its cut); the timing of the network,
// of the heartbeat and of the backoff jitter stays real.
//
// Faults: 20 per scenario, five of each kind (harness.ts: cut, stall, stall-cut, server-side terminate),
// in a seeded order, one at a seeded place in each twentieth of the 5000-message stream.
import { describe, expect, it } from 'vitest';
import type { TransportName } from './harness';
import { runSeed } from './rng';
import { clientToServer, serverToClient } from './scenarios';

const N = 5000;
const FAULTS = 20;
const TIMEOUT = 40_000;

export function faultSuite(transport: TransportName): void {
  const seed = runSeed();
  console.log(`[fault] ${transport}: SUREWIRE_SEED=${seed}`);

  describe(`fault injection over ${transport} (SUREWIRE_SEED=${seed})`, () => {
    it(`client → server: ${N} messages across ${FAULTS} faults reach onMessage once each, in order`, async (t) => {
      const out = await clientToServer({ transport, seed, name: t.task.name, reliable: true, n: N, faults: FAULTS });
      expect(out.tally).toEqual({ total: N, unique: N, lost: 0, duplicated: 0, outOfOrder: 0 });
    }, TIMEOUT);

    it(`server → client: ${N} messages across ${FAULTS} faults reach the app once each, in order (history ${N})`, async (t) => {
      const out = await serverToClient({ transport, seed, name: t.task.name, history: N, n: N, faults: FAULTS });
      expect(out.gaps, 'discontinuities').toEqual([]);
      expect(out.tally).toEqual({ total: N, unique: N, lost: 0, duplicated: 0, outOfOrder: 0 });
      expect(out.got).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    }, TIMEOUT);

    it(`server → client with a history of 10: every message missed is reported by a discontinuity, none silently`, async (t) => {
      const out = await serverToClient({ transport, seed, name: t.task.name, history: 10, n: N, faults: FAULTS });
      // What arrived arrived once and in order; the history is too short to replay every outage, so some were
      // missed, and each one missed lies in the range (from, to] of a discontinuity the client was told of.
      expect(out.tally.duplicated).toBe(0);
      expect(out.tally.outOfOrder).toBe(0);
      expect(out.gaps.length, 'discontinuities').toBeGreaterThan(0);
      const covered = new Set<number>();
      for (const { from, to } of out.gaps) {
        expect(to, `a discontinuity moves forward (${from} → ${to})`).toBeGreaterThan(from);
        for (let k = from + 1; k <= to; k++) covered.add(k);
      }
      const got = new Set(out.got);
      const silent = [];
      for (let k = 1; k <= N; k++) if (!got.has(k) && !covered.has(k)) silent.push(k);
      expect(silent, 'messages missed without a discontinuity').toEqual([]);
      expect(out.got.filter((k) => covered.has(k)), 'messages received inside a reported gap').toEqual([]);
    }, TIMEOUT);

    it(`reliable off: the same client → server scenario loses messages (the scenario is strong enough)`, async (t) => {
      // Without `reliable`, `send` returning 'sent' only means the frame was handed to the socket
      // (`ws.send` / socket.io's `emit`): it may still sit in the client's socket buffer, in the proxy, or in
      // the server's, and dies with the connection. During a stall the client keeps writing into a link that
      // forwards nothing until the heartbeat (or engine.io's ping) gives up on it, and a stall followed by a
      // cut, or a server-side termination, drops what was in flight. Nothing resends those frames: they are
      // lost. (The outbox only holds what was sent while the client knew it was disconnected.)
      const out = await clientToServer({ transport, seed, name: t.task.name, reliable: false, n: N, faults: FAULTS });
      expect(out.tally.lost + out.tally.duplicated, 'messages lost or duplicated without reliable').toBeGreaterThan(0);
    }, TIMEOUT);
  });
}
