#!/usr/bin/env node
// surewire's benchmark, in real Chromium, against raw WebSocket and the libraries users would pick instead.
//
//   npm run bench                 full run, 5 rounds (~7–9 min on 2 cores, budgeted to stay under 10), then
//                                 bench/redis.mjs (3 rounds, ~2 min, when redis-server is installed):
//                                 writes bench/RESULTS.md, bench/results.svg, bench/results.json
//   npm run bench -- --quick      ~1 min, fewer messages and rounds (bench/redis.mjs: 1 round); prints only
//                                 (add --write to write the files)
//   npm run bench -- --strict     exit 1 when a target is missed (otherwise the bench exits 0: it measures)
//   other flags: --rounds N, --profile (CPU-profile even when every speed target is met, or in a quick run),
//                --no-profile
//
// How it measures (details in bench/README.md): local servers in a process of their own (lib/servers.mjs),
// one headless Chromium launched by playwright-core, a fresh tab per round driven over the bench's own CDP
// client (lib/cdp.mjs); in every round each measure runs every contender once, in an order rotated by one per
// round; numbers are medians over rounds with their spread, and ratios are taken against raw WebSocket within
// the same round before the median is taken.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { runSizeChecks, ROOT } from './size.mjs';
import { CONTENDERS, buildBundles, packageVersions } from './lib/contenders.mjs';
import { summary, median, quantile } from './lib/stats.mjs';
import { cpuMeter } from './lib/cpu.mjs';
import { spawnServers } from './lib/spawn.mjs';
import { profileContenders } from './lib/profile.mjs';
import { CdpPage, debuggingPort } from './lib/cdp.mjs';
import { renderMarkdown, readNotes } from './lib/report.mjs';
import { redisTarget } from './lib/redis-report.mjs';
import { breakdownFile, literalsCost } from './lib/size-breakdown.mjs';
import { renderChart } from './chart.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-precise-memory-info',
];

const MODES = {
  full: {
    rounds: 5,
    // Stop adding rounds (never below 3) when the next one would end the run past this many seconds.
    budget: 600,
    throughput: { n: 100_000, blocks: 10, win: 1000, timeout: 120_000 },
    latency: { n: 2000, blocks: 8, blockWarmup: 10, timeout: 60_000 },
    reconnect: { n: 20, pause: 25, timeout: 5000 },
    memory: { n: 10_000 },
    burst: { n: 100_000, timeout: 120_000 },
    backlog: { n: 50_000, timeout: 120_000 },
    clientCost: { n: 20_000, chunk: 100, reps: 5 },
    serverCost: { n: 20_000, chunk: 100, reps: 5 },
    warmup: { throughput: 5000, latency: 200 },
    profile: { n: 50_000 },
  },
  quick: {
    rounds: 3,
    budget: 80,
    throughput: { n: 20_000, blocks: 4, win: 1000, timeout: 60_000 },
    latency: { n: 500, blocks: 4, blockWarmup: 10, timeout: 30_000 },
    reconnect: { n: 5, pause: 25, timeout: 5000 },
    memory: { n: 10_000 },
    burst: { n: 20_000, timeout: 60_000 },
    backlog: { n: 10_000, timeout: 60_000 },
    clientCost: { n: 10_000, chunk: 100, reps: 5 },
    serverCost: { n: 10_000, chunk: 100, reps: 5 },
    warmup: { throughput: 5000, latency: 100 },
    profile: { n: 20_000 },
  },
};

// The targets this project holds itself to (the README and bench/RESULTS.md state them).
const SPEC = {
  throughput: 0.95, // × raw, at least
  p50: 1.05, // × raw, at most
  p99: 1.2, // × raw, at most
  memory: 1.2, // × a plain array of the same encoded strings, at most
  reconnectOver: 10, // ms over the drawn backoff delay, at most
  reliableCost: 0.1, // throughput lost against plain surewire, at most
};
// The burst and backlog targets: ratios within one round, medians over rounds.
const BACKLOG = {
  reliable: 0.9, // reliable surewire's rate ≥ 0.90 × plain surewire's, in burst and in backlog
  reliableCpu: 1.15, // its browser CPU per message ≤ 1.15 × plain's, in burst
  flush: 0.95, // plain surewire's backlog rate ≥ 0.95 × its burst rate (the same messages on an open connection)
  io: 0.97, // surewire over socket.io ≥ 0.97 × socket.io-client's rate, in throughput and in burst
  ioP50: 1.03, // and its p50 ≤ 1.03 ×
  ioMemory: 1.2, // its outbox ≤ 1.2 × a plain array of the packets
};
// The contenders of the burst and backlog measures (raw WebSocket has no queue: burst only).
const BURST_IDS = ['raw', 'surewire', 'surewire-reliable', 'socket.io-client', 'surewire-io'];

