// Small statistics over per-round values: medians with their spread (min–max and the interquartile range).

export const sorted = (xs) => xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);

/** The q-quantile (0..1) by linear interpolation between closest ranks. */
export function quantile(xs, q) {
  const s = sorted(xs);
  if (!s.length) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

export const median = (xs) => quantile(xs, 0.5);

/** { median, min, max, q1, q3, n } of the finite values in xs. */
export function summary(xs) {
  const s = sorted(xs);
  return { median: quantile(s, 0.5), min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN, q1: quantile(s, 0.25), q3: quantile(s, 0.75), n: s.length };
}
