// "Why": CPU profiles of the throughput measure, on both sides of the wire.
//
// - The page (CDP Profiler, 50 µs sampling), with the unminified bundles so functions keep their names. Its
//   main thread's time is cut into: the contender's own code, the bench's code (the app: building payloads,
//   counting echoes), native calls (WebSocket.send, JSON builtins, bindings), garbage collection,
//   "(program)" (the browser's own work on the main thread: IPC, task scheduling, event creation) and idle
//   (waiting for the network, the other processes, the server).
// - The servers' process (node:inspector Profiler, 100 µs sampling), cut into: surewire/server's code, the
//   `ws` and socket.io libraries, the bench's echo code, Node's internals (streams, net, async hooks),
//   native work (the writev syscall and other C++), garbage collection, idle.
import { CdpPage } from './cdp.mjs';

const PAGE_CATEGORIES = ['library', 'bench', 'native', 'gc', 'program', 'idle'];
const SERVER_CATEGORIES = ['surewire/server', 'ws / socket.io', 'bench', 'node', 'native', 'gc', 'program', 'idle'];

function special(fn) {
  if (fn == '(idle)') return 'idle';
  if (fn == '(garbage collector)') return 'gc';
  if (fn == '(program)') return 'program';
  if (fn == '(root)') return null;
  return undefined;
}

function pageCategory({ functionName: fn, url }) {
  const s = special(fn);
  if (s !== undefined) return s;
  if (/\/[bd]\/[^/]+\.js$/.test(url)) return 'library';
  if (/\/(harness|adapters)\.js$/.test(url)) return 'bench';
  return 'native';
}

export function serverCategory({ functionName: fn, url }) {
  const s = special(fn);
  if (s !== undefined) return s;
  if (/surewire\.server\.mjs$/.test(url)) return 'surewire/server';
  if (/node_modules\/(ws|socket\.io|engine\.io|socket\.io-parser|socket\.io-adapter)\//.test(url)) return 'ws / socket.io';
  if (/\/bench\//.test(url)) return 'bench';
  if (url.startsWith('node:') || url.startsWith('internal')) return 'node';
  if (!url) return 'native';
  return 'node';
}

const shortUrl = (url) =>
  url
    .replace(/^https?:\/\/[^/]+/, '')
    .replace(/^file:\/\/.*?\/node_modules\//, '')
    .replace(/^file:\/\/.*?\/(dist|bench)\//, '$1/');

/** Self time per category and per function of one CPU profile, in µs per message. */
export function analyse(profile, n, categorize = pageCategory, order = PAGE_CATEGORIES) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    const dt = i + 1 < timeDeltas.length ? timeDeltas[i + 1] : 0;
    self.set(samples[i], (self.get(samples[i]) ?? 0) + dt);
  }
  const categories = Object.fromEntries(order.map((c) => [c, 0]));
  const functions = new Map();
  let total = 0;
  for (const [id, us] of self) {
    const { callFrame } = nodes.get(id);
    const cat = categorize(callFrame);
    if (!cat) continue;
    total += us;
    categories[cat] += us;
    const file = callFrame.url ? shortUrl(callFrame.url) : '';
    const key = `${callFrame.functionName || '(anonymous)'}|${file}|${file ? callFrame.lineNumber + 1 : ''}`;
    const f = functions.get(key) ?? { name: callFrame.functionName || '(anonymous)', file, line: file ? callFrame.lineNumber + 1 : null, category: cat, us: 0 };
    f.us += us;
    functions.set(key, f);
  }
  const busy = total - categories.idle;
  const perMessage = Object.fromEntries(Object.entries(categories).map(([c, us]) => [c, us / n]));
  const top = [...functions.values()]
    .filter((f) => f.category != 'idle')
    .sort((a, b) => b.us - a.us)
    .slice(0, 14)
    .map(({ us, ...f }) => ({ ...f, usPerMessage: us / n, share: us / busy }));
  return { busyShare: busy / total, perMessage, busyPerMessage: busy / n, wallPerMessage: total / n, top };
}

/**
 * Profiles the throughput measure of each contender in `ids` in one fresh page (served with ?dev), the page
 * and the servers' process at once. Returns { [id]: { n, rate, page, server } }.
 */
export async function profileContenders({ port, servers, urls, ids, n, win }) {
  const page = await CdpPage.open(port, `${servers.origin}/?dev`);
  try {
    await page.eval('new Promise((ok) => { const t = () => (window.bench ? ok() : setTimeout(t, 10)); t(); })');
    await page.call('load', ids);
    const cdp = page.session;
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 50 });
    const out = {};
    for (const id of ids) {
      const run = (count) => page.call('throughput', id, urls, { n: count, win, timeout: 120_000 });
      await run(Math.min(10_000, n));
      await servers.profileStart();
      await cdp.send('Profiler.start');
      const res = await run(n);
      const { profile } = await cdp.send('Profiler.stop');
      const serverProfile = await servers.profileStop();
      out[id] = {
        n,
        rate: res.rate,
        page: analyse(profile, n),
        server: analyse(serverProfile, n, serverCategory, SERVER_CATEGORIES),
      };
    }
    return out;
  } finally {
    await page.close();
  }
}
