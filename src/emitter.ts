import type { Unsubscribe } from './types';

type Listener = ((...args: never[]) => void) & { fn?: unknown };

/**
 * The smallest emitter that does what the client needs: `on` returns an unsubscribe, `once`, `off` with or
 * without a listener, and `emit` over a snapshot, so listeners added or removed while it runs do not change
 * that round. A listener that throws does not stop the others nor the client's own work: the error is
 * rethrown on its own (as an uncaught error, where the app's error reporting sees it).
 */
export interface Emitter {
  on(event: string, fn: Listener): Unsubscribe;
  once(event: string, fn: Listener): Unsubscribe;
  off(event: string, fn?: Listener): void;
  /** Calls the event's listeners; returns whether there were any. */
  emit(event: string, ...args: unknown[]): boolean;
}

export function emitter(): Emitter {
  const all: Record<string, Listener[] | undefined> = Object.create(null);
  // An event whose last listener went keeps an empty list: emit() counts listeners, not lists.
  const off = (event: string, fn?: unknown): void => {
    all[event] = all[event]?.filter((x) => fn && x !== fn && x.fn !== fn);
  };
  const on = (event: string, fn: Listener): Unsubscribe => {
    // Copy on write: a running emit keeps the array it started with.
    all[event] = [...(all[event] ?? []), fn];
    return () => off(event, fn);
  };
  return {
    on,
    off,
    once(event, fn) {
      const once: Listener = (...args) => {
        off(event, once);
        fn(...args);
      };
      once.fn = fn;
      return on(event, once);
    },
    emit(event, ...args) {
      const l = all[event];
      for (const fn of l ?? []) {
        try {
          (fn as (...a: unknown[]) => void)(...args);
        } catch (e) {
          queueMicrotask(() => {
            throw e;
          });
        }
      }
      return !!l?.length;
    },
  };
}
