// bench/RESULTS.md from a run's results (see run.mjs for the shape). Everything is generated, except the
// hand-written notes between the NOTES markers, which are carried over from the previous RESULTS.md.
import { existsSync, readFileSync } from 'node:fs';
import { REDIS_TARGET, redisMarkdown } from './redis-report.mjs';

export const NOTES_START = '<!-- notes:start (hand-written; kept when the bench rewrites this file) -->';
export const NOTES_END = '<!-- notes:end -->';

/** The hand-written notes of an existing RESULTS.md, markers excluded ('' when none). */
export function readNotes(file) {
  if (!existsSync(file)) return '';
  const md = readFileSync(file, 'utf8');
  const a = md.indexOf(NOTES_START);
  const b = md.indexOf(NOTES_END);
  return a >= 0 && b > a ? md.slice(a + NOTES_START.length, b).trim() : '';
}

const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : 'n/a');
const range = (s, d = 0, unit = '', k = 1) => `${fmt(s.min * k, d)}–${fmt(s.max * k, d)}${unit}`;
const table = (head, rows, align) =>
  [
    `| ${head.join(' | ')} |`,
    `|${head.map((_, i) => (align?.[i] == 'l' ? ':---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');

const CATEGORY_LABEL = {
  library: "the contender's code",
  bench: 'the bench (app) code',
  native: 'native calls (WebSocket.send, JSON, bindings)',
  gc: 'garbage collection',
  program: 'browser work on the main thread ("(program)")',
  idle: 'idle (waiting on network / server)',
};

const SERVER_LABEL = {
  'surewire/server': "surewire/server's code (dist/surewire.server.mjs)",
  'ws / socket.io': 'the ws and socket.io libraries',
  bench: 'the bench (echo) code',
  node: "Node's internals (streams, net, async hooks, microtasks)",
  native: 'native (writev syscall, buffers, other C++)',
  gc: 'garbage collection',
  program: '(program)',
  idle: 'idle',
};

export function renderMarkdown(res, notes, { brief = false } = {}) {
  const { agg, cfg = res.config, contenders } = res;
  const label = Object.fromEntries(contenders.map((c) => [c.id, c.label]));
  label.array = 'plain array of the frames (baseline)';
  label['array-reliable'] = 'plain array of reliable frames (baseline)';
  label['array-io'] = 'plain array of socket.io packets (baseline)';
  const rawTp = agg.throughput.raw.rate.median;
  const out = [];
  const p = (...s) => out.push(...s);

  p(
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` (bench/run.mjs) from a **${res.mode}** run on ${res.date.slice(0, 10)} (${res.date.slice(11, 16)} UTC), ` +
      `which took ${res.runtimeSeconds} s. How to run it and how each measure works: [README.md](README.md). ` +
      'The raw numbers of every round are in [results.json](results.json).',
    '',
    `**${cfg.rounds} rounds**${cfg.roundsPlanned ? ` (of ${cfg.roundsPlanned} planned: the run stopped adding rounds to stay within its ${cfg.budget} s budget)` : ''}. In each round, in a fresh tab of one headless Chromium and against servers on 127.0.0.1, every measure runs for every contender, ` +
      'in an order rotated by one per round (throughput and latency in blocks that take turns between the contenders, the other measures one contender after another). Every number below is the **median over the rounds**, ' +
      'with the spread over the rounds (min–max) beside it. Ratios are taken against raw WebSocket **within each round**, then their median is shown.',
    '',
    '![Ratios to raw WebSocket: throughput, p50 and p99 latency](results.svg)',
    '',
    '## Targets',
    '',
    table(
      ['target', 'measured', 'result', 'detail'],
      res.targets.map((t) => [t.name, t.value, t.ok ? 'met' : '**missed**', t.detail]),
      ['l', 'r', 'l', 'l'],
    ),
    '',
    ...(res.targets.some((t) => !t.ok) ? ['Why the missed targets are missed, measured: see [Notes](#notes) at the end, and the sections they point to.', ''] : []),
  );

  // ---- throughput
  p(
    '## Throughput',
    '',
    `${fmt(cfg.throughput.n)} messages \`["echo",{"n":i,"t":"hello"}]\` (about 30 bytes each) per contender and round, through one connection, and every echo received. ` +
      `They go in ${cfg.throughput.blocks} blocks of ${fmt(cfg.throughput.n / cfg.throughput.blocks)}; the contenders' connections are all open and their blocks take turns, in an order rotated by one each turn, ` +
      'so a burst of load from elsewhere on the machine hits them alike. Within a block the pipeline is the same for everyone: ' +
      `${fmt(cfg.throughput.win)} messages go out at once, then ${fmt(cfg.throughput.win / 2)} more each time the number in flight falls to ${fmt(cfg.throughput.win / 2)}. ` +
      "The rate is the contender's messages over the summed time of its blocks, timed in the page from a block's first send to its last echo. " +
      "CPU per message: the servers' process, and all of Chromium's processes, read from /proc over the same blocks. " +
      `"Other jobs": the CPU the rest of the machine used meanwhile (/proc/stat minus the bench's own processes), in cores out of ${res.machine.cores}: what the blocks competed with.`,
    '',
    table(
      ['contender', 'messages/s', 'min–max', '× raw', 'min–max', 'server CPU µs/msg', 'browser CPU µs/msg', 'other jobs, cores'],
      contenders.map(({ id }) => {
        const t = agg.throughput[id];
        return [label[id], fmt(t.rate.median), range(t.rate), fmt(t.ratio.median, 3), range(t.ratio, 3), fmt(t.serverCpu.median, 1), fmt(t.browserCpu.median, 1), `${fmt(t.othersCores.median, 2)} (${range(t.othersCores, 2)})`];
      }),
      ['l'],
    ),
    '',
    `Reliable mode against plain surewire: **${fmt(agg.reliableCost.median * 100, 1)} %** less throughput (min–max ${range(agg.reliableCost, 1, ' %', 100)} over rounds, each round's reliable rate against the same round's plain rate). ` +
      `surewire over socket.io against socket.io-client alone: ${fmt(agg.ioCost.median * 100, 1)} % less (${range(agg.ioCost, 1, ' %', 100)}; negative: faster).`,
    '',
  );

  // ---- burst and backlog
  if (agg.burst) {
    const row = (m, id) => {
      const t = agg[m][id];
      return [label[id], fmt(t.rate.median), range(t.rate), ...(m == 'burst' ? [fmt(t.ratio.median, 3), range(t.ratio, 3)] : []), fmt(t.serverCpu.median, 1), fmt(t.browserCpu.median, 1), `${fmt(t.othersCores.median, 2)} (${range(t.othersCores, 2)})`];
    };
    const bt = agg.backlogTargets;
    const r = (s) => `**${fmt(s.median, 3)}** (${range(s, 3)})`;
    p(
      '## Burst and backlog',
      '',
      `**Burst**: ${fmt(cfg.burst.n)} messages sent in one synchronous loop on the open (warm) connection of the throughput measure, timed from the first send to the last echo (checked in order). ` +
        `**Backlog**: ${fmt(cfg.backlog.n)} messages sent while the client is offline (surewire: its url function leads to a port nobody listens on until the server "comes up"; socket.io-client, which cannot change its url: not connected until then), ` +
        'timed from the client\'s open to the last echo. CPU per message over the whole measure (for backlog, the offline sends included). One contender after another, the two sides of each ratio next to each other (raw, plain and reliable surewire; socket.io-client and surewire over socket.io), which goes first alternating by round, each after 1 s of idle time (so that none pays for the garbage of the one before).',
      '',
      table(['burst', 'messages/s', 'min–max', '× raw', 'min–max', 'server CPU µs/msg', 'browser CPU µs/msg', 'other jobs, cores'], Object.keys(agg.burst).map((id) => row('burst', id)), ['l']),
      '',
      table(['backlog', 'messages/s', 'min–max', 'server CPU µs/msg', 'browser CPU µs/msg', 'other jobs, cores'], Object.keys(agg.backlog).map((id) => row('backlog', id)), ['l']),
      '',
      `Within each round: reliable ÷ plain surewire, burst ${r(bt.reliableBurst)}, backlog ${r(bt.reliableBacklog)}, browser CPU per message in burst ${r(bt.reliableCpu)}; ` +
        `plain surewire's backlog ÷ its burst ${r(bt.flush)}; surewire over socket.io ÷ socket.io-client, throughput ${r(bt.ioThroughput)}, p50 ${r(bt.ioP50)}, burst ${r(bt.ioBurst)}.`,
      '',
    );
  }

  // ---- Redis (bench/redis.mjs, run after the browser measures; it prints the same table itself)
  if (res.redis && !brief) {
    p('## Reliable delivery on Redis', '');
    if (res.redis.data) {
      const d = res.redis.data;
      p(
        `\`bench/redis.mjs\`, run after the measures above with the browser and their servers closed: reliable echo (every client message sent back with \`server.send\`) on \`memoryStore\` and on \`redisStore\` in one process, ` +
          `and a relay through two processes on one Redis (what a client sends on one reaches its partner's session, held by the other). ${fmt(d.clients)} surewire clients (ws, \`reliable()\`) × ${fmt(d.messages)} messages, all at once; ` +
          `each case in fresh server processes, rounds taking turns in a rotated order. "× memory" is the median of the per-round ratios; the target (≥ ${REDIS_TARGET} ×, in the targets above) is the one-process echo's. ` +
          "CPU per message is the server processes' own (clients and Redis not included), steadier than the rates on a shared machine. More in [docs/redis.md](../docs/redis.md).",
        '',
        redisMarkdown(d),
        '',
      );
    } else {
      p(`Not measured: ${res.redis.skipped ?? `bench/redis.mjs failed (${res.redis.error})`}.`, '');
    }
  }

  // ---- latency
  p(
    '## Round-trip latency',
    '',
    `${fmt(cfg.latency.n)} sequential round trips per contender and round (send one message, wait for its echo, send the next), on the same connections, ` +
      `in ${cfg.latency.blocks} blocks of ${fmt(cfg.latency.n / cfg.latency.blocks)} that take turns like the throughput blocks, each after ${cfg.latency.blockWarmup} unrecorded round trips; p50 and p99 of the contender's ${fmt(cfg.latency.n)} per round. ` +
      `performance.now() in a cross-origin-isolated page (measured resolution ${fmt((res.page?.timerResolution ?? NaN) * 1000, 0)} µs).`,
    '',
    table(
      ['contender', 'p50 µs', 'min–max', 'p99 µs', 'min–max', 'p50 × raw', 'min–max', 'p99 × raw', 'min–max'],
      contenders.map(({ id }) => {
        const l = agg.latency[id];
        return [label[id], fmt(l.p50.median), range(l.p50), fmt(l.p99.median), range(l.p99), fmt(l.p50Ratio.median, 3), range(l.p50Ratio, 3), fmt(l.p99Ratio.median, 3), range(l.p99Ratio, 3)];
      }),
      ['l'],
    ),
    '',
  );

  // ---- client cost
  if (agg.clientCost && Object.keys(agg.clientCost).length) {
    const cc = agg.clientCost;
    p(
      '## Cost per message without the network',
      '',
      `What each client's own code costs the page per message, isolated from the network, the other processes and the server: over a fake WebSocket ` +
        `(it only counts what is sent, and delivers echoes as real \`MessageEvent\`s), ${fmt(cfg.clientCost.n)} messages sent and their ${fmt(cfg.clientCost.n)} echoes delivered, ` +
        `in chunks of ${fmt(cfg.clientCost.chunk)}; the fastest of ${cfg.clientCost.reps} runs per round (noise only adds time). For reliable surewire the echoes are \`["$m", offset, …]\` frames and each chunk is acknowledged with a \`$ack\`. ` +
        'Raw includes the app\'s own `JSON.stringify` / `JSON.parse`. Only contenders that accept a WebSocket constructor are measured (not the socket.io ones).',
      '',
      table(
        ['contender', 'µs per message (send + receive)', 'min–max', 'added over raw, µs', 'min–max'],
        Object.keys(cc).map((id) => [label[id], fmt(cc[id].us.median, 2), range(cc[id].us, 2), fmt(cc[id].overRaw.median, 2), range(cc[id].overRaw, 2)]),
        ['l'],
      ),
      '',
    );
  }
  if (agg.serverCost) {
    const sc = agg.serverCost;
    p(
      "The same on the server's side, in the servers' process: the echo server's handler, and the reliable server (`reliable()` with its memory store, through its `ws` adapter, echoing with `server.send`), " +
        `each fed ${fmt(cfg.serverCost.n)} client frames by a fake \`ws\` socket (the reliable ones acknowledged by the fake client after each chunk of ${fmt(cfg.serverCost.chunk)}), until every echo was sent. ` +
        `CPU time of the process per message, without the \`ws\` library's framing and the socket (the lowest of ${cfg.serverCost.reps} runs per round):`,
      '',
      table(
        ['server', 'CPU µs per message', 'min–max'],
        [
          ['plain echo (`ws.send(data)`)', fmt(sc.plain.median, 2), range(sc.plain, 2)],
          ['reliable echo (surewire/server)', fmt(sc.reliable.median, 2), range(sc.reliable, 2)],
        ],
        ['l'],
      ),
      '',
    );
  }

  // ---- reconnect
  p(
    '## Reconnect',
    '',
    `${fmt(cfg.reconnect.n)} times per contender and round, the server terminates the connection (TCP closed without a close frame, as a crashed server would; ` +
      'the client asks for it with a `__kill` message). Measured in the page from the client\'s close event to its open event. Every library is set to its minimal delay: ' +
      '1 ms, no growth, no jitter (surewire `reconnect: { initialDelay: 1, maxDelay: 1, factor: 1, jitter: 0 }`; reconnecting-websocket and partysocket `minReconnectionDelay: 1, maxReconnectionDelay: 1, reconnectionDelayGrowFactor: 1`; ' +
      'socket.io-client `reconnectionDelay: 1, reconnectionDelayMax: 1, randomizationFactor: 0`; raw WebSocket: `setTimeout(connect, 1)`). ' +
      '"Over the delay" subtracts the delay the library drew (surewire reports it in its `reconnecting` event; the others are fixed at 1 ms). ' +
      'For surewire over socket.io and socket.io-client, open means the namespace is connected (one more round trip); for reliable surewire, the `$welcome` arrived (one more round trip).',
    '',
    table(
      ['contender', 'close → open, ms', 'min–max', 'delay, ms', 'over the delay, ms', `samples within +${res.spec.reconnectOver} ms`, 'p95 over', 'worst over'],
      contenders.map(({ id }) => {
        const r = agg.reconnect[id];
        return [label[id], fmt(r.ms.median, 2), range(r.ms, 2), fmt(r.delay, 0), fmt(r.over.median, 2), `${r.within10}/${r.samples}`, fmt(r.overP95, 2), fmt(r.overMax, 2)];
      }),
      ['l'],
    ),
    '',
  );

  // ---- memory
  const memIds = Object.keys(agg.memory);
  p(
    '## Memory held while offline',
    '',
    `${fmt(cfg.memory.n)} messages sent while the client is offline (pointed at a port nobody listens on, waiting out a long reconnection delay), so they wait in its queue. ` +
      'Heap growth measured through the Chrome DevTools Protocol: two `HeapProfiler.collectGarbage`, then `Runtime.getHeapUsage` before and after the sends. ' +
      'The baseline is a plain array holding the same encoded strings (`JSON.stringify(["echo", payload])`), measured the same way; raw WebSocket has no queue. ' +
      'A second baseline holds the frames reliable surewire keeps for the same messages (`["$m", seq, "echo", payload]`, longer), so that its bookkeeping can be told from its longer frames ("× array of its own frames"). ' +
      'The messages are encoded by the app for reconnecting-websocket and partysocket (their queue holds the strings), and by the library for surewire (its outbox holds the frames it will send: for reliable surewire the `["$m", seq, …]` frames, which are longer) and for socket.io (its send buffer holds packet objects).',
    '',
    table(
      ['contender', 'bytes/message', 'min–max', '× array', 'min–max', '× array of its own frames'],
      memIds.map((id) => {
        const m = agg.memory[id];
        const own = id.startsWith('array') || id == 'socket.io-client' ? '—' : `${fmt(m.ownRatio.median, 3)} (${range(m.ownRatio, 3)})`;
        return [label[id], fmt(m.perMessage.median, 1), range(m.perMessage, 1), fmt(m.ratio.median, 3), range(m.ratio, 3), own];
      }),
      ['l'],
    ),
    '',
  );

  // ---- size
  p(
    '## Size',
    '',
    "Each contender's browser bundle, built the same way (bench/size.mjs: rollup + node-resolve (browser) + commonjs, every dependency inlined, terser with the CDN build's options, " +
      'gzip level 9, brotli quality 11). These are the bundles the page loaded.',
    '',
    table(
      ['contender', 'bundle entry', 'min', 'min+gzip', 'brotli'],
      contenders.map(({ id, note }) => {
        const s = res.sizes[id];
        return [label[id], id == 'raw' ? '(nothing)' : note.replace(/\|/g, '\\|'), fmt(s.min), `${fmt(s.gzip)} B (${fmt(s.gzip / 1024, 2)} KB)`, fmt(s.brotli)];
      }),
      ['l', 'l'],
    ),
    '',
    "The size entries, as `npm run size` measures them:",
    '',
    table(
      ['entry', 'min', 'min+gzip', 'brotli', 'target'],
      res.sizeChecks.map((r) => [r.name.replace(/\|/g, '\\|'), fmt(r.min), fmt(r.gzip), fmt(r.brotli), r.target == null ? '—' : `${fmt(r.target)}${r.gzip > r.target ? ' (missed)' : ' (met)'}`]),
      ['l'],
    ),
    '',
  );

  // ---- size: why
  if (res.sizeWhy) {
    const { cdn, literals } = res.sizeWhy;
    const core = res.sizeChecks.find((r) => /^import \{ Surewire \}/.test(r.name));
    p(
      '### Where the bytes go',
      '',
      `\`dist/surewire.min.js\` (${fmt(cdn.min)} B min, ${fmt(cdn.total)} B gzip) by source file, from its source map: each file's minified bytes, and its marginal gzip cost ` +
        '(the gzip size of the build minus that of the build with the file\'s bytes cut out; these do not add up to the total, since compression shares context across files). ' +
        `The tree-shaken \`import { Surewire }\` bundle (${fmt(core.gzip)} B gzip) is roughly this build without \`reliable.ts\` and the UMD glue.`,
      '',
      table(
        ['source file', 'min bytes', 'share of min', 'gzip, marginal'],
        cdn.rows.map((r) => [r.file, fmt(r.min), `${fmt((r.min / cdn.min) * 100, 1)} %`, fmt(r.gzipMarginal)]),
        ['l'],
      ),
      '',
      `String literals and template text (messages, event, option and key names): ${fmt(literals.cdn.count)} of them in the CDN build, ${fmt(literals.cdn.min)} B min, ` +
        `**${fmt(literals.cdn.gzipMarginal)} B gzip** marginal; in the tree-shaken core bundle ${fmt(literals.core.count)}, ${fmt(literals.core.min)} B min, **${fmt(literals.core.gzipMarginal)} B gzip**.`,
      '',
    );
  }

  // ---- profiles
  if (res.profiles) {
    const ids = Object.keys(res.profiles);
    const P = res.profiles;
    const catTable = (side, cats, labels) =>
      table(
        ['µs per message', ...ids.map((id) => label[id])],
        [
          ...cats.map((c) => [labels[c] ?? c, ...ids.map((id) => fmt(P[id][side].perMessage[c], 2))]),
          ['**busy, total**', ...ids.map((id) => `**${fmt(P[id][side].busyPerMessage, 2)}**`)],
          [labels.idle ?? 'idle', ...ids.map((id) => fmt(P[id][side].perMessage.idle, 2))],
          ['busy share of the run', ...ids.map((id) => `${fmt(P[id][side].busyShare * 100, 0)} %`)],
        ],
        ['l'],
      );
    p(
      "## Where the time goes (CPU profiles)",
      '',
      `The throughput measure again, ${fmt(P[ids[0]].n)} messages per contender, under two sampling profilers at once: the page's (CDP, 50 µs, with unminified bundles so functions keep their names) ` +
        "and the servers' process's (node:inspector, 100 µs). Profilers slow everything down: read the per-message costs side by side, not as rates. Self time per message:",
      '',
      '**The page (main thread)**',
      '',
      catTable('page', ['library', 'bench', 'native', 'gc', 'program'], CATEGORY_LABEL),
      '',
      "**The servers' process**",
      '',
      catTable('server', ['surewire/server', 'ws / socket.io', 'bench', 'node', 'native', 'gc', 'program'], SERVER_LABEL),
      '',
    );
    for (const id of ids) {
      for (const side of ['page', 'server']) {
        p(
          `Top functions by self time, ${label[id]}, ${side == 'page' ? 'page' : 'servers'}:`,
          '',
          table(
            ['function', 'where', 'µs/msg', 'share of busy'],
            P[id][side].top.slice(0, 10).map((f) => [`\`${f.name}\``, f.file ? `${f.file}:${f.line}` : `(${f.category})`, fmt(f.usPerMessage, 2), `${fmt(f.share * 100, 1)} %`]),
            ['l', 'l'],
          ),
          '',
        );
      }
    }
  }

  if (res.pageErrors?.length || res.serverErrors?.length) {
    p('## Problems seen during the run', '', ...[...res.pageErrors, ...res.serverErrors].slice(0, 30).map((e) => `- ${e}`), '');
  }

  if (brief) return out.join('\n');

  // ---- machine, packages, notes
  const m = res.machine;
  p(
    '## Machine',
    '',
    table(
      ['', ''],
      [
        ['CPU', `${m.cpu} (/proc/cpuinfo)`],
        ['cores', String(m.cores)],
        ['memory', m.memory],
        ['OS', m.os],
        ['Node', m.node],
        ['Chromium', `${m.chromium} (headless, /usr/bin/chromium, playwright-core)`],
        ['load average at start', m.loadavg],
        ['page', `cross-origin isolated: ${res.page?.crossOriginIsolated}; performance.now() resolution ${fmt((res.page?.timerResolution ?? NaN) * 1000, 0)} µs`],
      ],
      ['l', 'l'],
    ),
    '',
    '## Packages',
    '',
    table(['package', 'version'], Object.entries(res.packages), ['l', 'l']),
    '',
    '## Notes',
    '',
    NOTES_START,
    notes || '_(none yet)_',
    NOTES_END,
    '',
  );
  return out.join('\n');
}

// `node bench/lib/report.mjs`: rewrites bench/RESULTS.md from bench/results.json (after a change to this
// file), keeping the hand-written notes.
if (process.argv[1] && import.meta.url === (await import('node:url')).pathToFileURL((await import('node:path')).resolve(process.argv[1])).href) {
  const { resolve, dirname } = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  const { writeFileSync } = await import('node:fs');
  const bench = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const res = JSON.parse(readFileSync(resolve(bench, 'results.json'), 'utf8'));
  writeFileSync(resolve(bench, 'RESULTS.md'), renderMarkdown(res, readNotes(resolve(bench, 'RESULTS.md'))));
  console.log('report: wrote bench/RESULTS.md from bench/results.json');
}
