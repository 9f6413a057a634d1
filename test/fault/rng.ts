// A small seeded PRNG for the fault-injection suite, so that a failing run can be replayed:
// every random choice of a scenario (where the faults fall, which kind each is) comes from here.
// The seed is SUREWIRE_SEED when set (a decimal or 0x-hex 32-bit number), otherwise a fresh one; it is printed.

/** mulberry32: a 32-bit state, a full period of 2^32, good enough spread for test schedules. Returns [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit FNV-1a hash, to derive one independent stream per test from the run's seed and the test's name. */
export function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The run's seed: `SUREWIRE_SEED` when set, otherwise a random one. Throws on a value that is not a number. */
export function runSeed(env: string | undefined = process.env.SUREWIRE_SEED): number {
  if (env === undefined || env.trim() === '') return (Math.random() * 2 ** 32) >>> 0;
  const n = Number(env.trim());
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) throw new Error(`SUREWIRE_SEED must be an integer from 0 to 2^32-1, got ${JSON.stringify(env)}`);
  return n;
}

/** Helpers on top of one stream. */
export interface Rng {
  /** [0, 1) */
  next(): number;
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  /** A float in [min, max). */
  between(min: number, max: number): number;
  /** A new array, shuffled (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[];
}

export function rng(seed: number): Rng {
  const next = mulberry32(seed);
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    between: (min, max) => min + next() * (max - min),
    shuffle(items) {
      const a = [...items];
      for (let i = a.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [a[i], a[j]] = [a[j]!, a[i]!];
      }
      return a;
    },
  };
}
