// Starts the servers' process (server-process.mjs) and talks to it over IPC.
import { fork } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The servers (lib/servers.mjs) in a child process of their own: see lib/server-process.mjs for why. */
export async function spawnServers(init) {
  const child = fork(resolve(HERE, 'server-process.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let seq = 0;
  const waiting = new Map();
  const exited = new Promise((ok) => child.once('exit', (code, signal) => ok(code ?? signal)));
  // A send after the child is gone rejects its request (exited, above) instead of crashing the bench.
  child.on('error', () => {});
  exited.then((code) => {
    for (const { reject } of waiting.values()) reject(new Error(`bench: the server process exited (${code})`));
    waiting.clear();
  });
  child.on('message', (m) => {
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.error) w.reject(new Error(`bench: server process: ${m.error}`));
    else w.resolve(m.value);
  });
  const ask = (kind, args = {}) =>
    new Promise((resolve, reject) => {
      const id = ++seq;
      waiting.set(id, { resolve, reject });
      child.send({ id, kind, ...args });
    });
  const { origin, urls } = await ask('start', init);
  return {
    origin,
    urls,
    pid: child.pid,
    cpu: () => ask('cpu'),
    stats: () => ask('stats'),
    serverCost: (options) => ask('serverCost', { options }),
    /** Extra reliable servers with other settings (why-reliable.mjs): [{ name, ackDelay, cork }] -> { name: url } */
    variants: (list) => ask('variants', { list }),
    profileStart: () => ask('profileStart'),
    profileStop: () => ask('profileStop'),
    async close() {
      if (child.exitCode != null) return;
      const t = setTimeout(() => child.kill(), 3000);
      await ask('close').catch(() => {});
      await exited;
      clearTimeout(t);
    },
  };
}
