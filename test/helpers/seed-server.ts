// The seed chat's servers (examples/seed/), unchanged, as child processes on free ports, for the Node and the
// browser tests: everything they print is kept, and the `received: …` lines they log are read back.
import { freePort } from './ports';
import { seedServers, startSeedServer, type SeedServer } from '../../examples/seed/spawn.mjs';

export { freePort };

/** The heartbeat's ping as the server logs it. */
export const PING = '["ping"]';
/** What the servers send each connection. */
export const GREETING = 'Hello World!';

export type SeedKind = keyof typeof seedServers;

/** A port nothing listens on now (bound on every interface, as the seed servers bind, then released). */

/** One seed server, with everything it printed (across restarts). */
export interface Seed {
  kind: SeedKind;
  port: number;
  /** `ws://127.0.0.1:<port>` or `http://127.0.0.1:<port>`. */
  url: string;
  stdout: string[];
  stderr: string[];
  /** The text of each `received: …` line, in order. */
  received(): string[];
  /** The same without the heartbeat's pings: what clients sent. */
  texts(): string[];
  pings(): number;
  /** Ends the process (the server goes down); `start()` runs the same file again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** Starts the `kind` seed server on a free port; resolves once it accepts connections. */
export async function startSeed(kind: SeedKind): Promise<Seed> {
  const port = await freePort();
  const stdout: string[] = [];
  const stderr: string[] = [];
  let server: SeedServer | undefined;
  const s: Seed = {
    kind,
    port,
    url: `${kind == 'ws' ? 'ws' : 'http'}://127.0.0.1:${port}`,
    stdout,
    stderr,
    received: () => stdout.filter((l) => l.startsWith('received: ')).map((l) => l.slice('received: '.length)),
    texts: () => s.received().filter((t) => t != PING),
    pings: () => s.received().filter((t) => t == PING).length,
    stop: async () => {
      await server?.stop();
      server = undefined;
    },
    start: async () => {
      server = await startSeedServer(seedServers[kind].file, { port, onLine: (line, stream) => void (stream == 'stdout' ? stdout : stderr).push(line) });
    },
  };
  await s.start();
  return s;
}

/** 100 lines as a user might type them: accents, scripts, emoji, HTML, format specifiers, JSON, spaces, a tab. */
const samples = [
  'hello server!',
  'héllo wörld',
  '日本語のテキスト',
  'emoji 🎉👍🏽',
  '<b>bold</b> & <img src=x onerror="window.__pwned=1">',
  '%s %d %o %% %j',
  '  spaces before and after  ',
  '["message","not an envelope"]',
  '{"type":"say","payload":1}',
  'a\ttab',
  'back\\slash and "quotes"',
];
export const hundred = Array.from({ length: 100 }, (_, i) => `${samples[i % samples.length]} #${i + 1}`);

/** What a seed server printed besides `received: …` lines, on either stream: nothing is expected. */
export const otherOutput = (s: Seed): string[] => [...s.stdout.filter((l) => !l.startsWith('received: ')), ...s.stderr];