function parseArgs(argv) {
  const has = (f) => argv.includes(f);
  const value = (f) => {
    const i = argv.indexOf(f);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const known = new Set(['--quick', '--strict', '--write', '--profile', '--no-profile', '--rounds', '--help', '-h']);
  for (const a of argv) if (a.startsWith('-') && !known.has(a)) throw new Error(`bench: unknown flag ${a} (see bench/README.md)`);
  const mode = has('--quick') ? 'quick' : 'full';
  const cfg = structuredClone(MODES[mode]);
  // Rounds asked for explicitly are all run, whatever the time budget.
  if (value('--rounds')) (cfg.rounds = Math.max(1, Number(value('--rounds')) | 0)), (cfg.budget = Infinity);
  return {
    help: has('--help') || has('-h'),
    mode,
    cfg,
    strict: has('--strict'),
    write: mode == 'full' || has('--write'),
    // A quick run does not profile unless asked: it stays about a minute.
    profile: has('--profile') ? 'always' : has('--no-profile') || mode == 'quick' ? 'never' : 'on-miss',
  };
}

const rotate = (xs, k) => xs.map((_, i) => xs[(i + k) % xs.length]);
// Burst and backlog run one contender after another, so the two sides of each ratio they report run next to
// each other (plain surewire then reliable, socket.io-client then surewire over socket.io, raw with plain),
// which goes first alternating by round: load from elsewhere that comes and goes then hits both sides alike.
const PAIRS = [['raw', 'surewire', 'surewire-reliable'], ['socket.io-client', 'surewire-io']];
const pairedOrder = (r) => rotate(PAIRS, r).flatMap((p) => (r % 2 ? [...p].reverse() : p));
// Each burst and backlog starts after this much idle time. Without it, a contender that ran right after another
// paid for the other's garbage (the page's and the servers'): in fresh tabs, of two 50,000-message backlogs
// the second ran 6–20 % slower, whichever contender it was (4 of 4 pairs); with a 1 s pause, no order showed.
// Which side of a ratio goes first alternates by round, so over an odd number of rounds that cost fell on one
// side more often than on the other.
const SETTLE_MS = 1000;
const settle = () => new Promise((ok) => setTimeout(ok, SETTLE_MS));
const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : 'n/a');

