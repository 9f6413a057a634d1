import { afterEach, beforeEach, vi } from 'vitest';
import { Surewire } from '../../src/client';
import type { LifecycleEvents } from '../../src/connection';
import type { SurewireOptions } from '../../src/options';
import { MockServer, WS, type MockServerOptions } from './mock-server';

/** The fake clock starts here, so `Date.now()` is exact in every test. */
export const T0 = 1_700_000_000_000;

/**
 * Sets up a test file for the client on mock-socket under fake timers: `Math.random` returns 0.5 (the middle of the jitter: every delay is its base
 * unless a test says otherwise), and every server and client made through the returned functions is
 * stopped and closed after each test.
 */
export function fakeClientHarness() {
  const servers: MockServer[] = [];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const clients: Surewire<any, any>[] = [];

  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
  });

  afterEach(() => {
    clients.splice(0).forEach((c) => c.close());
    servers.splice(0).forEach((s) => s.stop());
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  return {
    /** Advances the fake clock, running timers and the promises they settle. */
    tick: (ms = 0): Promise<unknown> => vi.advanceTimersByTimeAsync(ms),
    serve(o?: MockServerOptions): MockServer {
      const s = new MockServer(o);
      servers.push(s);
      return s;
    },
    /** Closes `c` after the test: for clients made by hand. */
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    own<C extends Surewire<any, any>>(c: C): C {
      clients.push(c);
      return c;
    },
    /** A client on mock-socket, heartbeat off unless the test turns it on. */
    client(url: ConstructorParameters<typeof Surewire>[0], o: SurewireOptions = {}): Surewire {
      const c = new Surewire(url, { WebSocket: WS, heartbeat: false, ...o });
      clients.push(c);
      return c;
    },
  };
}

/** Collects the payloads of a lifecycle event. */
export function record<E extends keyof LifecycleEvents>(c: Surewire, event: E): Parameters<LifecycleEvents[E]>[0][] {
  const out: Parameters<LifecycleEvents[E]>[0][] = [];
  c.connection.on(event, ((x: Parameters<LifecycleEvents[E]>[0]) => void out.push(x)) as LifecycleEvents[E]);
  return out;
}
