/** The numbers that shape the wait before each reconnect attempt. */
export interface BackoffOptions {
  /** Wait before the first retry, in ms. @default 1000 */
  initialDelay: number;
  /** Upper bound of any wait, in ms. @default 30000 */
  maxDelay: number;
  /** Growth per attempt. @default 2 */
  factor: number;
  /** Share of the delay that is random: 0 = none, 1 = full jitter. @default 0.5 */
  jitter: number;
}

/**
 * The wait before retry number `n` (0 for the first retry): `min(maxDelay, initialDelay * factor^n)`,
 * of which the `jitter` share is drawn at random, so that clients dropped together do not return together.
 * Pure: pass `random` to get exact sequences in tests.
 *
 * @example computeDelay(3, { initialDelay: 1000, maxDelay: 30000, factor: 2, jitter: 0 }) // 8000
 */
export function computeDelay(n: number, o: BackoffOptions, random: () => number = Math.random): number {
  const base = Math.min(o.maxDelay, o.initialDelay * o.factor ** n);
  return Math.round(base * (1 - o.jitter * random()));
}
