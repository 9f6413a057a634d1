// Size budgets for surewire, and a reusable "measure an entry the same way" helper.
//
//   node bench/size.mjs           measure, print a table, exit 1 if a budget is exceeded
//   node bench/size.mjs --json    same, but print the rows as JSON (exit code unchanged)
//
// As a module (e.g. the benchmark sizing competitor libraries built the same way):
//
//   import { measureEntry, measureFile, sizeOf } from './size.mjs';
//   const r = await measureEntry({ entry: "export { io } from 'socket.io-client'" });
//   // r = { code, min, gzip, brotli }  (bytes)
//
// "Built the same way" means: a virtual entry module bundled by rollup with node-resolve
// (browser field and `browser` export condition) + commonjs so every runtime dependency
// is inlined, minified by terser with the options of rollup.config.mjs's min build, then
// compressed with gzip (zlib level 9) and brotli (quality 11). Run it after `npm run build`.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync, brotliCompressSync, constants as zlib } from 'node:zlib';
import { rollup } from 'rollup';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import commonjs from '@rollup/plugin-commonjs';
import terser from '@rollup/plugin-terser';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// Same options as the `dist/surewire.min.js` output in rollup.config.mjs. @rollup/plugin-terser
// adds `module: true` by itself for format 'es' (and `toplevel: true` for 'cjs'); it is set
// explicitly below for 'es' so the intent is visible here.
export const TERSER_OPTIONS = Object.freeze({
  ecma: 2020,
  compress: { passes: 2 },
  mangle: true,
  format: { comments: /^!/ },
});

// Size budgets, min+gzip. `target` is the promise the README makes; `limit`, where set, is the ceiling CI
// enforces: the size last measured, so that any growth fails the build and has to be argued for (raise it
// only for a feature, and say by how much in the CHANGELOG).
export const BUDGETS = Object.freeze({
  // Over target: clear errors (URL, cause and fix in every message), URL checks and the heartbeat rule added
  // ~730 B in the 0.1.0 hardening, of which a size pass won back ~430 B; a linear outbox flush (a backlog
  // past ~16,000 messages flushed in quadratic time) +11 B. The limit is what is measured.
  treeShaken: { target: 5500, limit: 5547 }, // import { Surewire } from 'surewire'
  // Over target: reliable() checks every number a server sends and validates saved state (+~1.6 KB with the core's growth).
  // +12 B for the linear outbox flush; +22 B: a client whose reliable() was taken over cannot connect with it; +40 B for surewire/share: a reliable() may be taken over by a new client once its own has no connection (a
  // tab that leads again), and, given a copy of the state that may lag (`behind`), takes a higher $welcome seq.
  // +1 B: the default window of 3600 (was 900), so a backlog flows in large batches.
  umdMin: { target: 7000, limit: 8111 }, // dist/surewire.min.js as built (reliable delivery included)
  socketIo: { target: 1024 }, // import { socketIo } from 'surewire/socket.io', socket.io-client not counted
  // Within target: 1,532 B measured. The `behind` flag (a new leader numbers on after a crashed one, docs/tabs.md)
  // had taken it to 1,566 B; a size pass of src/share.ts won back 34 B.
  share: { target: 1536 }, // import { shareTabs } from 'surewire/share': what it adds to the tree-shaken core
});

/** Sizes in bytes of `code` as given (utf-8), gzipped at level 9 and brotli'd at quality 11. */
export function sizeOf(code) {
  const buf = Buffer.isBuffer(code) ? code : Buffer.from(code, 'utf8');
  return {
    min: buf.length,
    gzip: gzipSync(buf, { level: 9 }).length,
    brotli: brotliCompressSync(buf, {
      params: {
        [zlib.BROTLI_PARAM_QUALITY]: zlib.BROTLI_MAX_QUALITY,
        [zlib.BROTLI_PARAM_MODE]: zlib.BROTLI_MODE_TEXT,
        [zlib.BROTLI_PARAM_SIZE_HINT]: buf.length,
      },
    }).length,
  };
}

/** Sizes of a file that is already built (no re-minification). */
export function measureFile(file) {
  return sizeOf(readFileSync(file));
}

