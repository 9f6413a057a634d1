// The demo: one Node process serving every example page and three real-time endpoints on one port.
//   /ws          the chat over a native WebSocket, speaking surewire's reliable protocol (surewire/server)
//   /socket.io/  the same chat over socket.io (socket.io's default path)
//   /legacy      the "existing chat" of examples/existing-chat/: its own server, not reliable
// `npm start` builds surewire and the React/Vue pages, then runs this; PORT and HOST change where it listens.
// Run so, it also starts the seed chat's own servers (examples/seed/) as child processes, on SEED_WS_PORT and
// SEED_IO_PORT (default 8080 and 8081); `startServer()` alone starts none.
// With REDIS_URL set, the chat lives in that Redis: start several processes (PORT=3000, PORT=3001) and they are
// one chat (docs/redis.md).
import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
import { normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { Server as SocketIoServer } from 'socket.io';
import { staticFiles } from './static.mjs';
import { startSeedServers } from '../seed/spawn.mjs';

const at = (rel) => fileURLToPath(new URL(rel, import.meta.url));

/** The pages and files served, URL prefix → folder. Nothing else of the repository is served. */
const routes = {
  '/dist/': at('../../dist/'),
  '/common/': at('../common/'),
  '/cdn/': at('../cdn/'),
  '/esm/': at('../esm/'),
  '/socket.io/': at('../socket.io/'),
  '/existing-chat/': at('../existing-chat/'),
  '/react/': at('../react/'),
  '/vue/': at('../vue/'),
  '/seed/': at('../seed/'),
  '/share/': at('../share/'),
};
const files = { '/': at('../index.html'), '/index.html': at('../index.html') };
// The pages that prove surewire needs no inline script and no eval get the strict policy as a header too.
const strict = ['/', '/index.html', '/cdn/', '/esm/', '/socket.io/', '/seed/', '/share/'];

let legacyMissing = false;
/** The existing chat's server (examples/existing-chat/server.mjs), or `undefined` while that file does not exist. */
async function loadLegacy(log, chaos) {
  const url = new URL('../existing-chat/server.mjs', import.meta.url);
  if (!existsSync(url)) {
    if (!legacyMissing) log.warn('surewire demo: examples/existing-chat/server.mjs not found: /legacy answers 404');
    legacyMissing = true;
    return undefined;
  }
  const { legacyChat } = await import(url.href);
  return await legacyChat({ chaos });
}

/** Refuses an upgrade with a bare HTTP status. */
const refuse = (socket, status, text) => {
  socket.on('error', () => {});
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
};

/**
 * Starts the demo server. Resolves once it listens, with its `port` and `close()`, which closes every
 * connection (ws, socket.io, the legacy chat, HTTP) and resolves when the port is free.
 *
 * Options (for tests): `chaos: { min, max }`, the range in ms after which a `?chaos=1` connection is
 * terminated (default 2000–5000; the existing chat's server gets it too); `log`, where warnings and errors
 * go (default `console`); `redisUrl`, the chat's Redis (default REDIS_URL; without it, memory).
 */
export async function startServer(port = Number(process.env.PORT) || 3000, host = process.env.HOST, options = {}) {
  const log = options.log ?? console;
  // Imported here, so that a missing build is one clear error.
  if (!existsSync(at('../../dist/surewire.server.mjs'))) throw new Error('surewire demo: dist/ is missing: run `npm run build` first');
  const { chatServer } = await import('./chat.mjs');
  const redisUrl = options.redisUrl ?? process.env.REDIS_URL;
  // ioredis as the store needs it: unanswered commands not resent (the store fails them), no auto-pipelining.
  const redis = redisUrl ? new (await import('ioredis')).Redis(redisUrl, { autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 1 }) : undefined;
  redis?.on('error', (e) => log.warn(`surewire demo: Redis: ${e.message}`));
  const chat = chatServer({ chaos: options.chaos, log, redis });
  const legacy = await loadLegacy(log, options.chaos).catch((e) => void log.error('surewire demo: the existing chat failed to start:', e));

  const http = createServer();
  // Every TCP connection (keep-alive requests and upgraded sockets alike), so that close() can end them.
  const sockets = new Set();
  http.on('connection', (s) => (sockets.add(s), s.once('close', () => sockets.delete(s))));

  // socket.io: the reliable chat over socket.io at its default path. Its connection state recovery stays
  // off: surewire's protocol replaces it.
  const io = new SocketIoServer(http, { serveClient: false, destroyUpgrade: false });
  io.on('connection', (socket) => chat.socketIo(socket, { chaos: socket.handshake.query.chaos == '1' }));
  // engine.io took over the server's 'request' and 'upgrade' events for every URL under /socket.io/, but
  // /socket.io/ is also the socket.io page. So this server routes both itself: a request carrying engine.io's
  // `EIO` parameter goes to engine.io, every other one is a file.
  http.removeAllListeners('request');
  http.removeAllListeners('upgrade');

  const serve = staticFiles(routes, { files, csp: strict });
  http.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.startsWith('/socket.io/') && url.searchParams.has('EIO')) return io.engine.handleRequest(req, res);
    serve(req, res);
  });

  // The chat over a native WebSocket.
  // `maxPayload` as the helper's `maxFrame`: `ws` refuses a larger frame from its header, before buffering it.
  const wss = new WebSocketServer({ noServer: true, ...chat.server.wsOptions });
  wss.on('connection', (ws, req) =>
    chat.ws(ws, { chaos: new URL(req.url ?? '/', 'http://x').searchParams.get('chaos') == '1', request: req }),
  );

  http.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path == '/ws') return wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    if (path == '/socket.io/') return io.engine.handleUpgrade(req, socket, head);
    if (path == '/legacy') {
      if (!legacy) return refuse(socket, 404, 'Not Found');
      return legacy.wss.handleUpgrade(req, socket, head, (ws) => legacy.wss.emit('connection', ws, req));
    }
    refuse(socket, 404, 'Not Found');
  });

  let closing;
  const close = () =>
    (closing ??= (async () => {
      // The reliable chat first: it closes its connections with 1001 and lets handlers in progress settle.
      await chat.close();
      redis?.disconnect();
      for (const ws of wss.clients) ws.terminate();
      await new Promise((resolve) => wss.close(() => resolve()));
      if (legacy) await Promise.resolve(legacy.close()).catch((e) => log.error('surewire demo: closing the existing chat:', e));
      // io.close() disconnects socket.io's clients, closes engine.io, then the HTTP server, which waits for
      // every TCP connection to end: ended at once here, keep-alive and upgraded ones included.
      const ioClosed = io.close();
      for (const s of sockets) s.destroy();
      await ioClosed;
      if (http.listening) await new Promise((resolve) => http.close(() => resolve()));
    })());

  try {
    await new Promise((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, host, () => (http.off('error', reject), resolve()));
    });
  } catch (e) {
    // The port is taken (or the host is wrong): nothing may stay alive behind the error.
    await close();
    throw e;
  }
  return { port: http.address().port, http, io, wss, chat, close };
}

if (process.argv[1] && fileURLToPath(import.meta.url) == normalize(process.argv[1])) {
  const { port, close } = await startServer().catch((e) => {
    console.error(e.message ?? e);
    process.exit(1);
  });
  console.log(`surewire demo on http://localhost:${port}`);
  let seeds;
  // A seed server still starting when the demo stops is killed on exit (see spawn.mjs).
  const stop = () => Promise.all([close(), seeds?.stop()]).then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  seeds = await startSeedServers({ origin: `http://localhost:${port}` });
}
