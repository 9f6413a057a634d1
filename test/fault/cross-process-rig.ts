// The cross-process rig, shared by the fault suite (cross-process.test.ts) and the Chromium case
// (test/browser/redis.spec.ts): server processes (cross-process-node.mjs) on one Redis, each behind a TCP
// proxy, killed (SIGKILL) and started again on the same port; and the log they write as they hand messages over.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';

const NODE = fileURLToPath(new URL('./cross-process-node.mjs', import.meta.url));

/** Throws a clear error when the build the server processes load is missing. */
export function needBuild(): void {
  if (!existsSync(fileURLToPath(new URL('../../dist/surewire.server.redis.mjs', import.meta.url))))
    throw new Error('dist/surewire.server.redis.mjs is missing: run `npm run build` (the server processes load dist/)');
}

/** A server process, killed and started again on the same port. */
export class Node {
  proc: ChildProcess | undefined;
  port = 0;
  proxy!: TcpProxy;
  /** Pids of this node's processes that were killed. */
  readonly killed = new Set<number>();
  constructor(
    readonly redisUrl: string,
    readonly log: string,
    readonly history: number,
  ) {}

  get up(): boolean {
    return !!this.proc && this.proc.exitCode == null && this.proc.signalCode == null;
  }

  async start(): Promise<void> {
    const proc = fork(NODE, [], {
      env: { ...process.env, REDIS_URL: this.redisUrl, LOG: this.log, PORT: String(this.port), HISTORY: String(this.history) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.proc = proc;
    const { port } = await new Promise<{ port: number }>((resolve, reject) => {
      proc.once('message', (m) => resolve(m as { port: number }));
      proc.once('exit', (code) => reject(new Error(`server process exited (${code}) before listening`)));
    });
    this.port = port;
    this.proxy ??= await startTcpProxy({ port });
  }

  async kill(): Promise<void> {
    const p = this.proc;
    if (!p || !this.up) return;
    this.killed.add(p.pid!);
    const exited = new Promise((resolve) => p.once('exit', resolve));
    p.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    await this.proxy?.close();
  }
}

/**
 * The handler log: `h` lines of the session in order (as [pid, n]), `a` lines as pid → numbers claimed, `c`
 * lines as pid → the highest number it committed, and where (in `handled`) the test wrote its 'R' (Redis
 * about to be killed) and 'S' (started again) markers.
 */
export function readLog(
  file: string,
  session: string,
): { handled: [number, number][]; stored: Map<number, Set<number>>; committed: Map<number, number>; killAt: number; backAt: number } {
  const handled: [number, number][] = [];
  const stored = new Map<number, Set<number>>();
  const committed = new Map<number, number>();
  let killAt = -1;
  let backAt = -1;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [kind, pid, s, n] = line.split(' ');
    if (kind == 'R') killAt = handled.length;
    if (kind == 'S') backAt = handled.length;
    if (s != session) continue;
    if (kind == 'h') handled.push([Number(pid), Number(n)]);
    else if (kind == 'c') committed.set(Number(pid), Math.max(committed.get(Number(pid)) ?? 0, Number(n)));
    else if (kind == 'a') {
      let s = stored.get(Number(pid));
      if (!s) stored.set(Number(pid), (s = new Set()));
      s.add(Number(n));
    }
  }
  return { handled, stored, committed, killAt, backAt };
}

