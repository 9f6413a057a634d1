// One server process of the cross-process fault suite (cross-process.test.ts) and of the Chromium case
// (test/browser/redis.spec.ts): a `ws` server on 127.0.0.1 speaking surewire's reliable protocol through
// `reliable()` from dist/, on `redisStore` (REDIS_URL). It is killed with SIGKILL and started again on the same
// PORT by the test.
//
// Every client message handed to the app is written to the LOG file (opened with O_APPEND by every process,
// so the lines of all processes are in one order: the order the handlers ran in), with a write that returns
// only once the kernel has the line: a SIGKILL after it loses nothing of the record. The store claims a
// number before the handler runs and commits it after (docs/redis.md); the log says both, so that the suite
// can tell the one case where a message may be handed over twice (a process killed after its handler ran and
// before its commit reached Redis) from any other:
//   a <pid> <session> <n>      this process is claiming n (its accept went out)
//   h <pid> <session> <n>      n was handed to onMessage here
//   c <pid> <session> <n>      Redis has this process's commit: every number up to n was handed over here
// The claims' lease is LEASE ms (short, so that a client whose messages a killed process claimed waits little).
// It tells the test its port over IPC ({ port }) once it listens.
import { openSync, writeSync } from 'node:fs';
import { WebSocketServer } from 'ws';
import { Redis } from 'ioredis';
import { reliable } from '../../dist/surewire.server.mjs';
import { redisStore } from '../../dist/surewire.server.redis.mjs';

const log = openSync(process.env.LOG, 'a');
const line = (text) => writeSync(log, `${text}\n`);
const client = new Redis(process.env.REDIS_URL, { autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 1 });
client.on('error', () => {});
const inner = redisStore(client, { history: Number(process.env.HISTORY) || 1000, lease: Number(process.env.LEASE) || 1000 });
const store = {
  ...inner,
  accept(id, n) {
    line(`a ${process.pid} ${id} ${n}`);
    return inner.accept(id, n);
  },
  handled(id, n) {
    const p = inner.handled(id, n);
    p.then(
      () => line(`c ${process.pid} ${id} ${n}`),
      () => {},
    );
    return p;
  },
};
const server = reliable({
  store,
  onMessage: (session, event, n) => void (event == 'm' && line(`h ${process.pid} ${session} ${n}`)),
  // Store failures while Redis restarts, and takeovers, are expected here: the test counts closes, not these.
  onError: () => {},
});
const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.env.PORT) || 0, maxPayload: 1 << 20 });
wss.on('connection', (ws) => server.ws(ws));
wss.on('listening', () => process.send?.({ port: wss.address().port }));
process.on('disconnect', () => process.exit(0));
