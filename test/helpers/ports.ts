// A loopback port that nothing listens on (a moment ago): for servers a test starts itself, or to be refused.
import { createServer } from 'node:http';

/** Asks the OS for a free port on 127.0.0.1, then frees it. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => s.once('error', reject).listen(0, '127.0.0.1', () => resolve()));
  const { port } = s.address() as { port: number };
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
