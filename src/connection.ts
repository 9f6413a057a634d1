import { emitter } from './emitter';
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

/**
 * Why the connection is in its state:
 * - `idle`: `created`;
 * - `connecting`: `connect()`, `reconnect()`, `retry` (after the backoff wait), `online` or `visible` (the
 *   browser said to look again);
 * - `open`: `open`;
 * - `reconnecting`: `socket closed` (by the server or the network: see `code`), `heartbeat timeout`,
 *   `connect timeout`, `connect failed` (the URL provider, or the transport, failed);
 * - `closed`: `close()` (final), `max retries`, `reconnect disabled`, `stop code` (a close code that means
 *   "do not come back": see `code`), `bad url` (a URL provider returned a URL that can never work).
 */
export type StateReason =
  | 'created'
  | 'connect()'
  | 'reconnect()'
  | 'retry'
  | 'online'
  | 'visible'
  | 'open'
  | 'socket closed'
  | 'heartbeat timeout'
  | 'connect timeout'
  | 'connect failed'
  | 'close()'
  | 'max retries'
  | 'reconnect disabled'
  | 'stop code'
  | 'bad url';

/** An immutable picture of the connection, replaced on every change. */
export interface ConnectionSnapshot {
  /** The state of the connection. */
  readonly state: ConnectionState;
  /** Why the connection is in this state. */
  readonly reason: StateReason;
  /** The code of the last close, or null before the first. */
  readonly code: number | null;
  /** True once `close()` was called: closed for good, nothing will reopen this client. */
  readonly final: boolean;
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
  /** The close code: the server's, the browser's (1006 for a connection that failed), or the client's own (see `CloseCode`). */
  code: number;
  /** The close reason the peer or the client gave; often empty. */
  reason: string;
  /** Whether a reconnection attempt follows (after the backoff wait). */
  willReconnect: boolean;
}

/** Listener signatures of the lifecycle events on `client.connection`. */
export interface LifecycleEvents {
  /** The state changed, and why. */
  state: (change: { from: ConnectionState; to: ConnectionState; reason: StateReason }) => void;
  /** `recovered` is set by transports that can restore a session (socket.io's connection state recovery). */
  open: (info: { attempt: number; recovered?: boolean }) => void;
  /** A socket closed or an attempt failed; fires for each one. */
  close: (info: CloseInfo) => void;
  /** A retry is scheduled in `delay` ms; `attempt` counts from 1. */
  reconnecting: (info: { attempt: number; delay: number }) => void;
  /** Something failed: a runtime error is reported here, never as an unhandled rejection. */
  error: (error: SurewireError) => void;
  /** A message that will not be sent: `message` is the decoded frame, `frame` what would have gone out. */
  drop: (info: { message: Packet; frame: unknown; reason: DropReason }) => void;
  /** A round trip was measured (a pong arrived, or socket.io's handshake completed), in ms. */
  heartbeat: (info: { rtt: number }) => void;
}

/**
 * The lifecycle of a client's connection: its state, events and a store.
 * `subscribe` + `getSnapshot` follow the store contract of React's `useSyncExternalStore` and Svelte stores.
 */
export interface Connection {
  /** The current state. */
  readonly state: ConnectionState;
  /** The current snapshot; the same object until something changes. Bound, so it can be passed around. */
  getSnapshot(): ConnectionSnapshot;
  /**
   * Calls `fn` with the current snapshot now and with each new one. Bound, so it can be passed around.
   * @example const snap = useSyncExternalStore(chat.connection.subscribe, chat.connection.getSnapshot);
   */
  subscribe(fn: (snapshot: ConnectionSnapshot) => void): Unsubscribe;
  /** Listens to a lifecycle event; returns a function that stops listening. */
  on<E extends keyof LifecycleEvents>(event: E, listener: LifecycleEvents[E]): Unsubscribe;
  /** Like `on`, for the next occurrence only. */
  once<E extends keyof LifecycleEvents>(event: E, listener: LifecycleEvents[E]): Unsubscribe;
  /** Removes a listener, or every listener of `event`. */
  off<E extends keyof LifecycleEvents>(event: E, listener?: LifecycleEvents[E]): void;
}

/** A connection and the write access to it, which only the client that made it holds. */
export interface ConnectionControl {
  connection: Connection;
  /** Replaces the snapshot with `patch` applied, tells subscribers, and emits `state` when the state changed. */
  set(patch: Partial<ConnectionSnapshot>): void;
  /** Returns whether anyone listened. */
  emit<E extends keyof LifecycleEvents>(event: E, payload: Parameters<LifecycleEvents[E]>[0]): boolean;
}

export function connection(): ConnectionControl {
  let snap: ConnectionSnapshot = Object.freeze({ state: 'idle', reason: 'created', code: null, final: false, attempt: 0, retryAt: null, queued: 0, rtt: null });
  const { emit, ...ev } = emitter();
  // Subscribers are listeners of an event no lifecycle name can collide with.
  return {
    connection: {
      get state() {
        return snap.state;
      },
      getSnapshot: () => snap,
      subscribe: (fn) => (fn(snap), ev.on('', fn)),
      ...ev,
    },
    set(patch) {
      const from = snap.state;
      snap = Object.freeze({ ...snap, ...patch });
      emit('', snap);
      if (from != snap.state) emit('state', { from, to: snap.state, reason: snap.reason });
    },
    emit,
  };
}
