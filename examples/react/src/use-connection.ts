// surewire in React: the connection is an external store, so binding it is one hook call.
import { useEffect, useEffectEvent, useSyncExternalStore } from 'react';
import type { Connection, ConnectionSnapshot, EventNames, EventsMap, Surewire } from 'surewire';

/**
 * The connection's snapshot, `{ state, reason, attempt, retryAt, queued, rtt }`: the component re-renders
 * whenever it changes. `subscribe` and `getSnapshot` are bound and stable, and a snapshot is a frozen object
 * replaced on every change, which is exactly the store contract `useSyncExternalStore` asks for.
 */
export function useConnection(chat: { readonly connection: Connection }): ConnectionSnapshot {
  return useSyncExternalStore(chat.connection.subscribe, chat.connection.getSnapshot);
}

/**
 * Listens to a server event while the component is mounted, with the listener of the latest render (no
 * stale state, no resubscribing on every render). `chat.on` returns the unsubscribe that the effect's
 * cleanup needs. `useEffectEvent` is React 19.2+; on older React, keep the listener in a ref.
 */
export function useEvent<Listen extends EventsMap, Emit extends EventsMap, E extends EventNames<Listen>>(
  chat: Surewire<Listen, Emit>,
  event: E,
  listener: Listen[E],
): void {
  const onEvent = useEffectEvent(listener);
  useEffect(() => chat.on(event, onEvent), [chat, event]);
}
