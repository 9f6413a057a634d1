import { describe, expect, it, vi } from 'vitest';
import { computeDelay, type BackoffOptions } from '../src/backoff';
import { mulberry32 } from './fault/rng';

const opts = (o: Partial<BackoffOptions> = {}): BackoffOptions => ({
  initialDelay: 1000,
  maxDelay: 30000,
  factor: 2,
  jitter: 0.5,
  ...o,
});

const sequence = (count: number, o: BackoffOptions, random: () => number): number[] =>
  Array.from({ length: count }, (_, n) => computeDelay(n, o, random));

/** A random source that returns the given values in order and fails loudly when it runs out. */
const scripted = (values: number[]): (() => number) => {
  let i = 0;
  return () => {
    const v = values[i++];
    if (v === undefined) throw new Error('scripted random ran out of values');
    return v;
  };
};

describe('computeDelay', () => {
  it('doubles from initialDelay when random is 0.5 (the middle of the jitter)', () => {
    expect(sequence(6, opts(), () => 0.5)).toEqual([1000, 2000, 4000, 8000, 16000, 30000]);
  });

  it('takes off the whole jitter share when random is 0', () => {
    expect(sequence(6, opts(), () => 0)).toEqual([500, 1000, 2000, 4000, 8000, 15000]);
  });

  it('adds the whole jitter share when random is 1, never above maxDelay', () => {
    expect(sequence(6, opts(), () => 1)).toEqual([1500, 3000, 6000, 12000, 24000, 30000]);
  });

  it('draws one random number per delay, in order', () => {
    const random = scripted([0, 0.25, 0.5, 0.75, 1, 0.1]);
    expect(sequence(6, opts(), random)).toEqual([500, 1500, 4000, 10000, 24000, 18000]);
  });

  it('rounds to whole milliseconds', () => {
    expect(computeDelay(0, opts({ initialDelay: 333, jitter: 1 }), () => 0.25)).toBe(167);
    expect(computeDelay(0, opts({ initialDelay: 1001, jitter: 0.5 }), () => 0)).toBe(501);
  });

  it('never waits longer than maxDelay, however many attempts have failed', () => {
    const o = opts({ maxDelay: 5000, jitter: 0 });
    expect(sequence(5, o, () => 0)).toEqual([1000, 2000, 4000, 5000, 5000]);
    expect(computeDelay(100, o, () => 0)).toBe(5000);
    expect(computeDelay(2000, o, () => 0)).toBe(5000);
    expect(computeDelay(2000, opts({ maxDelay: 5000, jitter: 1 }), () => 0.999)).toBe(5000);
  });

  it('applies the jitter to the capped delay', () => {
    expect(computeDelay(10, opts({ maxDelay: 5000, jitter: 0.5 }), () => 0)).toBe(2500);
  });

  it('ignores the random source when jitter is 0', () => {
    const o = opts({ jitter: 0 });
    expect(sequence(4, o, () => 0)).toEqual([1000, 2000, 4000, 8000]);
    expect(sequence(4, o, () => 0.999)).toEqual([1000, 2000, 4000, 8000]);
    expect(sequence(4, o, scripted([0.3, 0.9, 0.1, 0.6]))).toEqual([1000, 2000, 4000, 8000]);
  });

  it('spreads the delay over [0, 2 × base] when jitter is 1', () => {
    const o = opts({ jitter: 1 });
    expect(computeDelay(3, o, () => 0.5)).toBe(8000);
    expect(computeDelay(3, o, () => 0)).toBe(0);
    expect(computeDelay(3, o, () => 1)).toBe(16000);
    expect(computeDelay(3, o, () => 0.25)).toBe(4000);
  });

  it('keeps the delay constant when factor is 1', () => {
    expect(sequence(5, opts({ factor: 1, jitter: 0 }), () => 0)).toEqual([1000, 1000, 1000, 1000, 1000]);
    expect(sequence(3, opts({ factor: 1, jitter: 0.5 }), () => 0)).toEqual([500, 500, 500]);
    expect(sequence(3, opts({ initialDelay: 250, factor: 1, jitter: 0 }), () => 0)).toEqual([250, 250, 250]);
  });

  it('grows by any factor', () => {
    expect(sequence(4, opts({ initialDelay: 100, factor: 3, jitter: 0 }), () => 0)).toEqual([100, 300, 900, 2700]);
  });

  it('returns 0 when initialDelay is 0', () => {
    expect(sequence(3, opts({ initialDelay: 0 }), () => 0.7)).toEqual([0, 0, 0]);
  });

  it('uses Math.random when no random source is given', () => {
    const spy = vi.spyOn(Math, 'random').mockReturnValue(0.25);
    try {
      expect(computeDelay(2, opts({ jitter: 1 }))).toBe(2000);
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
  });
});


/**
 * 20 clients dropped together at t = 0 retry against a server that refuses every attempt for 8 s (each
 * refusal at once). Returns the most attempts that fall within any 100 ms, counting attempts from 1 s on
 * (after the first retries, where every policy bunches up by construction).
 */
function stormPeak(delay: (n: number, random: () => number) => number, random: () => number): number {
  const times: number[] = [];
  for (let c = 0; c < 20; c++) {
    for (let t = 0, n = 0; t < 8000; n++) {
      t += delay(n, random);
      if (t >= 1000) times.push(t);
    }
  }
  times.sort((a, b) => a - b);
  let peak = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= 100) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return peak;
}

describe('the default jitter spreads a reconnect storm', () => {
  const storm = opts({ initialDelay: 100, maxDelay: 2000 });
  const stormy = (delay: (n: number, random: () => number) => number): number => {
    let calm = 0;
    for (let run = 1; run <= 1000; run++) if (stormPeak(delay, mulberry32(run)) <= 8) calm++;
    return calm;
  };

  it('keeps the peak at ≤ 8 attempts per 100 ms in ≥ 99 % of 1,000 seeded runs', () => {
    expect(stormy((n, random) => computeDelay(n, storm, random))).toBeGreaterThanOrEqual(990);
  });

  it('is a test that can fail: full jitter, and the old one-sided jitter, miss it on the same runs', () => {
    const base = (n: number): number => Math.min(2000, 100 * 2 ** n);
    const full = stormy((n, random) => Math.round(base(n) * (1 - random())));
    const oneSided = stormy((n, random) => Math.round(base(n) * (1 - 0.5 * random())));
    expect(full).toBeLessThan(990);
    expect(oneSided).toBeLessThan(990);
  });
});