const ENTRY_ID = '\0size-entry';

/**
 * Bundles a virtual entry module and minifies it; returns the minified code.
 *
 * @param {object} o
 * @param {string} o.entry            source of the entry module, e.g. "export { io } from 'socket.io-client'"
 * @param {Record<string,string>} [o.alias]  exact import specifier -> file path (relative to rootDir)
 * @param {'es'|'umd'|'iife'|'cjs'} [o.format='es']
 * @param {string} [o.name]           global name for umd/iife
 * @param {string} [o.rootDir]        where bare imports are resolved from (node_modules lookup)
 * @param {(string|RegExp)[]} [o.external]  left out of the bundle on purpose (default: nothing)
 * @param {boolean} [o.minify=true]
 */
export async function bundleEntry({
  entry,
  alias = {},
  format = 'es',
  name,
  rootDir = ROOT,
  external = [],
  minify = true,
}) {
  const aliases = new Map(
    Object.entries(alias).map(([k, v]) => [k, isAbsolute(v) ? v : resolve(rootDir, v)]),
  );
  for (const [spec, file] of aliases) {
    if (!existsSync(file)) throw new Error(`size: alias '${spec}' -> ${file} does not exist (run \`npm run build\`?)`);
  }
  const warnings = [];
  const bundle = await rollup({
    input: ENTRY_ID,
    external,
    treeshake: true,
    onwarn(warning) {
      // An import that could not be resolved would silently become external and make the
      // bundle look smaller than it is, so it is an error here.
      if (warning.code === 'UNRESOLVED_IMPORT' || warning.code === 'MISSING_EXPORT') {
        throw new Error(`size: ${warning.message}`);
      }
      warnings.push(warning);
    },
    plugins: [
      {
        name: 'size-entry',
        resolveId(source, importer) {
          if (source === ENTRY_ID) return ENTRY_ID;
          if (aliases.has(source)) return aliases.get(source);
          // Bare imports from the virtual entry resolve from rootDir.
          if (importer === ENTRY_ID) {
            return this.resolve(source, resolve(rootDir, '__size_entry__.mjs'), { skipSelf: true });
          }
          return null;
        },
        load(id) {
          return id === ENTRY_ID ? entry : null;
        },
      },
      nodeResolve({ browser: true, preferBuiltins: false, rootDir }),
      commonjs(),
    ],
  });
  try {
    const { output } = await bundle.generate({
      format,
      name,
      exports: 'named',
      generatedCode: 'es2015',
      sourcemap: false,
      plugins: minify
        ? [terser({ ...TERSER_OPTIONS, ...(format === 'es' ? { module: true } : {}) })]
        : [],
    });
    const chunks = output.filter((o) => o.type === 'chunk');
    if (chunks.length !== 1) {
      throw new Error(`size: expected one chunk, got ${chunks.length} (dynamic import in the entry?)`);
    }
    const [chunk] = chunks;
    if (chunk.imports.length > 0) {
      throw new Error(`size: bundle still imports ${chunk.imports.join(', ')}: not everything was inlined`);
    }
    return { code: chunk.code, warnings };
  } finally {
    await bundle.close();
  }
}

/** bundleEntry + sizeOf: `{ code, min, gzip, brotli }`. */
export async function measureEntry(options) {
  const { code } = await bundleEntry(options);
  return { code, ...sizeOf(code) };
}

const kb = (n) => `${(n / 1024).toFixed(2)} KB`;

