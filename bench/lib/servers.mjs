// The servers the benchmark talks to, all on 127.0.0.1 (ephemeral ports), in the benchmark's Node process:
//
//   page     HTTP: the page (bench/page/) and the contenders' bundles, with COOP/COEP headers so the page is
//            cross-origin isolated (performance.now() then has 5 µs resolution instead of 100 µs).
//   echo     a plain `ws` server: answers 'ping' with 'pong' (surewire's heartbeat), terminates the connection
//            on the frame ["__kill",…] (the reconnect measure), and echoes every other frame back as it came.
//   reliable a `ws` server speaking the reliable-delivery protocol through `reliable()` from
//            dist/surewire.server.mjs; its app echoes each client message back with `server.send`
//            (so the echo is itself a reliable server→client message), and terminates the connection on __kill.
//   io       a socket.io server: echoes every event back with `socket.emit`, terminates the transport's
//            TCP connection on __kill.
//   dead     a port that was listened on and closed: connections are refused (the memory measure's "offline").
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WebSocketServer } from 'ws';
import { Server as IoServer } from 'socket.io';

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8' };
const KILL = Buffer.from('["__kill"');

/** The echo server's handling of one frame on `ws` (also driven directly by the server-cost measure). */
export function echoFrame(ws, data, isBinary, stats) {
  if (!isBinary && data.length == 4 && data.toString() == 'ping') return ws.send('pong');
  if (!isBinary && data.length >= KILL.length && data.subarray(0, KILL.length).equals(KILL)) return stats.kills++, ws.terminate();
  stats.echoFrames++;
  ws.send(data, { binary: isBinary });
}

/**
 * The reliable server's app: echoes each client message back with `server.send` (not awaited: the echo goes
 * out as soon as it is appended, and the session's next message need not wait for it), and terminates the
 * session's connection on `__kill`. `sockets`: the live `ws` sockets, to find a session's.
 */
export function reliableEcho(reliable, stats, sockets = new Set()) {
  const server = reliable({
    onMessage(session, event, ...args) {
      if (event == '__kill') {
        stats.kills++;
        for (const ws of sockets) if (server.session(ws) == session) ws.terminate();
        return;
      }
      stats.reliableMessages++;
      server.send(session, event, ...args).catch((e) => stats.errors.push(`reliable send: ${e}`));
    },
    onError: (e) => stats.errors.push(`reliable: ${e?.stack ?? e}`),
  });
  return server;
}

const listen = (server) =>
  new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok(server.address().port));
  });

async function wsServer() {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise((ok, fail) => (wss.once('listening', ok), wss.once('error', fail)));
  return wss;
}

/**
 * One more reliable echo server, with other settings, for bench/why-reliable.mjs: `ackDelay` (the server's
 * acknowledgement batching), and `cork` (the experiment: the socket is corked at the first send of a tick and
 * uncorked on the next `setImmediate`, so the echoes of one tick leave in one write). Resolves with its URL.
 */
export async function startReliableVariant(reliable, { ackDelay, cork }, stats) {
  const wss = await wsServer();
  const server = reliableEcho((o) => reliable({ ...o, ...(ackDelay == null ? {} : { ackDelay }) }), stats);
  wss.on('connection', (ws) => {
    if (cork) {
      const socket = ws._socket;
      const send = ws.send.bind(ws);
      let corked = false;
      ws.send = (data, options, cb) => {
        if (!corked) {
          corked = true;
          socket.cork();
          setImmediate(() => {
            corked = false;
            socket.uncork();
          });
        }
        return send(data, options, cb);
      };
    }
    server.ws(ws);
  });
  return `ws://127.0.0.1:${wss.address().port}/reliable`;
}

/**
 * @param {object} o
 * @param {string} o.pageDir      directory served at /
 * @param {Map<string,string>} o.bundles  '/b/<name>.js' -> code
 * @param {string} o.serverModule path of dist/surewire.server.mjs
 */
