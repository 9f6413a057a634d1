// Where the bytes of a minified build go, by source file, from its source map: every generated segment is
// attributed to the source file its mapping names (code with no mapping: "(unmapped)"). For each file, its
// minified bytes, and its marginal gzip cost: the gzip size of the whole build minus the gzip size of the
// build with that file's bytes cut out (not valid JavaScript any more, but gzip does not care). The marginal
// costs do not add up to the total exactly: compression shares context between files.
import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const B64 = Object.fromEntries([...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].map((c, i) => [c, i]));

function decodeVlq(str) {
  const out = [];
  let value = 0;
  let shift = 0;
  for (const c of str) {
    const d = B64[c];
    value += (d & 31) << shift;
    if (d & 32) shift += 5;
    else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = shift = 0;
    }
  }
  return out;
}

/** [{ file, min, gzipMarginal }] for `code` (a string) and its source map (an object), biggest first. */
export function breakdown(code, map) {
  const lines = code.split('\n');
  const owner = new Array(code.length).fill(-1);
  let lineStart = 0;
  let src = 0;
  map.mappings.split(';').forEach((group, li) => {
    const len = (lines[li] ?? '').length;
    const segs = [];
    let col = 0;
    for (const seg of group ? group.split(',') : []) {
      const v = decodeVlq(seg);
      col += v[0];
      if (v.length >= 4) src += v[1];
      segs.push([col, v.length >= 4 ? src : -1]);
    }
    // A segment owns the columns up to the next segment.
    for (let i = 0; i < segs.length; i++) {
      const [from, s] = segs[i];
      const to = i + 1 < segs.length ? segs[i + 1][0] : len;
      for (let c = from; c < to; c++) owner[lineStart + c] = s;
    }
    lineStart += len + 1;
  });
  const total = gzipSync(code, { level: 9 }).length;
  const files = new Map();
  owner.forEach((s, i) => {
    const f = files.get(s) ?? [];
    f.push(i);
    files.set(s, f);
  });
  const rows = [];
  for (const [s, idx] of files) {
    const cut = new Set(idx);
    let rest = '';
    for (let i = 0; i < code.length; i++) if (!cut.has(i)) rest += code[i];
    const name = s < 0 ? '(unmapped)' : map.sources[s].replace(/^(\.\.\/)+/, '');
    rows.push({ file: name, min: idx.length, gzipMarginal: total - gzipSync(rest, { level: 9 }).length });
  }
  return { total, min: code.length, rows: rows.sort((a, b) => b.min - a.min) };
}

/** The breakdown of a built file with its `.map` beside it, or null when either is missing. */
export function breakdownFile(file) {
  if (!existsSync(file) || !existsSync(`${file}.map`)) return null;
  return breakdown(readFileSync(file, 'utf8'), JSON.parse(readFileSync(`${file}.map`, 'utf8')));
}

/**
 * The string literals and template text of `code` (messages, event and option names, keys): how many, their
 * minified bytes, and their marginal gzip cost (the build with every one of them cut out, against the whole).
 */
export async function literalsCost(code) {
  const { parseAst } = await import('rollup/parseAst');
  const spans = [];
  (function walk(x) {
    if (!x || typeof x != 'object') return;
    if (Array.isArray(x)) return x.forEach(walk);
    if ((x.type == 'Literal' && typeof x.value == 'string') || x.type == 'TemplateElement') spans.push([x.start, x.end]);
    for (const k in x) if (k != 'parent') walk(x[k]);
  })(parseAst(code));
  spans.sort((a, b) => a[0] - b[0]);
  let rest = '';
  let at = 0;
  let min = 0;
  for (const [s, e] of spans) {
    if (s < at) continue;
    rest += code.slice(at, s);
    min += e - s;
    at = e;
  }
  rest += code.slice(at);
  return { count: spans.length, min, gzipMarginal: gzipSync(code, { level: 9 }).length - gzipSync(rest, { level: 9 }).length };
}
