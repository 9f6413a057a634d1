// The "existing" chat server: a small chat written long before surewire, with plain `ws` and its own
// JSON format. surewire does not change a line of it; only the page changes (before.js → after.js).
//
// Every frame is a JSON text frame { "type": …, "payload": … }:
//   client → server  hello  { nick }                 join, or change nick; answered with welcome
//                    say    { text }                 a chat line (after hello)
//                    typing (no payload)             relayed to the others
//                    ping   (no payload)             answered with pong (the page's keep-alive)
//   server → client  welcome { recent: said[] }      the last 50 lines, after each hello
//                    said    { nick, text, at }      a chat line, to everyone who said hello
//                    typing  { nick }                someone else is typing
//                    pong    (no payload)
//                    error   { message }             what the server could not take
// It keeps nothing per client but the nick, and nothing across restarts: it is not reliable. It drops
// clients that stop answering its protocol-level pings.
import { WebSocketServer } from 'ws';

const RECENT = 50;
const MAX_NICK = 32;
const MAX_TEXT = 2000;
const KEEPALIVE = 30_000;

/**
 * The legacy chat (types in server.d.mts). `wss` has no HTTP server of its own: route upgrades to it with
 * `wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req))`.
 */
export function legacyChat({ chaos = { min: 2000, max: 5000 } } = {}) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 });
  const recent = [];

  const send = (ws, type, payload) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(payload === undefined ? { type } : { type, payload }));
  };
  const broadcast = (type, payload, except) => {
    for (const c of wss.clients) if (c !== except && c.nick) send(c, type, payload);
  };
  const str = (v, max) => (typeof v === 'string' ? v.trim().slice(0, max) : '');

  wss.on('connection', (ws, req) => {
    ws.nick = '';
    ws.alive = true;
    ws.on('pong', () => (ws.alive = true));
    ws.on('error', () => {}); // a bad frame closes the socket; nothing else to do
    if (new URL(req?.url ?? '/', 'http://x').searchParams.get('chaos') === '1') cutLater(ws, chaos);

    ws.on('message', (data, isBinary) => {
      let m;
      try {
        m = isBinary ? null : JSON.parse(data.toString());
      } catch {
        m = null;
      }
      if (!m || typeof m.type !== 'string') return send(ws, 'error', { message: 'expected {"type": …, "payload": …}' });
      const p = m.payload ?? {};
      switch (m.type) {
        case 'ping':
          return send(ws, 'pong');
        case 'hello': {
          const nick = str(p.nick, MAX_NICK);
          if (!nick) return send(ws, 'error', { message: 'hello needs a nick' });
          ws.nick = nick;
          return send(ws, 'welcome', { recent });
        }
        case 'say': {
          if (!ws.nick) return send(ws, 'error', { message: 'say hello first' });
          const text = str(p.text, MAX_TEXT);
          if (!text) return;
          const said = { nick: ws.nick, text, at: Date.now() };
          recent.push(said);
          if (recent.length > RECENT) recent.shift();
          return broadcast('said', said);
        }
        case 'typing':
          return ws.nick && broadcast('typing', { nick: ws.nick }, ws);
        default:
          return send(ws, 'error', { message: `unknown type "${m.type}"` });
      }
    });
  });

  // Protocol-level pings (browsers answer them by themselves): a client silent for a whole round is gone.
  const sweep = setInterval(() => {
    for (const ws of wss.clients) {
      if (!ws.alive) ws.terminate();
      else (ws.alive = false), ws.ping();
    }
  }, KEEPALIVE);
  sweep.unref?.();

  return {
    wss,
    close: () =>
      new Promise((resolve) => {
        clearInterval(sweep);
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  };
}

// Demo only, not part of the legacy server: `?chaos=1` cuts the connection at a random moment, the way a
// flaky network would, so the page's reconnection can be watched.
function cutLater(ws, { min, max }) {
  const t = setTimeout(() => ws.terminate(), min + Math.random() * (max - min));
  ws.on('close', () => clearTimeout(t));
}
