// A real redis-server (Debian's /usr/bin/redis-server) for the tests: on 127.0.0.1, a free port, persistence
// off (`--save '' --appendonly no`), in a temp directory, stopped after. `restart()` kills it (SIGKILL: what
// it held is gone, as after a crash without persistence) and starts a new one on the same port.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { freePort } from './ports';

export { freePort };

export const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

/** A port that was free a moment ago (the OS picks it). */

export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** A new ioredis client to this server (closed by `stop()` if still open). */
  client(options?: RedisOptions): Redis;
  /** Kills the server (SIGKILL: everything it held is lost) and starts a fresh one on the same port. */
  restart(): Promise<void>;
  /** Kills the server, without starting it again (`start()` does). */
  kill(): Promise<void>;
  /** Starts the server again after `kill()`, on the same port. */
  start(): Promise<void>;
  /** Closes the clients made by `client()`, stops the server and removes its directory. */
  stop(): Promise<void>;
}

/** Starts a redis-server on a free loopback port; resolves once it answers. */
export async function startRedis(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'surewire-redis-'));
  const clients = new Set<Redis>();
  let proc: ChildProcess | undefined;
  let port = 0;
  let log = '';

  const launch = async (): Promise<void> => {
    // A port found free can be taken before redis binds it: try a few.
    for (let attempt = 0; ; attempt++) {
      const p = port || (await freePort());
      const child = spawn(
        REDIS_SERVER,
        ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'no'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      log = '';
      child.stdout!.on('data', (d: Buffer) => void (log = (log + d.toString()).slice(-4000)));
      child.stderr!.on('data', (d: Buffer) => void (log = (log + d.toString()).slice(-4000)));
      const ready = await new Promise<boolean>((resolve) => {
        const onData = (): void => void (/Ready to accept connections/.test(log) && resolve(true));
        child.stdout!.on('data', onData);
        child.once('exit', () => resolve(false));
        child.once('error', () => resolve(false));
      });
      if (ready) {
        proc = child;
        port = p;
        // A test run that ends without stop() (a hook timed out, the runner was killed) leaves no server behind.
        const reap = (): void => void child.kill('SIGKILL');
        process.once('exit', reap);
        child.once('exit', () => process.off('exit', reap));
        return;
      }
      if (attempt >= 4 || port) throw new Error(`redis-server did not start on port ${p}:\n${log}`);
    }
  };

  const kill = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode != null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill('SIGKILL');
    await exited;
  };

  await launch();
  return {
    get port() {
      return port;
    },
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    client(options = {}) {
      // ioredis's option types do not admit `exactOptionalPropertyTypes`' explicit undefined: hence the cast.
      const c = new Redis({ host: '127.0.0.1', port, ...options } as never);
      clients.add(c);
      c.once('end', () => clients.delete(c));
      // Connection errors are expected while a test restarts the server.
      c.on('error', () => {});
      return c;
    },
    async restart() {
      await kill();
      await launch();
    },
    kill,
    start: launch,
    async stop() {
      for (const c of clients) c.disconnect();
      clients.clear();
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls an async `check` every 20 ms until it resolves truthy; rejects after `timeout` ms naming `what`. */
export async function waitForAsync(check: () => Promise<unknown>, timeout: number, what: string): Promise<void> {
  const end = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`waitForAsync: ${what} not met within ${timeout} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
