// The example chat server: one Node process serving the pages and a native WebSocket endpoint.
// `npm start` builds surewire and runs this; PORT changes the port (default 3000).
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';

const root = fileURLToPath(new URL('../..', import.meta.url));
// Only these folders are served, so the rest of the repository is not.
const served = { '/dist/': 'dist', '/cdn/': 'examples/cdn' };
const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.map': 'application/json', '.css': 'text/css' };

export function startServer(port = Number(process.env.PORT ?? 3000), host = process.env.HOST) {
  const http = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path == '/') return res.writeHead(302, { location: '/cdn/' }).end();
    const prefix = Object.keys(served).find((p) => path.startsWith(p));
    const rel = prefix && normalize(path.slice(prefix.length) || 'index.html');
    if (!rel || rel.startsWith('..')) return res.writeHead(404).end('not found');
    try {
      const body = await readFile(join(root, served[prefix], rel.endsWith('/') ? rel + 'index.html' : rel));
      res.writeHead(200, { 'content-type': types[extname(rel)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });

  const history = [];
  const wss = new WebSocketServer({ server: http, path: '/ws' });
  const broadcast = (frame) => wss.clients.forEach((c) => c.readyState == 1 && c.send(frame));
  wss.on('connection', (ws) => {
    ws.on('message', (data, binary) => {
      if (binary) return;
      const text = data.toString();
      if (text == 'ping') return ws.send('pong');
      let m;
      try {
        m = JSON.parse(text);
      } catch {
        return ws.close(1003, 'not JSON');
      }
      // Events: ["message", nick, text] and ["typing", nick]. Requests: {id, event: "history"}.
      if (Array.isArray(m) && m[0] == 'message' && typeof m[1] == 'string' && typeof m[2] == 'string') {
        const msg = { nick: m[1].slice(0, 32), text: m[2].slice(0, 2000), at: Date.now() };
        history.push(msg);
        if (history.length > 50) history.shift();
        broadcast(JSON.stringify(['message', msg]));
      } else if (Array.isArray(m) && m[0] == 'typing' && typeof m[1] == 'string') {
        broadcast(JSON.stringify(['typing', m[1].slice(0, 32)]));
      } else if (m && typeof m.id == 'number' && m.event == 'history') {
        ws.send(JSON.stringify({ id: m.id, result: history }));
      }
    });
  });

  return new Promise((resolve) =>
    http.listen(port, host, () => resolve({ http, wss, port: http.address().port, close: () => (wss.close(), http.close()) })),
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) == normalize(process.argv[1])) {
  const { port } = await startServer();
  console.log(`surewire example chat on http://localhost:${port}`);
}
