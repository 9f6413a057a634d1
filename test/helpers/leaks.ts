// Finds timers left behind. `process.getActiveResourcesInfo()` says how many ref'ed timers keep Node alive;
// `watchTimers()` says which ones, with the stack that created them, so a failing test points at the leak.
import { createHook } from 'node:async_hooks';

/** Counts ref'ed resources of one kind (`'Timeout'`, `'TCPSocketWrap'`, …) that keep Node alive right now. */
export const activeResources = (kind: string): number => process.getActiveResourcesInfo().filter((r) => r == kind).length;

/**
 * Records every timer created from now on, and forgets it when it fires or is cleared.
 * `live()` returns the creation stacks of those still pending, leaving out the test runner's and `wait.ts`'s own.
 */
export function watchTimers(): { live: () => string[]; stop: () => void } {
  const pending = new Map<number, string>();
  const hook = createHook({
    init(id, type) {
      if (type == 'Timeout') pending.set(id, (new Error().stack ?? '').split('\n').slice(4, 12).join('\n'));
    },
    destroy(id) {
      pending.delete(id);
    },
  }).enable();
  return {
    // The test runner's timers and the waiting helpers' own are left out. (A timer that just fired may be listed
    // for a moment: Node reports its end asynchronously.)
    live: () => [...pending.values()].filter((s) => !/node_modules[\\/](@vitest|vitest)[\\/]|test[\\/]helpers[\\/]wait\.ts/.test(s)),
    stop: () => void hook.disable(),
  };
}
