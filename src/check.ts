import { OptionError } from './errors';

// The option checker every feature's rules run through (the client's options, `reliable()`'s), so that a
// wrong value is always an `OptionError` naming the option, the value and what was expected.

// Timers longer than 2^31 - 1 ms overflow and fire at once.
export const MAX_TIMER = 2 ** 31 - 1;

export const isObj = (v: unknown): v is Record<string, unknown> => typeof v == 'object' && v !== null && !Array.isArray(v);

// A rule: a minimum for a number, a [min, max] range, a typeof name, the names of the methods an object must
// have, a [predicate, what it expects], or a nested object (which may also be `false`).
export type Rule = number | [number, number] | string | string[] | [(v: unknown) => boolean, string] | { [k: string]: Rule };

/**
 * Checks `o` against `rules` and fills in `defaults`. Throws an `OptionError` naming the first option that
 * is wrong (`path` is prefixed to its name); unknown keys are errors too, since they are typos.
 */
export function check(o: Record<string, unknown>, path: string, rules: { [k: string]: Rule }, defaults: object): object {
  const out: Record<string, unknown> = { ...defaults };
  for (const k in o) {
    const v = o[k];
    const name = path + k;
    const fail = (expected: string): never => {
      throw new OptionError(name, v, expected);
    };
    if (!Object.hasOwn(rules, k)) fail(`a known option (${Object.keys(rules).join(', ')})`);
    const rule = rules[k]!;
    if (v === undefined) continue;
    out[k] = v;
    if (typeof rule == 'string') typeof v == rule || fail(`a ${rule}`);
    else if (typeof (rule as unknown[])[0] == 'string')
      (isObj(v) && (rule as string[]).every((m) => typeof v[m] == 'function')) || fail(`an object with ${(rule as string[]).join(' and ')}`);
    else if (typeof rule == 'number' || typeof (rule as unknown[])[0] == 'number') {
      const [min, max = Infinity] = [rule as number | [number, number]].flat() as [number, number?];
      (typeof v == 'number' && v >= min && v <= max) || fail(`a number from ${min} to ${max}`);
    } else if (Array.isArray(rule)) (rule[0] as (v: unknown) => boolean)(v) || fail(rule[1] as string);
    else if (v !== false) {
      isObj(v) || fail('false or an object');
      out[k] = check(v as Record<string, unknown>, name + '.', rule as { [k: string]: Rule }, (defaults as Record<string, object>)[k]!);
    }
  }
  return out;
}
