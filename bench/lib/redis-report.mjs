// The report of bench/redis.mjs (reliable delivery on Redis), from the data it writes with `--json FILE`:
// the table it prints, and the target that bench/run.mjs puts among the others in bench/RESULTS.md.
import { median } from './stats.mjs';

/** The target: one process echoing on `redisStore` at ≥ this × the same on `memoryStore` (median of the per-round ratios). */
export const REDIS_TARGET = 0.7;

const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : 'n/a');

/** Each round's rate of `c` over the memory store's rate in the same round. */
export const perRound = (data, c) => c.rates.map((x, i) => x / data.cases[0].rates[i]);

/**
 * The bench's results as markdown: the table (medians over rounds; "× memory" is the median of the per-round
 * ratios), then each case's per-round ratios and server CPU, and the commands it sent per message (last round).
 */
export function redisMarkdown(data) {
  const per = (n) => (n / (data.clients * data.messages)).toFixed(3);
  const lines = [
    `reliable delivery on Redis: ${data.clients} clients × ${data.messages} messages, ${data.rounds} rounds (medians; node ${data.node})`,
    '',
    '| case | messages/s | × memory | server CPU µs / message | Redis CPU µs / message | Redis commands sent / message | run by Redis / message |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const c of data.cases) {
    const redis = c.mode == 'redis';
    lines.push(
      `| ${c.name} | ${fmt(median(c.rates))} | ${median(perRound(data, c)).toFixed(2)} | ${median(c.cpu).toFixed(1)} | ` +
        `${redis ? median(c.redisCpu).toFixed(1) : '–'} | ${redis ? median(c.sent).toFixed(2) : '–'} | ${redis ? median(c.all).toFixed(2) : '–'} |`,
    );
  }
  lines.push('');
  for (const c of data.cases) {
    const last = c.byName.at(-1) ?? {};
    const names = Object.keys(last).sort();
    const redis = c.mode == 'redis';
    lines.push(
      `- ${c.name}: ${redis ? `× memory per round ${perRound(data, c).map((x) => x.toFixed(2)).join(', ')}; ` : ''}` +
        `server CPU µs / message per round ${c.cpu.map((x) => x.toFixed(1)).join(', ')}` +
        (redis ? `; commands sent per message (last round): ${names.map((n) => `${n} ${per(last[n])}`).join(', ') || 'none'}` : ''),
    );
  }
  return lines.join('\n');
}

/** The target row for bench/run.mjs (`{ key, name, ok, value, detail }`, as its other targets). */
export function redisTarget(data) {
  const [memory, echo] = data.cases;
  const ratios = perRound(data, echo);
  const m = median(ratios);
  return {
    key: 'redis-echo',
    name: `reliable echo on redisStore ≥ ${REDIS_TARGET} × memoryStore (bench/redis.mjs, one process)`,
    ok: m >= REDIS_TARGET,
    value: `${fmt(m, 3)} × memory`,
    detail:
      `median of ${ratios.length} rounds: ${ratios.map((x) => fmt(x, 2)).join(', ')}; ` +
      `server CPU ${fmt(median(echo.cpu), 1)} µs/message against ${fmt(median(memory.cpu), 1)}`,
  };
}
