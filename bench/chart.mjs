// bench/results.svg: the ratios to raw WebSocket (throughput, p50 and p99 latency), median over rounds with
// a min–max whisker, drawn by hand (no chart library).
//
//   node bench/chart.mjs     redraws bench/results.svg from bench/results.json
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const f2 = (n) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');

const COLORS = { throughput: '#2f6db5', p50: '#e08a1e', p99: '#b8401f', target: '#1d8a3a', raw: '#555' };

/**
 * One panel: a bar per (contender, series), from 0 to `max` on the x axis, a dashed line at 1 (= raw) and,
 * on surewire's rows, a green tick at the target.
 */
function panel({ x, y, width, title, subtitle, rows, series, max, targets }) {
  const labelW = 170;
  const plotX = x + labelW;
  const plotW = width - labelW - 60;
  const barH = 13;
  const gap = 3;
  const groupGap = 12;
  const sx = (v) => plotX + (Math.min(v, max) / max) * plotW;
  const parts = [];
  parts.push(`<text x="${x}" y="${y}" class="title">${esc(title)}</text>`);
  parts.push(`<text x="${x}" y="${y + 16}" class="sub">${esc(subtitle)}</text>`);
  let cy = y + 34;
  const top = cy;
  for (const row of rows) {
    const groupH = series.length * (barH + gap) - gap;
    parts.push(`<text x="${plotX - 8}" y="${cy + groupH / 2 + 4}" class="label" text-anchor="end">${esc(row.label)}</text>`);
    series.forEach((s, i) => {
      const v = row[s.key];
      const by = cy + i * (barH + gap);
      if (!v || !Number.isFinite(v.median)) return;
      const w = Math.max(1, sx(v.median) - plotX);
      parts.push(`<rect x="${plotX}" y="${by}" width="${w.toFixed(1)}" height="${barH}" fill="${s.color}" opacity="0.85"><title>${esc(`${row.label}, ${s.name}: ${f2(v.median)} × raw (min–max ${f2(v.min)}–${f2(v.max)})`)}</title></rect>`);
      // whisker: min–max over rounds
      const wy = by + barH / 2;
      parts.push(`<line x1="${sx(v.min).toFixed(1)}" x2="${sx(v.max).toFixed(1)}" y1="${wy}" y2="${wy}" stroke="#222" stroke-width="1"/>`);
      parts.push(`<line x1="${sx(v.min).toFixed(1)}" x2="${sx(v.min).toFixed(1)}" y1="${wy - 3}" y2="${wy + 3}" stroke="#222"/>`);
      parts.push(`<line x1="${sx(v.max).toFixed(1)}" x2="${sx(v.max).toFixed(1)}" y1="${wy - 3}" y2="${wy + 3}" stroke="#222"/>`);
      const over = v.median > max ? ' ▸' : '';
      const target = row.id == 'surewire' && targets[s.key] != null ? sx(targets[s.key]) : -Infinity;
      if (target > -Infinity) {
        parts.push(`<line x1="${target.toFixed(1)}" x2="${target.toFixed(1)}" y1="${by - 1}" y2="${by + barH + 1}" stroke="${COLORS.target}" stroke-width="3"><title>target: ${targets[s.key]} × raw</title></line>`);
      }
      // The value, right of the whisker (and of the target tick), on a white halo so lines do not cross it.
      const lx = Math.max(sx(v.max), sx(v.median), target + 2) + 5;
      parts.push(`<text x="${lx.toFixed(1)}" y="${by + barH - 3}" class="value" paint-order="stroke" stroke="#fff" stroke-width="3">${f2(v.median)}${over}</text>`);
    });
    cy += groupH + groupGap;
  }
  const bottom = cy - groupGap + 4;
  // axis and gridlines
  const step = max <= 2 ? 0.25 : max <= 4 ? 0.5 : 1;
  for (let t = 0; t <= max + 1e-9; t += step) {
    const gx = sx(t).toFixed(1);
    parts.unshift(`<line x1="${gx}" x2="${gx}" y1="${top - 4}" y2="${bottom}" stroke="#e4e4e4"/>`);
    parts.push(`<text x="${gx}" y="${bottom + 14}" class="axis" text-anchor="middle">${t.toFixed(2).replace(/\.?0+$/, '')}</text>`);
  }
  const one = sx(1).toFixed(1);
  parts.push(`<line x1="${one}" x2="${one}" y1="${top - 6}" y2="${bottom}" stroke="${COLORS.raw}" stroke-dasharray="4 3" stroke-width="1.5"/>`);
  parts.push(`<text x="${one}" y="${bottom + 27}" class="axis" text-anchor="middle">raw</text>`);
  return { svg: parts.join('\n'), height: bottom + 32 - y };
}