/** Measures surewire's entries against BUDGETS. Returns `{ rows, failures, notes }`. */
export async function runSizeChecks({ root = ROOT, budgets = BUDGETS } = {}) {
  const dist = (f) => resolve(root, 'dist', f);
  const rows = [];
  const failures = [];
  const notes = [];
  const check = (row, { target, limit = target }) => {
    rows.push({ ...row, target, limit });
    if (row.gzip > limit) {
      failures.push(`${row.name}: ${row.gzip} B gzip (${kb(row.gzip)}) exceeds the limit of ${limit} B (${kb(limit)}) by ${row.gzip - limit} B`);
    } else if (row.gzip > target) {
      notes.push(`${row.name}: ${row.gzip} B gzip misses its target of ${target} B by ${row.gzip - target} B`);
    }
  };

  if (!existsSync(dist('surewire.mjs'))) {
    throw new Error(`size: ${dist('surewire.mjs')} is missing; run \`npm run build\` first`);
  }

  // 1. What a bundler ships for `import { Surewire } from 'surewire'`.
  const core = await measureEntry({
    entry: "export { Surewire } from 'surewire';",
    alias: { surewire: dist('surewire.mjs') },
    rootDir: root,
  });
  check({ name: "import { Surewire } from 'surewire' (tree-shaken)", ...pick(core) }, budgets.treeShaken);

  // 2. The minified UMD bundle as built.
  if (!existsSync(dist('surewire.min.js'))) {
    failures.push('dist/surewire.min.js is missing');
  } else {
    check({ name: 'dist/surewire.min.js', ...measureFile(dist('surewire.min.js')) }, budgets.umdMin);
  }

  // 3. What the socket.io transport adds on top of socket.io-client: the transport alone, tree-shaken,
  // with socket.io-client external (the app has it anyway); and, for information, the one-tag CDN build.
  if (!existsSync(dist('surewire.socket.io.mjs'))) {
    failures.push('dist/surewire.socket.io.mjs is missing');
  } else {
    const transport = await measureEntry({
      entry: "export { socketIo } from 'surewire/socket.io';",
      alias: { 'surewire/socket.io': dist('surewire.socket.io.mjs') },
      external: ['socket.io-client'],
      rootDir: root,
    });
    check({ name: "import { socketIo } from 'surewire/socket.io' (tree-shaken)", ...pick(transport) }, budgets.socketIo);
  }
  // 4. What tab sharing adds: the core and `shareTabs` bundled together, less the core alone (the entry takes
  // the core's classes from `surewire`, so an app ships them once).
  if (!existsSync(dist('surewire.share.mjs'))) {
    failures.push('dist/surewire.share.mjs is missing');
  } else {
    const both = await measureEntry({
      entry: "export { Surewire } from 'surewire'; export { shareTabs } from 'surewire/share';",
      alias: { surewire: dist('surewire.mjs'), 'surewire/share': dist('surewire.share.mjs') },
      rootDir: root,
    });
    const added = { min: both.min - core.min, gzip: both.gzip - core.gzip, brotli: both.brotli - core.brotli };
    check({ name: "import { shareTabs } from 'surewire/share' (added to the core)", ...added }, budgets.share);
  }
  if (existsSync(dist('surewire.socket.io.min.js'))) rows.push({ name: 'dist/surewire.socket.io.min.js (info)', ...measureFile(dist('surewire.socket.io.min.js')) });
  return { rows, failures, notes };
}

function pick({ min, gzip, brotli }) {
  return { min, gzip, brotli };
}

export function formatTable(rows) {
  const head = ['entry', 'min', 'gzip', 'brotli', 'target', 'limit', ''];
  const body = rows.map((r) => [
    r.name,
    String(r.min),
    String(r.gzip),
    String(r.brotli),
    r.target == null ? '-' : String(r.target),
    r.limit == null ? '-' : String(r.limit),
    r.limit == null ? '' : r.gzip > r.limit ? `OVER the limit by ${r.gzip - r.limit}` : r.gzip > r.target ? `misses the target by ${r.gzip - r.target}` : 'ok',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) =>
    cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

async function main(argv) {
  const json = argv.includes('--json');
  let result;
  try {
    result = await runSizeChecks();
  } catch (err) {
    console.error(`size: FAILED to measure: ${err?.stack ?? err}`);
    return 2;
  }
  const { rows, failures, notes } = result;
  if (json) {
    console.log(JSON.stringify({ rows, failures, notes }, null, 2));
  } else {
    console.log('sizes in bytes (gzip: zlib level 9, brotli: quality 11)');
    console.log(formatTable(rows));
    for (const n of notes) console.log(`size: ${n}`);
  }
  if (failures.length > 0) {
    for (const f of failures) console.error(`size: BUDGET EXCEEDED: ${f}`);
    return 1;
  }
  if (!json) console.log('size: no entry over its limit');
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
