#!/usr/bin/env node
// Reliable delivery on Redis: what `surewire/server/redis` costs against the memory store, and what it
// carries through two processes. Standalone (after `npm run build`; needs /usr/bin/redis-server or
// REDIS_SERVER; ~1 min):
//
//   node bench/redis.mjs [--rounds N] [--clients N] [--messages N] [--profile DIR] [--json FILE]
//
// --profile DIR writes a CPU profile of every server process into DIR (node --cpu-prof).
// --json FILE writes the measures of every round there (bench/run.mjs puts them in bench/RESULTS.md and
// bench/results.json, with the ≥ 0.7 × target: lib/redis-report.mjs).
//
// Cases, each in fresh server processes (bench/lib/redis-node.mjs), rounds taking turns, medians printed:
//   memory, 1 process   reliable echo on the memory store: every client message is sent back with
//                       `server.send` (so both directions are reliable messages)
//   redis, 1 process    the same on `redisStore` (ioredis without auto-pipelining: the store batches its own calls)
//   redis, 2 processes  a relay: clients in pairs, one on each process; what one sends, the process it
//                       reaches sends to its partner's session, which the other process delivers (pub/sub)
// Clients are surewire (`reliable()`) over `ws`, in this process, all sending at once. Redis commands are
// counted with INFO commandstats: those the processes sent (EVALSHA and the rest) and those Redis ran
// in all (the scripts' own calls included), per message handled (one client → server message and the
// server → client message it causes count as one).
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { Redis } from 'ioredis';
import { Surewire, reliable } from '../dist/surewire.mjs';
import { redisMarkdown } from './lib/redis-report.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const arg = (name, d) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : d);
const ROUNDS = arg('--rounds', 3);
const CLIENTS = arg('--clients', 10);
const MESSAGES = arg('--messages', 3000); // per client
const WARMUP = arg('--warmup', 1000); // per client, before the timed messages
const SETTLE_MS = 1000;
const PROFILE = argv.includes('--profile') ? resolve(argv[argv.indexOf('--profile') + 1]) : undefined;
const JSON_FILE = argv.includes('--json') ? resolve(argv[argv.indexOf('--json') + 1]) : undefined;

const freePort = () =>
  new Promise((ok, fail) => {
    const s = createServer().once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });

async function startRedis() {
  const dir = mkdtempSync(join(tmpdir(), 'surewire-bench-redis-'));
  const port = await freePort();
  const proc = spawn(process.env.REDIS_SERVER ?? '/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((ok, fail) => {
    let log = '';
    proc.stdout.on('data', (d) => (log += d) && /Ready to accept/.test(log) && ok());
    proc.once('exit', (c) => fail(new Error(`redis-server exited (${c}): ${log}`)));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () => (proc.kill('SIGKILL'), rmSync(dir, { recursive: true, force: true })),
  };
}

function startNode(mode, redisUrl) {
  const child = fork(resolve(HERE, 'lib/redis-node.mjs'), [], {
    env: { ...process.env, MODE: mode, REDIS_URL: redisUrl },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: PROFILE ? ['--cpu-prof', '--cpu-prof-dir', PROFILE] : [],
  });
  return new Promise((ok, fail) => {
    child.once('message', (m) =>
      ok({
        url: `ws://127.0.0.1:${m.port}`,
        mark: () => new Promise((done) => (child.once('message', done), child.send({ mark: true }))),
        // Resolves with the CPU ms the process spent since `mark()`.
        close: () =>
          new Promise((done) => {
            let cpu = 0;
            child.on('message', (x) => x?.cpu !== undefined && (cpu = x.cpu));
            child.once('exit', () => done(cpu));
            child.send({ close: true });
          }),
      }),
    );
    child.once('exit', (c) => fail(new Error(`server process exited (${c})`)));
  });
}

/** A reliable surewire client; resolves once open, with its session id. */
async function connect(url, onM) {
  const delivery = reliable();
  const client = new Surewire(url, { WebSocket, reliable: delivery, queue: { max: 1_000_000 }, reconnect: { initialDelay: 50 } });
  client.on('m', onM);
  await new Promise((ok) => client.connection.on('open', ok));
  return { client, delivery, session: delivery.session };
}

/**
 * Runs one case; resolves with messages per second (received by the clients, end to end) and the time.
 * `urls`: one per process; client i connects to urls[i % urls.length]; with `relay`, client 2j and 2j+1 are
 * partners (on different processes when there are two). First WARMUP messages per client, untimed (the
 * processes are fresh: without it, a run of under a second mostly measured their JIT warming up), then
 * `before()` (the CPU mark and Redis's counters), then the timed MESSAGES per client.
 */
