// Types of spawn.mjs, for the tests that start the seed servers (the module itself is plain JavaScript).
import type { ChildProcess } from 'node:child_process';

export interface SeedServerInfo {
  /** The server's file (absolute). */
  file: string;
  /** The variable `npm start` reads its port from. */
  env: 'SEED_WS_PORT' | 'SEED_IO_PORT';
  /** Its default port. */
  port: number;
  /** The demo page that talks to it. */
  page: string;
}

export const seedServers: { ws: SeedServerInfo; 'socket.io': SeedServerInfo };

export function portIsFree(port: number): Promise<boolean>;

export interface SeedServer {
  port: number;
  child: ChildProcess;
  /** Resolves when the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Ends the process (SIGTERM, SIGKILL after 2 s); resolves when it has. */
  stop(): Promise<void>;
}

export function startSeedServer(
  file: string,
  options: { port: number; onLine?: (line: string, stream: 'stdout' | 'stderr') => void; timeout?: number },
): Promise<SeedServer>;

export function startSeedServers(options?: {
  env?: Record<string, string | undefined>;
  log?: Pick<Console, 'log' | 'warn' | 'error'>;
  origin?: string;
}): Promise<{ stop(): Promise<void> }>;