async function machineInfo(browser) {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = (await readFile('/proc/cpuinfo', 'utf8')).match(/^model name\s*:\s*(.+)$/m);
    if (m) cpu = m[1].trim();
  } catch {
    // not Linux
  }
  return {
    cpu,
    cores: os.availableParallelism?.() ?? os.cpus().length,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    node: process.version,
    chromium: browser.version(),
    loadavg: os.loadavg().map((x) => x.toFixed(2)).join(' '),
  };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) {
    console.log('usage: npm run bench [-- --quick] [--strict] [--write] [--rounds N] [--profile|--no-profile]  (see bench/README.md)');
    return 0;
  }
  const { cfg } = opts;
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
  const log = (s) => console.log(`[${elapsed().padStart(5)}] ${s}`);

  for (const f of ['surewire.mjs', 'surewire.socket.io.mjs', 'surewire.server.mjs', 'surewire.min.js']) {
    if (!existsSync(resolve(ROOT, 'dist', f))) throw new Error(`bench: dist/${f} is missing: run \`npm run build\` first`);
  }
  if (!existsSync(CHROMIUM)) throw new Error(`bench: no Chromium at ${CHROMIUM} (set CHROMIUM_PATH; the bench never downloads browsers)`);

  log(`bench: ${opts.mode} mode, ${cfg.rounds} rounds; building the contenders' bundles`);
  const bundles = await buildBundles();
  const sizeChecks = await runSizeChecks();
  const served = [...bundles].map(([id, b]) => [`/b/${id}.js`, b.code]);
  const dev = await buildBundles({ minify: false }); // for CPU profiles: readable function names
  served.push(...[...dev].map(([id, b]) => [`/d/${id}.js`, b.code]));
  const servers = await spawnServers({ pageDir: resolve(HERE, 'page'), bundles: served, serverModule: resolve(ROOT, 'dist/surewire.server.mjs') });
  const urls = servers.urls;
  // --enable-automation and a loopback debugging port: the bench drives its pages over its own CDP client.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [...CHROMIUM_ARGS, '--enable-automation', '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=0'],
  });
  const port = await debuggingPort(browser);
  const machine = await machineInfo(browser);
  log(`bench: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, Chromium ${machine.chromium}`);

  const ids = CONTENDERS.map((c) => c.id);
  const memIds = ['array', 'array-reliable', 'array-io', ...ids.filter((id) => id != 'raw')];
  const raw = {
    throughput: Object.fromEntries(ids.map((id) => [id, []])),
    latency: Object.fromEntries(ids.map((id) => [id, []])),
    reconnect: Object.fromEntries(ids.map((id) => [id, []])),
    memory: Object.fromEntries(memIds.map((id) => [id, []])),
    clientCost: Object.fromEntries(ids.map((id) => [id, []])),
    burst: Object.fromEntries(BURST_IDS.map((id) => [id, []])),
    backlog: Object.fromEntries(BURST_IDS.filter((id) => id != 'raw').map((id) => [id, []])),
    serverCost: [],
  };
  const pageErrors = [];
  let page0;

  try {
    const roundsStarted = Date.now();
    for (let r = 0; r < cfg.rounds; r++) {
      const perRound = r ? (Date.now() - roundsStarted) / r / 1000 : 0;
      if (r >= 3 && (Date.now() - started) / 1000 + perRound > cfg.budget) {
        log(`bench: stopping after ${r} rounds (${perRound.toFixed(0)} s per round; the run must stay within ${cfg.budget} s)`);
        cfg.roundsPlanned = cfg.rounds;
        cfg.rounds = r;
        break;
      }
      // A fresh tab per round, driven through the bench's own CDP client (lib/cdp.mjs), not Playwright's page.
      const page = await CdpPage.open(port, `${servers.origin}/`);
      await page.eval('new Promise((ok) => { const t = () => (window.bench ? ok() : setTimeout(t, 10)); t(); })');
      const info = await page.call('load', ids);
      page0 ??= info;
      if (!info.crossOriginIsolated) log('bench: WARNING: the page is not cross-origin isolated; timer resolution is coarse');
      const order = rotate(ids, r);
      log(`round ${r + 1}/${cfg.rounds}: order ${order.join(', ')}`);

      // Throughput and latency run on one connection per contender, all open at once, in blocks: each
      // contender's messages (and round trips) are split into blocks, and the contenders' blocks take turns,
      // in an order rotated by one each turn. A burst of load from elsewhere on the machine then hits every
      // contender alike, instead of whichever one happened to be running.
      const handles = {};
      for (const id of order) handles[id] = await page.call('connOpen', id, urls);
      // Warm-up, not recorded: every contender's code runs hot before its first measured message.
      for (const id of order) {
        await page.call('tpBlock', handles[id], { ...cfg.throughput, n: cfg.warmup.throughput });
        await page.call('latBlock', handles[id], { ...cfg.latency, n: cfg.warmup.latency, warmup: 0 });
      }

      const line = [];
      const tp = Object.fromEntries(ids.map((id) => [id, { n: 0, ms: 0, outOfOrder: 0, server: 0, browser: 0, others: 0, wall: 0 }]));
      const tpBlock = { ...cfg.throughput, n: cfg.throughput.n / cfg.throughput.blocks };
      for (let b = 0; b < cfg.throughput.blocks; b++) {
        for (const id of rotate(order, b)) {
          const meter = await cpuMeter(servers);
          const res = await page.call('tpBlock', handles[id], tpBlock);
          const cpu = await meter.stop();
          const t = tp[id];
          t.n += res.n;
          t.ms += res.ms;
          t.outOfOrder += res.outOfOrder;
          t.server += cpu.server;
          t.browser += cpu.browser ?? NaN;
          t.others += cpu.others ?? NaN;
          t.wall += cpu.wall;
        }
      }
      for (const id of order) {
        const t = tp[id];
        if (t.outOfOrder) pageErrors.push(`round ${r + 1}: ${id}: ${t.outOfOrder} echoes out of order`);
        raw.throughput[id][r] = {
          n: t.n,
          ms: t.ms,
          rate: (t.n / t.ms) * 1000,
          cpu: { server: t.server / t.n, browser: t.browser / t.n },
          // Other processes' load during this contender's blocks, in cores: what it competed with.
          othersCores: t.others / t.wall,
        };
        line.push(`${id} ${fmt(raw.throughput[id][r].rate / 1000, 1)}k (others ${fmt(t.others / t.wall, 2)})`);
      }
      log(`  throughput msg/s: ${line.join(', ')}`);

      line.length = 0;
      const lat = Object.fromEntries(ids.map((id) => [id, []]));
      const latBlock = { ...cfg.latency, n: cfg.latency.n / cfg.latency.blocks, warmup: cfg.latency.blockWarmup };
      for (let b = 0; b < cfg.latency.blocks; b++) {
        for (const id of rotate(order, b)) lat[id].push(...(await page.call('latBlock', handles[id], latBlock)));
      }
      for (const id of order) {
        const s = lat[id];
        raw.latency[id][r] = { n: s.length, p50: quantile(s, 0.5), p90: quantile(s, 0.9), p99: quantile(s, 0.99), min: Math.min(...s), max: Math.max(...s), mean: s.reduce((x, y) => x + y, 0) / s.length };
        line.push(`${id} ${fmt(raw.latency[id][r].p50 * 1000)}/${fmt(raw.latency[id][r].p99 * 1000)}`);
      }
      log(`  latency p50/p99 µs: ${line.join(', ')}`);

      // Burst, on the same (warm) connections: n sends in one synchronous loop, time to the last echo.
      line.length = 0;
      for (const id of pairedOrder(r)) {
        await settle();
        const meter = await cpuMeter(servers);
        const res = await page.call('burst', handles[id], cfg.burst);
        const cpu = await meter.stop();
        if (res.outOfOrder) pageErrors.push(`round ${r + 1}: ${id}: burst: ${res.outOfOrder} echoes out of order`);
        raw.burst[id][r] = { ...res, rate: (res.n / res.ms) * 1000, cpu: { server: cpu.server / res.n, browser: (cpu.browser ?? NaN) / res.n }, othersCores: (cpu.others ?? NaN) / cpu.wall };
        line.push(`${id} ${fmt(raw.burst[id][r].rate / 1000, 1)}k`);
      }
      log(`  burst msg/s: ${line.join(', ')}`);
      for (const id of order) await page.call('connClose', handles[id]);

      // Backlog: n sends while offline, then the server is reachable; time from open to the last echo.
      line.length = 0;
      for (const id of pairedOrder(r).filter((id) => raw.backlog[id])) {
        await settle();
        const meter = await cpuMeter(servers);
        const res = await page.call('backlog', id, urls, cfg.backlog);
        const cpu = await meter.stop();
        if (res.outOfOrder) pageErrors.push(`round ${r + 1}: ${id}: backlog: ${res.outOfOrder} echoes out of order`);
        if (res.queued != res.n) pageErrors.push(`round ${r + 1}: ${id}: backlog: ${res.queued} of ${res.n} messages queued`);
        raw.backlog[id][r] = { ...res, rate: (res.n / res.ms) * 1000, cpu: { server: cpu.server / res.n, browser: (cpu.browser ?? NaN) / res.n }, othersCores: (cpu.others ?? NaN) / cpu.wall };
        line.push(`${id} ${fmt(raw.backlog[id][r].rate / 1000, 1)}k`);
      }
      log(`  backlog msg/s: ${line.join(', ')}`);

      line.length = 0;
      for (const id of order) {
        const samples = await page.call('reconnect', id, urls, cfg.reconnect);
        raw.reconnect[id][r] = samples;
        line.push(`${id} ${fmt(median(samples.map((s) => s.ms)), 2)}`);
      }
      log(`  reconnect close→open ms: ${line.join(', ')}`);

      line.length = 0;
      for (const id of order) {
        await page.session.send('HeapProfiler.collectGarbage'); // every contender starts from a clean heap
        const us = await page.call('clientCost', id, cfg.clientCost);
        raw.clientCost[id][r] = us;
        if (us != null) line.push(`${id} ${fmt(us, 2)}`);
      }
      log(`  client cost µs/message (fake socket): ${line.join(', ')}`);
      raw.serverCost[r] = await servers.serverCost(cfg.serverCost);
      log(`  server cost µs/message (fake socket): echo ${fmt(raw.serverCost[r].plain, 2)}, reliable ${fmt(raw.serverCost[r].reliable, 2)}`);

      line.length = 0;
      const gc = async () => {
        await page.session.send('HeapProfiler.collectGarbage');
        await page.session.send('HeapProfiler.collectGarbage');
      };
      const heap = async () => (await page.session.send('Runtime.getHeapUsage')).usedSize;
      for (const id of rotate(memIds, r)) {
        await page.call('memPrepare', id, urls);
        await gc();
        const h0 = await heap();
        const queued = await page.call('memFill', cfg.memory.n);
        await gc();
        const h1 = await heap();
        await page.call('memDispose');
        if (queued != cfg.memory.n) pageErrors.push(`round ${r + 1}: memory: ${id} holds ${queued} of ${cfg.memory.n} messages`);
        raw.memory[id][r] = { bytes: h1 - h0, queued };
        line.push(`${id} ${fmt((h1 - h0) / cfg.memory.n, 1)}`);
      }
      log(`  memory bytes/message: ${line.join(', ')}`);
      pageErrors.push(...page.errors.map((e) => `round ${r + 1}: ${e}`));
      await page.close();
    }

    // ---- aggregate -------------------------------------------------------------------------------------
    const rounds = [...Array(cfg.rounds).keys()];
    const ratio = (series, id, f, base = 'raw') => summary(rounds.map((r) => f(series[id][r]) / f(series[base][r])));
    const agg = { throughput: {}, latency: {}, reconnect: {}, memory: {} };
    for (const id of ids) {
      const tp = raw.throughput[id];
      agg.throughput[id] = {
        rate: summary(tp.map((x) => x.rate)),
        ratio: ratio(raw.throughput, id, (x) => x.rate),
        serverCpu: summary(tp.map((x) => x.cpu.server)),
        browserCpu: summary(tp.map((x) => x.cpu.browser ?? NaN)),
        othersCores: summary(tp.map((x) => x.othersCores ?? NaN)),
      };
      const lat = raw.latency[id];
      agg.latency[id] = {
        p50: summary(lat.map((x) => x.p50 * 1000)),
        p99: summary(lat.map((x) => x.p99 * 1000)),
        p50Ratio: ratio(raw.latency, id, (x) => x.p50),
        p99Ratio: ratio(raw.latency, id, (x) => x.p99),
      };
      const rc = raw.reconnect[id];
      const all = rc.flat();
      const over = all.map((s) => s.ms - (s.delay ?? 1));
      agg.reconnect[id] = {
        ms: summary(rc.map((s) => median(s.map((x) => x.ms)))),
        over: summary(rc.map((s) => median(s.map((x) => x.ms - (x.delay ?? 1))))),
        delay: median(all.map((s) => s.delay ?? NaN)),
        samples: all.length,
        overP95: quantile(over, 0.95),
        overMax: Math.max(...over),
        within10: over.filter((x) => x <= SPEC.reconnectOver).length,
      };
    }
    for (const id of memIds) {
      // "Its own frames": reliable surewire keeps longer frames than the app's messages encode to.
      const own = id == 'surewire-reliable' ? 'array-reliable' : id == 'surewire-io' ? 'array-io' : 'array';
      agg.memory[id] = {
        perMessage: summary(raw.memory[id].map((x) => x.bytes / cfg.memory.n)),
        ratio: summary(rounds.map((r) => raw.memory[id][r].bytes / raw.memory.array[r].bytes)),
        ownRatio: summary(rounds.map((r) => raw.memory[id][r].bytes / raw.memory[own][r].bytes)),
      };
    }
    agg.clientCost = {};
    for (const id of ids) {
      const xs = raw.clientCost[id];
      if (xs.some((x) => x == null)) continue;
      agg.clientCost[id] = { us: summary(xs), overRaw: summary(rounds.map((r) => xs[r] - raw.clientCost.raw[r])) };
    }
    agg.serverCost = { plain: summary(raw.serverCost.map((x) => x.plain)), reliable: summary(raw.serverCost.map((x) => x.reliable)) };
    agg.reliableCost = summary(rounds.map((r) => 1 - raw.throughput['surewire-reliable'][r].rate / raw.throughput.surewire[r].rate));
    for (const m of ['burst', 'backlog']) {
      agg[m] = {};
      for (const id of Object.keys(raw[m])) {
        const xs = raw[m][id];
        agg[m][id] = {
          rate: summary(xs.map((x) => x.rate)),
          serverCpu: summary(xs.map((x) => x.cpu.server)),
          browserCpu: summary(xs.map((x) => x.cpu.browser)),
          othersCores: summary(xs.map((x) => x.othersCores)),
          ...(m == 'burst' ? { ratio: ratio(raw.burst, id, (x) => x.rate) } : {}),
        };
      }
    }
    // The burst and backlog ratios, each within one round.
    const per = (f) => summary(rounds.map(f));
    agg.backlogTargets = {
      reliableBurst: per((r) => raw.burst['surewire-reliable'][r].rate / raw.burst.surewire[r].rate),
      reliableBacklog: per((r) => raw.backlog['surewire-reliable'][r].rate / raw.backlog.surewire[r].rate),
      reliableCpu: per((r) => raw.burst['surewire-reliable'][r].cpu.browser / raw.burst.surewire[r].cpu.browser),
      flush: per((r) => raw.backlog.surewire[r].rate / raw.burst.surewire[r].rate),
      ioThroughput: per((r) => raw.throughput['surewire-io'][r].rate / raw.throughput['socket.io-client'][r].rate),
      ioP50: per((r) => raw.latency['surewire-io'][r].p50 / raw.latency['socket.io-client'][r].p50),
      ioBurst: per((r) => raw.burst['surewire-io'][r].rate / raw.burst['socket.io-client'][r].rate),
      ioMemory: per((r) => raw.memory['surewire-io'][r].bytes / raw.memory['array-io'][r].bytes),
    };
    agg.ioCost = summary(rounds.map((r) => 1 - raw.throughput['surewire-io'][r].rate / raw.throughput['socket.io-client'][r].rate));

    // ---- targets ---------------------------------------------------------------------------------------
    const sizeRow = (re) => sizeChecks.rows.find((row) => re.test(row.name));
    const sCore = sizeRow(/^import \{ Surewire \}/);
    const sCdn = sizeRow(/^dist\/surewire\.min\.js$/);
    const sIo = sizeRow(/^import \{ socketIo \}/);
    const spread = (s, d = 3) => `median ${fmt(s.median, d)}, min–max ${fmt(s.min, d)}–${fmt(s.max, d)}`;
    const rcSw = agg.reconnect.surewire;
    const targets = [
      {
        key: 'throughput',
        name: 'throughput: surewire ≥ 0.95 × raw WebSocket',
        ok: agg.throughput.surewire.ratio.median >= SPEC.throughput,
        value: `${fmt(agg.throughput.surewire.ratio.median, 3)} × raw`,
        detail: spread(agg.throughput.surewire.ratio),
      },
      {
        key: 'p50',
        name: 'latency p50: surewire ≤ 1.05 × raw',
        ok: agg.latency.surewire.p50Ratio.median <= SPEC.p50,
        value: `${fmt(agg.latency.surewire.p50Ratio.median, 3)} × raw`,
        detail: spread(agg.latency.surewire.p50Ratio),
      },
      {
        key: 'p99',
        name: 'latency p99: surewire ≤ 1.2 × raw',
        ok: agg.latency.surewire.p99Ratio.median <= SPEC.p99,
        value: `${fmt(agg.latency.surewire.p99Ratio.median, 3)} × raw`,
        detail: spread(agg.latency.surewire.p99Ratio),
      },
      {
        key: 'size-core',
        name: `size: import { Surewire } tree-shaken ≤ ${sCore.target} B min+gzip`,
        ok: sCore.gzip <= sCore.target,
        value: `${sCore.gzip} B`,
        detail: `${fmt(sCore.gzip / 1024, 2)} KB; ${sCore.gzip > sCore.target ? `${sCore.gzip - sCore.target} B over` : 'within'}`,
      },
      {
        key: 'size-cdn',
        name: `size: dist/surewire.min.js ≤ ${sCdn.target} B min+gzip`,
        ok: sCdn.gzip <= sCdn.target,
        value: `${sCdn.gzip} B`,
        detail: `${fmt(sCdn.gzip / 1024, 2)} KB; ${sCdn.gzip > sCdn.target ? `${sCdn.gzip - sCdn.target} B over` : 'within'}`,
      },
      {
        key: 'size-io',
        name: `size: the socket.io transport adds ≤ ${sIo.target} B min+gzip`,
        ok: sIo.gzip <= sIo.target,
        value: `${sIo.gzip} B`,
        detail: `socket.io-client external`,
      },
      {
        key: 'memory',
        name: 'memory: outbox ≤ 1.2 × a plain array of the encoded messages',
        ok: agg.memory.surewire.ratio.median <= SPEC.memory,
        value: `${fmt(agg.memory.surewire.ratio.median, 3)} × array`,
        detail: `${fmt(agg.memory.surewire.perMessage.median, 1)} vs ${fmt(agg.memory.array.perMessage.median, 1)} B/message; ${spread(agg.memory.surewire.ratio)}`,
      },
      {
        key: 'reconnect',
        name: 'reconnect: open again within the drawn backoff delay + 10 ms',
        ok: rcSw.over.median <= SPEC.reconnectOver,
        value: `delay + ${fmt(rcSw.over.median, 2)} ms`,
        detail: `drawn delay ${fmt(rcSw.delay, 0)} ms; ${rcSw.within10}/${rcSw.samples} samples within +10 ms, p95 +${fmt(rcSw.overP95, 2)} ms, max +${fmt(rcSw.overMax, 2)} ms`,
      },
      {
        key: 'reliable',
        name: 'reliable mode costs ≤ 10 % throughput against plain mode',
        ok: agg.reliableCost.median <= SPEC.reliableCost,
        value: `${fmt(agg.reliableCost.median * 100, 1)} % slower`,
        detail: `median of the per-round costs; min–max ${fmt(agg.reliableCost.min * 100, 1)}–${fmt(agg.reliableCost.max * 100, 1)} %; median rates ${fmt(agg.throughput['surewire-reliable'].rate.median)} vs ${fmt(agg.throughput.surewire.rate.median)} msg/s`,
      },
    ];
    const bt = agg.backlogTargets;
    const issue15 = [
      ['burst-reliable', 'burst: reliable surewire ≥ 0.90 × plain surewire', bt.reliableBurst, '≥', BACKLOG.reliable, '× plain'],
      ['backlog-reliable', 'backlog: reliable surewire ≥ 0.90 × plain surewire', bt.reliableBacklog, '≥', BACKLOG.reliable, '× plain'],
      ['burst-reliable-cpu', 'burst: reliable surewire browser CPU/msg ≤ 1.15 × plain', bt.reliableCpu, '≤', BACKLOG.reliableCpu, '× plain'],
      ['backlog-flush', 'backlog: surewire flush ≥ 0.95 × its burst on an open connection', bt.flush, '≥', BACKLOG.flush, '× burst'],
      ['io-throughput', 'throughput: surewire over socket.io ≥ 0.97 × socket.io-client', bt.ioThroughput, '≥', BACKLOG.io, '× socket.io-client'],
      ['io-p50', 'latency p50: surewire over socket.io ≤ 1.03 × socket.io-client', bt.ioP50, '≤', BACKLOG.ioP50, '× socket.io-client'],
      ['io-burst', 'burst: surewire over socket.io ≥ 0.97 × socket.io-client', bt.ioBurst, '≥', BACKLOG.io, '× socket.io-client'],
      ['io-memory', 'memory: outbox over socket.io ≤ 1.2 × a plain array of the packets', bt.ioMemory, '≤', BACKLOG.ioMemory, '× array of packets'],
    ];
    for (const [key, name, s, op, limit, unit] of issue15) {
      targets.push({ key, name, ok: op == '≥' ? s.median >= limit : s.median <= limit, value: `${fmt(s.median, 3)} ${unit}`, detail: spread(s) });
    }

    // ---- why: CPU profiles of the missed speed targets ---------------------------------------------------
    const missedSpeed = targets.filter((t) => !t.ok && ['throughput', 'p50', 'p99', 'reliable'].includes(t.key)).map((t) => t.key);
    let profiles;
    if (opts.profile == 'always' || (opts.profile == 'on-miss' && missedSpeed.length)) {
      // A missed speed target is profiled against what it is measured against: surewire against raw,
      // reliable surewire against plain surewire.
      const which = new Set();
      if (opts.profile == 'always' || missedSpeed.some((k) => k != 'reliable')) which.add('raw').add('surewire');
      if (opts.profile == 'always' || missedSpeed.includes('reliable')) which.add('surewire').add('surewire-reliable');
      log(`bench: CPU-profiling ${[...which].join(', ')} (throughput, ${fmt(cfg.profile.n)} messages, unminified bundles)`);
      profiles = await profileContenders({ port, servers, urls, ids: ids.filter((id) => which.has(id)), n: cfg.profile.n, win: cfg.throughput.win });
    }

    // ---- why, size: where the CDN build's bytes go, by source file and in string literals -------------------
    let sizeWhy;
    if (targets.some((t) => !t.ok && t.key.startsWith('size-'))) {
      const cdn = resolve(ROOT, 'dist/surewire.min.js');
      const files = breakdownFile(cdn);
      const core = bundles.get('surewire').code;
      sizeWhy = files && { cdn: files, literals: { cdn: await literalsCost(await readFile(cdn, 'utf8')), core: await literalsCost(core) } };
    }

    // ---- reliable delivery on Redis (bench/redis.mjs), alone on the machine: the browser and servers closed --
    const serverStats = await servers.stats();
    await browser.close().catch(() => {});
    await servers.close().catch(() => {});
    const redis = await redisBench(opts, log);
    if (redis.data) targets.push(redisTarget(redis.data));

    // ---- report ----------------------------------------------------------------------------------------
    console.log('');
    for (const t of targets) console.log(`bench: ${t.ok ? 'PASS' : 'FAIL'} ${t.name}: ${t.value} (${t.detail})`);
    if (pageErrors.length) for (const e of pageErrors.slice(0, 20)) console.log(`bench: page error: ${e}`);
    if (redis.error) console.log(`bench: bench/redis.mjs: ${redis.error}`);
    if (serverStats.errors.length) for (const e of serverStats.errors.slice(0, 20)) console.log(`bench: server error: ${e}`);
    const met = targets.filter((t) => t.ok);
    const missed = targets.filter((t) => !t.ok);
    const runtime = (Date.now() - started) / 1000;
    const result = {
      date: new Date().toISOString(),
      mode: opts.mode,
      config: cfg,
      runtimeSeconds: Math.round(runtime),
      machine,
      page: page0,
      packages: packageVersions(),
      contenders: CONTENDERS.map(({ id, label, note }) => ({ id, label, note })),
      sizes: Object.fromEntries([...bundles].map(([id, b]) => [id, { min: b.min, gzip: b.gzip, brotli: b.brotli }])),
      sizeChecks: sizeChecks.rows,
      raw,
      agg,
      targets,
      spec: SPEC,
      profiles,
      sizeWhy,
      redis,
      pageErrors,
      serverErrors: serverStats.errors,
    };
    if (opts.write) {
      const md = renderMarkdown(result, readNotes(resolve(HERE, 'RESULTS.md')));
      writeFileSync(resolve(HERE, 'RESULTS.md'), md);
      writeFileSync(resolve(HERE, 'results.svg'), renderChart(result));
      writeFileSync(resolve(HERE, 'results.json'), JSON.stringify(result, null, 1) + '\n');
      console.log('bench: wrote bench/RESULTS.md, bench/results.svg, bench/results.json');
    } else {
      console.log(renderMarkdown(result, '', { brief: true }));
    }
    console.log(`bench: ${opts.mode} run took ${runtime.toFixed(0)} s`);
    console.log(`targets: ${met.length} met, ${missed.length} missed${missed.length ? ` (${missed.map((t) => t.key).join(', ')})` : ''}`);
    return opts.strict && (missed.length || pageErrors.length || redis.error) ? 1 : 0;
  } finally {
    await browser.close().catch(() => {});
    await servers.close().catch(() => {});
  }
}