async function run(urls, relay, before) {
  let got = 0;
  let want = 0;
  let done;
  const onM = () => ++got == want && done();
  const clients = [];
  for (let i = 0; i < CLIENTS; i++) clients.push(await connect(urls[i % urls.length], onM));
  const phase = async (n) => {
    got = 0;
    want = CLIENTS * n;
    const finished = new Promise((ok) => (done = ok));
    const started = performance.now();
    for (let k = 1; k <= n; k++)
      for (let i = 0; i < CLIENTS; i++) {
        const to = relay ? clients[i ^ 1].session : undefined;
        if (to) clients[i].client.send('m', k, to);
        else clients[i].client.send('m', k);
      }
    let timer;
    const timeout = new Promise((_, fail) => (timer = setTimeout(() => fail(new Error(`timeout: ${got} of ${want} received`)), 120_000)));
    // Cleared, or the process would stay up for the rest of the 120 s after its last case.
    await Promise.race([finished, timeout]).finally(() => clearTimeout(timer));
    const ms = performance.now() - started;
    await Promise.all(clients.map((c) => c.delivery.delivered()));
    return ms;
  };
  await phase(WARMUP);
  await before();
  const ms = await phase(MESSAGES);
  for (const c of clients) c.client.close();
  return { rate: (CLIENTS * MESSAGES) / (ms / 1000), ms };
}

/** Commands run by Redis since the last reset: [sent by clients, run in all, the sent ones by name]. */
async function commands(admin) {
  const info = await admin.info('commandstats');
  let sent = 0;
  let all = 0;
  const byName = {};
  // Commands a client sends itself; everything else counted here ran inside a script.
  const own = new Set(['evalsha', 'eval', 'xtrim', 'zrangebyscore', 'zremrangebyscore', 'subscribe']);
  for (const [, name, calls] of info.matchAll(/^cmdstat_(\w+(?:\|\w+)?):calls=(\d+)/gm)) {
    if (['info', 'config', 'client', 'hello', 'select', 'ping'].some((c) => name.startsWith(c))) continue;
    all += Number(calls);
    if (own.has(name)) (sent += Number(calls)), (byName[name] = Number(calls));
  }
  return [sent, all, byName];
}

/** Redis's own CPU time so far, in ms (INFO cpu: user + system, its main thread and the rest). */
async function redisCpu(admin) {
  const info = await admin.info('cpu');
  const get = (k) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return (get('used_cpu_user') + get('used_cpu_sys')) * 1000;
}

const redis = await startRedis();
const admin = new Redis(redis.url);
const cases = [
  { name: 'memory, 1 process, echo', mode: 'memory', procs: 1, relay: false },
  { name: 'redis, 1 process, echo', mode: 'redis', procs: 1, relay: false },
  { name: 'redis, 2 processes, relay', mode: 'redis', procs: 2, relay: true },
];
const results = new Map(cases.map((c) => [c.name, { rates: [], sent: [], all: [], byName: [], cpu: [], redisCpu: [] }]));
try {
  // This process's clients warm up too: one untimed run on the memory store before the first round (without
  // it, the first round's first case ran about a third slower than the same case later).
  {
    const node = await startNode('memory', redis.url);
    await run([node.url], false, async () => {});
    await node.close();
  }
  for (let round = 0; round < ROUNDS; round++) {
    // Rotated order, so that no case always runs first (or last) on a warm or tired machine.
    for (const c of [...cases.slice(round % cases.length), ...cases.slice(0, round % cases.length)]) {
      // Idle time first, as in the browser measures: the case before may still be winding down.
      await new Promise((ok) => setTimeout(ok, SETTLE_MS));
      const nodes = await Promise.all(Array.from({ length: c.procs }, () => startNode(c.mode, redis.url)));
      let redisBefore;
      const r = await run(
        nodes.map((n) => n.url),
        c.relay,
        async () => {
          await Promise.all(nodes.map((n) => n.mark()));
          await admin.config('RESETSTAT');
          redisBefore = await redisCpu(admin);
        },
      );
      const redisAfter = await redisCpu(admin);
      const [sent, all, byName] = await commands(admin);
      const res = results.get(c.name);
      res.byName.push(byName);
      res.rates.push(r.rate);
      res.sent.push(sent / (CLIENTS * MESSAGES));
      res.all.push(all / (CLIENTS * MESSAGES));
      // The server processes' CPU per message (µs), clients' and Redis's not included.
      const cpu = (await Promise.all(nodes.map((n) => n.close()))).reduce((a, b) => a + b, 0);
      res.cpu.push((cpu * 1000) / (CLIENTS * MESSAGES));
      res.redisCpu.push(((redisAfter - redisBefore) * 1000) / (CLIENTS * MESSAGES));
      await admin.flushall();
    }
  }
  const data = {
    date: new Date().toISOString(),
    node: process.version,
    rounds: ROUNDS,
    clients: CLIENTS,
    messages: MESSAGES,
    cases: cases.map((c) => ({ ...c, ...results.get(c.name) })),
  };
  console.log(`\n${redisMarkdown(data)}`);
  if (JSON_FILE) writeFileSync(JSON_FILE, JSON.stringify(data, null, 1) + '\n');
} finally {
  admin.disconnect();
  redis.stop();
}
