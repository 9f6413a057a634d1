// The benchmark's servers (servers.mjs) in a process of their own, started by run.mjs with fork().
//
// Why a separate process: playwright-core turns on async hooks in the process that imports it, which makes
// every promise several times more expensive there (measured: 300k awaited promises, 19 ms before importing
// it, 56–124 ms after launching a browser). The reliable-delivery server is built on promises, so in the
// bench's own process it would pay a cost no real server pays. Here it runs in a plain Node process.
//
// Protocol (IPC): requests are { id, kind, ...args }, answered with { id, value } or { id, error }:
//   start { bundles: [[path, code], ...], pageDir, serverModule } -> { origin, urls }
//   cpu              -> this process's CPU time so far, µs
//   stats            -> the servers' counters and errors
//   serverCost { options } -> the server-cost measure (servers.mjs)
//   variants { list }  -> starts extra reliable servers with other settings (why-reliable.mjs), returns their URLs
//   profileStart / profileStop -> a CPU profile of this process (node:inspector), returned by profileStop
//   close            -> closes the servers and exits
import { Session } from 'node:inspector/promises';
import { serverCost, startReliableVariant, startServers } from './servers.mjs';

let servers;
let inspector;

const handlers = {
  async start(m) {
    servers = await startServers({ pageDir: m.pageDir, bundles: new Map(m.bundles), serverModule: m.serverModule });
    return { origin: servers.origin, urls: servers.urls };
  },
  cpu() {
    const u = process.cpuUsage();
    return u.user + u.system;
  },
  stats: () => ({ ...servers.stats, connections: servers.connections() }),
  serverCost: (m) => serverCost(servers.reliable, m.options),
  async variants(m) {
    const urls = {};
    for (const v of m.list) urls[v.name] = await startReliableVariant(servers.reliable, v, servers.stats);
    return urls;
  },
  async profileStart() {
    inspector ??= new Session();
    inspector.connect();
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.setSamplingInterval', { interval: 100 });
    await inspector.post('Profiler.start');
    return true;
  },
  async profileStop() {
    const { profile } = await inspector.post('Profiler.stop');
    await inspector.post('Profiler.disable');
    inspector.disconnect();
    return profile;
  },
  async close() {
    await servers?.close();
    setImmediate(() => process.exit(0));
    return true;
  },
};

process.on('message', async (m) => {
  try {
    process.send({ id: m.id, value: await handlers[m.kind](m) });
  } catch (e) {
    process.send({ id: m.id, error: String(e?.stack ?? e) });
  }
});
// The parent is gone (crashed, killed): do not linger.
process.on('disconnect', () => process.exit(0));
