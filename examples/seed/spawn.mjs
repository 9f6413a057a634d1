// The seed chat's two servers as child processes, for the demo (`npm start`: examples/server/index.mjs) and
// the tests: `node <file>` with `PORT` set, each line it prints handed on, and stopped with its parent.
import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const here = (file) => fileURLToPath(new URL(file, import.meta.url));

/** The two servers: the file, the variable the demo reads its port from, its default port, and its page. */
export const seedServers = {
  ws: { file: here('./server.cjs'), env: 'SEED_WS_PORT', port: 8080, page: '/seed/' },
  'socket.io': { file: here('./socket.io-server.cjs'), env: 'SEED_IO_PORT', port: 8081, page: '/seed/socket.io.html' },
};

/** Whether `port` can be listened on, on every interface, as both servers listen. */
export const portIsFree = (port) =>
  new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, () => s.close(() => resolve(true)));
  });

/** Whether something accepts a TCP connection on 127.0.0.1:`port` now. */
const accepts = (port) =>
  new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

/**
 * Starts `node <file>` with `PORT=<port>`. `onLine(line, stream)` gets each line it prints (`stream`:
 * 'stdout' or 'stderr'). The servers print nothing when they listen, so this polls the port: it resolves
 * once the server accepts connections, and rejects when the process exits first (with what it said on
 * stderr) or does not listen within `timeout` ms (then it is killed).
 * Resolves with `{ port, child, exited, stop() }`: `exited` resolves with `{ code, signal }` when the process
 * ends; `stop()` ends it (SIGTERM, SIGKILL after 2 s) and resolves when it has.
 */
export async function startSeedServer(file, { port, onLine = () => {}, timeout = 5000 }) {
  const child = spawn(process.execPath, [file], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  // A parent that exits (an error, a test run that ends) leaves no server holding the port.
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      process.off('exit', kill);
      resolve({ code, signal });
    }),
  );
  let errors = '';
  for (const stream of ['stdout', 'stderr']) {
    let rest = '';
    child[stream].setEncoding('utf8');
    child[stream].on('data', (chunk) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop();
      for (const line of lines) {
        if (stream == 'stderr') errors += line + '\n';
        onLine(line, stream);
      }
    });
    child[stream].on('end', () => rest && onLine(rest, stream));
  }
  const stop = async () => {
    if (child.exitCode == null && child.signalCode == null) {
      child.kill('SIGTERM');
      const force = setTimeout(kill, 2000);
      await exited;
      clearTimeout(force);
    }
  };
  let ended;
  exited.then(() => (ended = true));
  for (const started = Date.now(); !(await accepts(port)); ) {
    if (ended) throw new Error(`${file} exited before it listened on port ${port}${errors ? `:\n${errors}` : ''}`);
    if (Date.now() - started > timeout) {
      await stop();
      throw new Error(`${file} did not listen on port ${port} within ${timeout} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return { port, child, exited, stop };
}

/**
 * What `npm start` runs beside the demo: both seed servers, each on the port its variable names (default
 * 8080 and 8081), their output forwarded to `log.log` with a prefix. A server that cannot start (its port is
 * taken, the variable is not a port) is skipped with a warning: the demo goes on without it.
 * Resolves with `stop()`, which ends both and resolves when they have.
 */
export async function startSeedServers({ env = process.env, log = console, origin = 'http://localhost:3000' } = {}) {
  let stopping = false;
  const running = [];
  await Promise.all(
    Object.entries(seedServers).map(async ([name, s]) => {
      const what = `the seed chat's ${name} server (examples/seed/${s.file.split(/[\\/]/).pop()})`;
      const raw = env[s.env];
      const port = raw ? Number(raw) : s.port;
      if (!(Number.isInteger(port) && port >= 1 && port <= 65535))
        return log.warn(`surewire demo: ${s.env}=${raw} is not a port (1–65535): ${what} is not started.`);
      if (!(await portIsFree(port)))
        return log.warn(
          `surewire demo: port ${port} is taken, so ${what} is not started and ${s.page} cannot connect. Stop what uses the port, or set ${s.env} to a free one and open ${s.page}?port=<it>.`,
        );
      const prefix = `[seed ${name}] `;
      try {
        const server = await startSeedServer(s.file, { port, onLine: (line, stream) => (stream == 'stderr' ? log.error : log.log)(prefix + line) });
        running.push(server);
        server.exited.then(({ code, signal }) => stopping || log.warn(`surewire demo: ${what} ended (code ${code}, signal ${signal}).`));
        log.log(`${prefix}listening on port ${port}: ${origin}${s.page}${port == s.port ? '' : `?port=${port}`}`);
      } catch (e) {
        log.warn(`surewire demo: ${what} did not start: ${e.message}`);
      }
    }),
  );
  return {
    stop: () => ((stopping = true), Promise.all(running.map((s) => s.stop())).then(() => {})),
  };
}
