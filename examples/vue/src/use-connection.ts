// surewire in Vue 3: the connection's store becomes a shallowRef, kept in sync for the life of the scope.
import { onScopeDispose, shallowRef, type ShallowRef } from 'vue';
import type { Connection, ConnectionSnapshot, EventNames, EventsMap, Surewire } from 'surewire';

/**
 * The connection's snapshot, `{ state, reason, attempt, retryAt, queued, rtt }`, as a ref that follows every
 * change. A snapshot is a frozen object replaced on every change, so a shallowRef is all the reactivity it
 * needs. Call it in `setup()` (or any effect scope): the subscription ends with the scope.
 */
export function useConnection(chat: { readonly connection: Connection }): Readonly<ShallowRef<ConnectionSnapshot>> {
  const snapshot = shallowRef(chat.connection.getSnapshot());
  onScopeDispose(chat.connection.subscribe((next) => (snapshot.value = next)));
  return snapshot;
}

/** Listens to a server event for the life of the current scope; `chat.on` returns the unsubscribe. */
export function useEvent<Listen extends EventsMap, Emit extends EventsMap, E extends EventNames<Listen>>(
  chat: Surewire<Listen, Emit>,
  event: E,
  listener: Listen[E],
): void {
  onScopeDispose(chat.on(event, listener));
}
