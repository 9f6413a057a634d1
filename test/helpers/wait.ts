// Waiting on real events with real timers: for integration tests (Node) and, later, browser tests.
// Nothing here asserts with a fixed sleep: `delay` exists only to give something the chance to happen
// that must NOT happen (an observation window), and every waiter fails loudly on timeout.

/** Resolves after `ms`. Use only as an observation window ("nothing happens during 300 ms"). */
export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `check` every few ms until it returns a truthy value, and resolves with that value.
 * Rejects after `timeout` ms with `what` and the last value seen. Leaves no timer behind.
 */
export function waitFor<T>(check: () => T, timeout = 2000, what = 'condition'): Promise<NonNullable<T>> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      let value: T;
      try {
        value = check();
      } catch (e) {
        reject(e);
        return;
      }
      if (value) resolve(value as NonNullable<T>);
      else if (Date.now() - started >= timeout) reject(new Error(`waitFor: ${what} not met within ${timeout} ms (last value: ${show(value)})`));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

/** Something to listen on: a surewire client or connection (`on` returns an unsubscribe), a Node emitter, an EventTarget. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any emitter's own event and listener types
type AnyListener = (...args: any[]) => unknown;
export type Listenable =
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  | { on(event: any, listener: AnyListener): unknown; off?(event: any, listener?: AnyListener): unknown }
  | EventTarget;

/** Listens to `event`; returns a function that stops listening. */
export function listen(source: Listenable, event: string, listener: (...args: unknown[]) => void): () => void {
  if ('addEventListener' in source && typeof source.addEventListener == 'function') {
    const target = source as EventTarget;
    target.addEventListener(event, listener);
    return () => target.removeEventListener(event, listener);
  }
  const emitter = source as { on(e: string, l: unknown): unknown; off?(e: string, l: unknown): unknown; removeListener?(e: string, l: unknown): unknown };
  const ret = emitter.on(event, listener);
  if (typeof ret == 'function') return ret as () => void;
  return () => void (emitter.off ?? emitter.removeListener)?.call(emitter, event, listener);
}

/**
 * Resolves with the first argument of the next `event`, or rejects after `timeout` ms.
 * With `filter`, waits for the first occurrence whose arguments pass it.
 */
export function once<T = unknown>(
  source: Listenable,
  event: string,
  timeout = 2000,
  filter: (...args: unknown[]) => boolean = () => true,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`once: no "${event}" within ${timeout} ms`));
    }, timeout);
    const stop = listen(source, event, (...args) => {
      if (!filter(...args)) return;
      clearTimeout(timer);
      stop();
      resolve(args[0] as T);
    });
  });
}

/** Records every occurrence of the given events, in order, as `[event, firstArg]`. */
export function record(source: Listenable, events: readonly string[]): { log: [string, unknown][]; stop: () => void } {
  const log: [string, unknown][] = [];
  const stops = events.map((e) => listen(source, e, (arg) => log.push([e, arg])));
  return { log, stop: () => stops.forEach((s) => s()) };
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

function show(v: unknown): string {
  try {
    return (JSON.stringify(v) ?? String(v)).slice(0, 200);
  } catch {
    return String(v);
  }
}