/**
 * Runs bench/redis.mjs (3 rounds; 1 in a quick run), its output shown as it goes. Resolves with `{ data }`
 * (what it wrote with --json: lib/redis-report.mjs renders it), or `{ skipped }` / `{ error }`.
 */
async function redisBench(opts, log) {
  const server = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';
  if (!existsSync(server)) {
    log(`bench: no redis-server at ${server} (set REDIS_SERVER): bench/redis.mjs skipped`);
    return { skipped: `no redis-server at ${server}` };
  }
  log(`bench: reliable delivery on Redis (bench/redis.mjs, ${opts.mode == 'quick' ? '1 round' : '3 rounds'})`);
  const dir = mkdtempSync(resolve(os.tmpdir(), 'surewire-bench-'));
  const file = resolve(dir, 'redis.json');
  try {
    const code = await new Promise((done) =>
      spawn(process.execPath, [resolve(HERE, 'redis.mjs'), ...(opts.mode == 'quick' ? ['--rounds', '1'] : []), '--json', file], { stdio: 'inherit' }).on('exit', done),
    );
    if (code !== 0 || !existsSync(file)) return { error: `exited with ${code} (its output is above)` };
    return { data: JSON.parse(readFileSync(file, 'utf8')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`bench: FAILED: ${err?.stack ?? err}`);
    process.exitCode = 2;
  },
);
