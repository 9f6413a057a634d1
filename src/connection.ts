import { EventEmitter } from 'eventemitter3';
import type { DropReason } from './outbox';
import type { Packet } from './codec';
import type { SurewireError } from './errors';
import type { Unsubscribe } from './types';

/**
 * - `idle`: made with `autoConnect: false`, not started yet;
 * - `connecting`: an attempt is under way (the first or a retry: see `attempt`);
 * - `open`: messages flow;
 * - `reconnecting`: waiting out the backoff delay before the next attempt;
 * - `closed`: stopped, by `close()` (final) or because reconnection gave up (see `reason`).
 */
export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** An immutable picture of the connection, replaced on every change. */
export interface ConnectionSnapshot {
  readonly state: ConnectionState;
  /** Why the connection is in this state, e.g. `'heartbeat timeout'`, `'close()'`, `'max retries'`. */
  readonly reason: string;
  /** Retries since the connection was last stable (0 while stable). */
  readonly attempt: number;
  /** When the waiting retry fires (epoch ms), while `reconnecting`; otherwise null. */
  readonly retryAt: number | null;
  /** Messages waiting in the outbox. */
  readonly queued: number;
  /** Last measured heartbeat round trip in ms, or null before the first. */
  readonly rtt: number | null;
}

/** How a socket closed, and whether the client will try again. */
export interface CloseInfo {
  code: number;
  reason: string;
  willReconnect: boolean;
}

/** Listener signatures of the lifecycle events on `client.connection`. */
export interface LifecycleEvents {
  state: (change: { from: ConnectionState; to: ConnectionState; reason: string }) => void;
  /** `recovered` is set by transports that can restore a session (socket.io's connection state recovery). */
  open: (info: { attempt: number; recovered?: boolean }) => void;
  close: (info: CloseInfo) => void;
  reconnecting: (info: { attempt: number; delay: number }) => void;
  error: (error: SurewireError) => void;
  /** A message that will not be sent: `message` is the decoded frame, `frame` what would have gone out. */
  drop: (info: { message: Packet; frame: unknown; reason: DropReason }) => void;
  heartbeat: (info: { rtt: number }) => void;
}

/** The client's write access to its connection; never handed to users. */
export interface ConnectionControl {
  set(patch: Partial<ConnectionSnapshot>): void;
  emit<E extends keyof LifecycleEvents>(event: E, payload: Parameters<LifecycleEvents[E]>[0]): void;
}

/**
 * The lifecycle of a client's connection: its state, events and a store.
 * `subscribe` + `getSnapshot` follow the store contract of React's `useSyncExternalStore` and Svelte stores.
 */
export class Connection {
  #snap: ConnectionSnapshot;
  #ev = new EventEmitter();
  #subs = new Set<(s: ConnectionSnapshot) => void>();

  /** @param control receives the write access, so only the client that made this connection can change it */
  constructor(control: (c: ConnectionControl) => void) {
    this.#snap = Object.freeze({ state: 'idle', reason: '', attempt: 0, retryAt: null, queued: 0, rtt: null });
    control({
      set: (patch) => {
        const from = this.#snap.state;
        this.#snap = Object.freeze({ ...this.#snap, ...patch });
        this.#subs.forEach((fn) => fn(this.#snap));
        if (from != this.#snap.state) this.#ev.emit('state', { from, to: this.#snap.state, reason: this.#snap.reason });
      },
      emit: (event, payload) => this.#ev.emit(event, payload),
    });
  }

  /** The current state. */
  get state(): ConnectionState {
    return this.#snap.state;
  }

  /** The current snapshot; the same object until something changes. Bound, so it can be passed around. */
  getSnapshot = (): ConnectionSnapshot => this.#snap;

  /**
   * Calls `fn` with the current snapshot now and with each new one. Bound, so it can be passed around.
   * @example const snap = useSyncExternalStore(chat.connection.subscribe, chat.connection.getSnapshot);
   */
  subscribe = (fn: (snapshot: ConnectionSnapshot) => void): Unsubscribe => {
    this.#subs.add(fn);
    fn(this.#snap);
    return () => this.#subs.delete(fn);
  };

  /** Listens to a lifecycle event; returns a function that stops listening. */
  on<E extends keyof LifecycleEvents>(event: E, listener: LifecycleEvents[E]): Unsubscribe {
    this.#ev.on(event, listener);
    return () => this.#ev.off(event, listener);
  }

  /** Like `on`, for the next occurrence only. */
  once<E extends keyof LifecycleEvents>(event: E, listener: LifecycleEvents[E]): Unsubscribe {
    this.#ev.once(event, listener);
    return () => this.#ev.off(event, listener);
  }

  /** Removes a listener, or every listener of `event`. */
  off<E extends keyof LifecycleEvents>(event: E, listener?: LifecycleEvents[E]): void {
    this.#ev.off(event, listener);
  }
}
