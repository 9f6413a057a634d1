import { describe, expect, it, vi } from 'vitest';
import { computeDelay, type BackoffOptions } from '../src/backoff';

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
  it('doubles from initialDelay with no jitter when random is 0', () => {
    expect(sequence(6, opts(), () => 0)).toEqual([1000, 2000, 4000, 8000, 16000, 30000]);
  });

  it('takes off the whole jitter share when random is 1', () => {
    expect(sequence(6, opts(), () => 1)).toEqual([500, 1000, 2000, 4000, 8000, 15000]);
  });

  it('takes off half the jitter share when random is 0.5', () => {
    expect(sequence(6, opts(), () => 0.5)).toEqual([750, 1500, 3000, 6000, 12000, 22500]);
  });

  it('draws one random number per delay, in order', () => {
    const random = scripted([0, 0.25, 0.5, 0.75, 1, 0.1]);
    expect(sequence(6, opts(), random)).toEqual([1000, 1750, 3000, 5000, 8000, 28500]);
  });

  it('rounds to whole milliseconds', () => {
    expect(computeDelay(0, opts({ initialDelay: 333, jitter: 1 }), () => 0.5)).toBe(167);
    expect(computeDelay(0, opts({ initialDelay: 1001, jitter: 0.5 }), () => 1)).toBe(501);
  });

  it('never waits longer than maxDelay, however many attempts have failed', () => {
    const o = opts({ maxDelay: 5000, jitter: 0 });
    expect(sequence(5, o, () => 0)).toEqual([1000, 2000, 4000, 5000, 5000]);
    expect(computeDelay(100, o, () => 0)).toBe(5000);
    expect(computeDelay(2000, o, () => 0)).toBe(5000);
  });

  it('applies the jitter to the capped delay', () => {
    expect(computeDelay(10, opts({ maxDelay: 5000, jitter: 0.5 }), () => 1)).toBe(2500);
  });

  it('ignores the random source when jitter is 0', () => {
    const o = opts({ jitter: 0 });
    expect(sequence(4, o, () => 0)).toEqual([1000, 2000, 4000, 8000]);
    expect(sequence(4, o, () => 0.999)).toEqual([1000, 2000, 4000, 8000]);
    expect(sequence(4, o, scripted([0.3, 0.9, 0.1, 0.6]))).toEqual([1000, 2000, 4000, 8000]);
  });

  it('spreads the delay over the full range [0, base] when jitter is 1', () => {
    const o = opts({ jitter: 1 });
    expect(computeDelay(3, o, () => 0)).toBe(8000);
    expect(computeDelay(3, o, () => 1)).toBe(0);
    expect(computeDelay(3, o, () => 0.25)).toBe(6000);
    expect(sequence(4, o, scripted([0.5, 0.5, 0.5, 0.5]))).toEqual([500, 1000, 2000, 4000]);
  });

  it('keeps the delay constant when factor is 1', () => {
    expect(sequence(5, opts({ factor: 1, jitter: 0 }), () => 0)).toEqual([1000, 1000, 1000, 1000, 1000]);
    expect(sequence(3, opts({ factor: 1, jitter: 0.5 }), () => 1)).toEqual([500, 500, 500]);
    expect(sequence(3, opts({ initialDelay: 250, factor: 1, jitter: 0 }), () => 0)).toEqual([250, 250, 250]);
  });

  it('grows by any factor', () => {
    expect(sequence(4, opts({ initialDelay: 100, factor: 3, jitter: 0 }), () => 0)).toEqual([100, 300, 900, 2700]);
  });

  it('returns 0 when initialDelay is 0', () => {
    expect(sequence(3, opts({ initialDelay: 0 }), () => 0)).toEqual([0, 0, 0]);
  });

  it('uses Math.random when no random source is given', () => {
    const spy = vi.spyOn(Math, 'random').mockReturnValue(0.25);
    try {
      expect(computeDelay(2, opts({ jitter: 1 }))).toBe(3000);
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
  });
});