export async function startServers({ pageDir, bundles, serverModule }) {
  const stats = { echoFrames: 0, reliableMessages: 0, ioEvents: 0, kills: 0, errors: [] };

  // --- page ---------------------------------------------------------------------------------------------
  const http = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const headers = {
      'Cache-Control': 'no-store',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
    };
    if (path == '/favicon.ico') return res.writeHead(204, headers).end();
    if (bundles.has(path)) return res.writeHead(200, { ...headers, 'Content-Type': TYPES['.js'] }).end(bundles.get(path));
    const file = resolve(pageDir, '.' + (path == '/' ? '/index.html' : path));
    const type = TYPES[extname(file)];
    if (!file.startsWith(pageDir + sep) || !type) return res.writeHead(404, headers).end();
    try {
      res.writeHead(200, { ...headers, 'Content-Type': type }).end(await readFile(file));
    } catch {
      res.writeHead(404, headers).end();
    }
  });
  const pagePort = await listen(http);

  // --- echo (plain ws) ----------------------------------------------------------------------------------
  const echo = await wsServer();
  echo.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => echoFrame(ws, data, isBinary, stats));
  });

  // --- reliable (ws + surewire/server) ------------------------------------------------------------------
  const { reliable } = await import(pathToFileURL(serverModule).href);
  const rwss = await wsServer();
  const sockets = new Set();
  const server = reliableEcho(reliable, stats, sockets);
  rwss.on('connection', (ws) => {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    server.ws(ws);
  });

  // --- socket.io ----------------------------------------------------------------------------------------
  const ioHttp = createServer();
  const io = new IoServer(ioHttp, { transports: ['websocket', 'polling'], perMessageDeflate: false, serveClient: false });
  io.on('connection', (socket) => {
    socket.onAny((event, ...args) => {
      if (event == '__kill') {
        stats.kills++;
        // The TCP connection under the WebSocket transport, cut as a crashed server would.
        const raw = socket.conn.transport?.socket;
        return typeof raw?.terminate == 'function' ? raw.terminate() : socket.conn.close();
      }
      stats.ioEvents++;
      socket.emit(event, ...args);
    });
  });
  const ioPort = await listen(ioHttp);

  // --- dead: a port nobody listens on -------------------------------------------------------------------
  const tmp = createServer();
  const deadPort = await listen(tmp);
  await new Promise((ok) => tmp.close(ok));

  const origin = `http://127.0.0.1:${pagePort}`;
  return {
    reliable,
    origin,
    urls: {
      echo: `ws://127.0.0.1:${echo.address().port}/echo`,
      echoHostPort: `127.0.0.1:${echo.address().port}`,
      reliable: `ws://127.0.0.1:${rwss.address().port}/reliable`,
      io: `http://127.0.0.1:${ioPort}`,
      deadWs: `ws://127.0.0.1:${deadPort}/echo`,
      deadHostPort: `127.0.0.1:${deadPort}`,
      deadIo: `http://127.0.0.1:${deadPort}`,
    },
    stats,
    connections: () => ({ echo: echo.clients.size, reliable: rwss.clients.size, io: io.engine.clientsCount }),
    async close() {
      await server.close();
      for (const c of echo.clients) c.terminate();
      for (const c of rwss.clients) c.terminate();
      await new Promise((ok) => echo.close(ok));
      await new Promise((ok) => rwss.close(ok));
      await new Promise((ok) => io.close(() => ok()));
      http.closeAllConnections();
      await new Promise((ok) => http.close(ok));
    },
  };
}

/**
 * The servers' own cost per message, without the network: the echo server's handler, and the reliable
 * server (`reliable()` with its memory store, through its `ws` adapter), each driven with a fake `ws` socket
 * that only counts what it is asked to send. `n` client messages (in chunks of `chunk`, the reliable ones
 * acknowledged by the fake client after each chunk, as the real one does every 20 ms), until all `n` echoes
 * were sent. CPU time of this process per message, in µs; the median of `reps` runs.
 */
export async function serverCost(reliable, { n, chunk, reps }) {
  const fake = () => {
    const h = {};
    return {
      h,
      readyState: 1,
      sent: 0,
      echoes: 0,
      send(d) {
        this.sent++;
        if (typeof d != 'string' || d.startsWith('["$m"') || d.startsWith('["echo"')) this.echoes++;
      },
      close() {
        this.readyState = 3;
        h.close?.();
      },
      terminate() {
        this.close();
      },
      on(event, fn) {
        h[event] = fn;
        return this;
      },
    };
  };
  const payload = (i) => ({ n: i, t: 'hello' });
  const plainFrames = Array.from({ length: n }, (_, i) => Buffer.from(JSON.stringify(['echo', payload(i)])));
  const relFrames = Array.from({ length: n }, (_, i) => Buffer.from(JSON.stringify(['$m', i + 1, 'echo', payload(i)])));
  const cpu = () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  const tick = () => new Promise((r) => setImmediate(r));
  const stats = { echoFrames: 0, reliableMessages: 0, kills: 0, errors: [] };

  const plain = [];
  const rel = [];
  for (let r = 0; r < reps; r++) {
    // plain echo
    let ws = fake();
    const c0 = cpu();
    for (let i = 0; i < n; i++) echoFrame(ws, plainFrames[i], false, stats);
    plain.push((cpu() - c0) / n);

    // reliable: hello, welcome, then the messages
    const server = reliableEcho(reliable, stats);
    ws = fake();
    server.ws(ws);
    // A session id of 22 characters or more: a server without a principal check refuses shorter ones.
    ws.h.message(Buffer.from(`["$hello","bench-cost-${r}-${'x'.repeat(22)}",0,false]`), false);
    while (ws.sent < 1 && ws.readyState == 1) await tick();
    if (ws.readyState != 1) throw new Error('server cost: the reliable server closed the $hello');
    const c1 = cpu();
    for (let i = 0; i < n; i += chunk) {
      const end = Math.min(n, i + chunk);
      for (let k = i; k < end; k++) ws.h.message(relFrames[k], false);
      while (ws.echoes < end) await tick();
      ws.h.message(Buffer.from(`["$ack",${end}]`), false);
    }
    rel.push((cpu() - c1) / n);
    ws.close();
    await server.close();
  }
  if (stats.errors.length) throw new Error(`server cost: ${stats.errors[0]}`);
  return { plain: Math.min(...plain), reliable: Math.min(...rel) };
}
