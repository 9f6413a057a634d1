// One server process of bench/redis.mjs: a `ws` server speaking surewire's reliable protocol through
// `reliable()` from dist/, on the memory store (MODE=memory) or on `redisStore` (MODE=redis, REDIS_URL).
// Its app sends each client message `['m', k, to]` back reliably with `server.send(to ?? session, 'm', k)`:
// to its own session (an echo) or to another session, possibly held by another process (a relay).
// As in the main bench's reliable server, the handler does not wait for its `send` (a handler that returns
// the promise makes the session's next message wait for the append's round trip).
// It tells its port over IPC ({ port }) and closes on { close: true }.
import { WebSocketServer } from 'ws';
import { Redis } from 'ioredis';
import { memoryStore, reliable } from '../../dist/surewire.server.mjs';
import { redisStore } from '../../dist/surewire.server.redis.mjs';

const redis = process.env.MODE == 'redis';
const client = redis ? new Redis(process.env.REDIS_URL, { autoResendUnfulfilledCommands: false }) : undefined;
const store = redis ? redisStore(client) : memoryStore();
const server = reliable({
  store,
  onMessage: (session, event, k, to) => void server.send(to ?? session, 'm', k).catch((e) => console.error('bench redis-node: send:', e)),
  onError: (e) => console.error('bench redis-node:', e),
});
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 1 << 20 });
wss.on('connection', (ws) => server.ws(ws));
wss.on('listening', () => process.send({ port: wss.address().port }));
// CPU time from `{ mark: true }` (sent before a run) to `{ close: true }`: what the messages cost this process,
// a figure less shaken by a busy machine than the rate.
let mark = process.cpuUsage();
process.on('message', async (m) => {
  if (m?.mark) return void ((mark = process.cpuUsage()), process.send({ marked: true }));
  if (!m?.close) return;
  const { user, system } = process.cpuUsage(mark);
  process.send({ cpu: (user + system) / 1000 });
  await server.close();
  wss.close();
  await store.close?.();
  client?.disconnect();
  process.exit(0);
});