export function renderChart(res) {
  const { agg, contenders } = res;
  const others = contenders.filter((c) => c.id != 'raw');
  const rowsTp = others.map((c) => ({ id: c.id, label: c.label, throughput: agg.throughput[c.id].ratio }));
  const rowsLat = others.map((c) => ({ id: c.id, label: c.label, p50: agg.latency[c.id].p50Ratio, p99: agg.latency[c.id].p99Ratio }));
  // Wide enough for every whisker (the spread over rounds), within reason.
  const maxOf = (rows, keys) => Math.max(1.25, ...rows.flatMap((r) => keys.map((k) => r[k].max)).filter(Number.isFinite));
  const niceMax = (v) => Math.min(Math.ceil(v * 4) / 4, 3);
  const width = 1000;
  const left = panel({
    x: 20,
    y: 62,
    width: width / 2 - 10,
    title: 'Throughput, × raw WebSocket',
    subtitle: 'higher is better · dashed line: raw WebSocket (1) · whiskers: min–max over rounds',
    rows: rowsTp,
    series: [{ key: 'throughput', name: 'throughput', color: COLORS.throughput }],
    max: niceMax(maxOf(rowsTp, ['throughput'])),
    targets: { throughput: res.spec.throughput },
  });
  const right = panel({
    x: width / 2 + 10,
    y: 62,
    width: width / 2 - 20,
    title: 'Round-trip latency, × raw WebSocket',
    subtitle: 'lower is better · p50 and p99 · dashed line: raw WebSocket (1) · whiskers: min–max',
    rows: rowsLat,
    series: [
      { key: 'p50', name: 'p50', color: COLORS.p50 },
      { key: 'p99', name: 'p99', color: COLORS.p99 },
    ],
    max: niceMax(maxOf(rowsLat, ['p50', 'p99'])),
    targets: { p50: res.spec.p50, p99: res.spec.p99 },
  });
  const height = 62 + Math.max(left.height, right.height) + 44;
  const m = res.machine;
  const legendY = height - 18;
  const legend = [
    ['throughput', COLORS.throughput],
    ['latency p50', COLORS.p50],
    ['latency p99', COLORS.p99],
  ]
    .map(([name, color], i) => `<rect x="${20 + i * 130}" y="${legendY - 10}" width="12" height="12" fill="${color}"/><text x="${36 + i * 130}" y="${legendY}" class="label">${name}</text>`)
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif">
<style>
  .head { font-size: 17px; font-weight: 600; fill: #111; }
  .meta { font-size: 11.5px; fill: #555; }
  .title { font-size: 14px; font-weight: 600; fill: #222; }
  .sub { font-size: 11px; fill: #666; }
  .label { font-size: 12px; fill: #222; }
  .value { font-size: 11px; fill: #333; }
  .axis { font-size: 10.5px; fill: #666; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="20" y="26" class="head">surewire benchmark: ratios to raw WebSocket in the same run (median of ${res.config.rounds} rounds)</text>
<text x="20" y="44" class="meta">${esc(`${res.date.slice(0, 10)} · ${m.cpu}, ${m.cores} cores · Chromium ${m.chromium} headless · Node ${m.node} · ${res.config.throughput.n.toLocaleString('en-US')} msgs, ${res.config.latency.n.toLocaleString('en-US')} round trips per round`)}</text>
${left.svg}
${right.svg}
${legend}
<line x1="${20 + 3 * 130}" x2="${20 + 3 * 130}" y1="${legendY - 11}" y2="${legendY + 2}" stroke="${COLORS.target}" stroke-width="3"/><text x="${28 + 3 * 130}" y="${legendY}" class="label">target (surewire)</text>
</svg>
`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const here = dirname(fileURLToPath(import.meta.url));
  const res = JSON.parse(readFileSync(resolve(here, 'results.json'), 'utf8'));
  writeFileSync(resolve(here, 'results.svg'), renderChart(res));
  console.log('chart: wrote bench/results.svg');
}
