// How each contender is driven in the page. Every adapter offers the same three things:
//
//   open(urls, hooks, WS?)  connect to the echo server for this contender; resolves with a connection once it
//                      is open. hooks: { echo(payload), open(), close(), reconnecting(delay) } — `echo` gets the
//                      payload of every 'echo' event received, decoded. `WS`: a WebSocket constructor to use
//                      instead of the browser's (the client-cost measure's fake; WebSocket-based contenders only).
//   conn.send(event, payload) / conn.close()
//   offline(urls)      a client pointed at a port nobody listens on, with reconnection delays so long that it
//                      sits offline; resolves once its first attempt failed. Then .send(event, payload) queues,
//                      .queued() says how many messages it holds, .close() ends it.
//
// The same minimal reconnection delay everywhere: 1 ms, no growth, no jitter (where configurable).
// `mod` is the contender's bundle (bench/lib/contenders.mjs).

const wait = (ms) => new Promise((r) => setTimeout(r, ms));
const LONG = 600_000; // "offline" reconnection delay for the memory measure

// ---- raw: the baseline. What an app writes with no library: JSON.stringify([event, ...args]) / JSON.parse.
const raw = (mod) => ({
  fakeable: true,
  open(u, h, WS = WebSocket) {
    return new Promise((resolve) => {
      let ws;
      let closed = false;
      const conn = {
        send: (event, ...args) => ws.send(JSON.stringify([event, ...args])),
        close() {
          closed = true;
          ws.onclose = null;
          ws.close();
        },
      };
      const connect = () => {
        ws = new WS(u.echo);
        ws.onopen = () => (h.open?.(), resolve(conn));
        ws.onmessage = (e) => {
          const m = JSON.parse(e.data);
          if (m[0] === 'echo') h.echo(m[1]);
        };
        ws.onclose = () => {
          h.close?.();
          if (!closed) h.reconnecting?.(1), setTimeout(connect, 1);
        };
      };
      connect();
    });
  },
  // No library, no queue: the memory baseline is a plain array (measured separately as 'array').
  offline: null,
});

// ---- surewire (all three flavours share this) -----------------------------------------------------------
const surewireOptions = (extra) => ({
  reconnect: { initialDelay: 1, maxDelay: 1, factor: 1, jitter: 0 },
  queue: { max: 1_000_000 },
  ...extra,
});
const surewireAdapter = (mod, url, extra = () => ({}), fakeable = true) => ({
  fakeable,
  open(u, h, WS) {
    return new Promise((resolve, reject) => {
      const c = new mod.Surewire(url(u), { ...surewireOptions(extra(u)), ...(WS ? { WebSocket: WS } : {}) });
      const conn = { send: c.send, close: c.close, client: c };
      c.on('echo', h.echo);
      c.connection.on('open', () => (h.open?.(), resolve(conn)));
      c.connection.on('close', () => h.close?.());
      c.connection.on('reconnecting', ({ delay }) => h.reconnecting?.(delay));
      c.connection.on('error', (e) => h.error?.(e));
      c.connection.on('drop', (d) => reject(new Error(`surewire dropped a message: ${d.reason}`)));
    });
  },
  // The backlog measure's client: its url leads nowhere until up() (its next attempt, within 20 ms, then opens).
  async backlog(u, h) {
    let up = false;
    const c = new mod.Surewire(() => url(u, !up), {
      ...surewireOptions(extra(u)),
      reconnect: { initialDelay: 20, maxDelay: 20, factor: 1, jitter: 0 },
    });
    c.on('echo', h.echo);
    c.connection.on('open', () => h.open());
    while (c.connection.state != 'reconnecting') await wait(5);
    return { send: c.send, queued: () => c.connection.getSnapshot().queued, up: () => (up = true), close: () => c.close() };
  },
  async offline(u) {
    const c = new mod.Surewire(url(u, true), {
      ...surewireOptions(extra(u)),
      reconnect: { initialDelay: LONG, maxDelay: LONG, factor: 1, jitter: 0 },
    });
    while (c.connection.state != 'reconnecting') await wait(5);
    return { send: c.send, queued: () => c.connection.getSnapshot().queued, close: () => c.close() };
  },
});

const surewire = (mod) => surewireAdapter(mod, (u, dead) => (dead ? u.deadWs : u.echo));
// `u.reliableOptions`: options of reliable() (bench/why-reliable.mjs varies them; the bench uses the defaults).
const surewireReliable = (mod) =>
  surewireAdapter(mod, (u, dead) => (dead ? u.deadWs : u.reliable), (u) => ({ reliable: mod.reliable(u.reliableOptions) }));
const surewireIo = (mod) =>
  surewireAdapter(mod, (u, dead) => (dead ? u.deadIo : u.io), () => ({ transport: mod.socketIo(mod.io, { transports: ['websocket'] }) }), false);

// ---- socket.io-client ------------------------------------------------------------------------------------
const ioOptions = { transports: ['websocket'], forceNew: true, reconnectionDelay: 1, reconnectionDelayMax: 1, randomizationFactor: 0 };
const socketIoClient = (mod) => ({
  open(u, h) {
    return new Promise((resolve) => {
      const s = mod.io(u.io, ioOptions);
      const conn = { send: (event, ...args) => s.emit(event, ...args), close: () => s.disconnect() };
      s.on('echo', h.echo);
      s.on('connect', () => (h.open?.(), resolve(conn)));
      s.on('disconnect', () => h.close?.());
      s.io.on('reconnect_attempt', () => h.reconnecting?.(1));
    });
  },
  // socket.io-client cannot change its url: its backlog client is not connected until up() (emits are buffered).
  async backlog(u, h) {
    const s = mod.io(u.io, { ...ioOptions, autoConnect: false });
    s.on('echo', h.echo);
    s.on('connect', () => h.open());
    return { send: (event, ...args) => s.emit(event, ...args), queued: () => s.sendBuffer.length, up: () => s.connect(), close: () => s.disconnect() };
  },
  async offline(u) {
    const s = mod.io(u.deadIo, { ...ioOptions, reconnectionDelay: LONG, reconnectionDelayMax: LONG });
    await new Promise((r) => s.once('connect_error', r));
    return { send: (event, ...args) => s.emit(event, ...args), queued: () => s.sendBuffer.length, close: () => s.disconnect() };
  },
});

// ---- reconnecting-websocket and partysocket: WebSocket-compatible, JSON by the app (as with raw) --------
const rwsOptions = { minReconnectionDelay: 1, maxReconnectionDelay: 1, reconnectionDelayGrowFactor: 1 };
const wsLike = (make) => ({
  fakeable: true,
  open(u, h, WS) {
    return new Promise((resolve) => {
      const ws = make(u, WS ? { ...rwsOptions, WebSocket: WS } : rwsOptions, false);
      const conn = { send: (event, ...args) => ws.send(JSON.stringify([event, ...args])), close: () => ws.close() };
      ws.addEventListener('message', (e) => {
        const m = JSON.parse(e.data);
        if (m[0] === 'echo') h.echo(m[1]);
      });
      ws.addEventListener('open', () => (h.open?.(), resolve(conn)));
      ws.addEventListener('close', () => (h.close?.(), h.reconnecting?.(1)));
    });
  },
  async offline(u) {
    const ws = make(u, { ...rwsOptions, minReconnectionDelay: LONG, maxReconnectionDelay: LONG }, true);
    await new Promise((r) => ws.addEventListener('close', r, { once: true }));
    return {
      send: (event, ...args) => ws.send(JSON.stringify([event, ...args])),
      queued: () => ws._messageQueue.length,
      close: () => ws.close(),
    };
  },
});
const reconnectingWebsocket = (mod) => wsLike((u, o, dead) => new mod.default(dead ? u.deadWs : u.echo, [], o));
const partysocket = (mod) =>
  wsLike((u, o, dead) => new mod.default({ host: dead ? u.deadHostPort : u.echoHostPort, basePath: 'echo', ...o }));

export const ADAPTERS = {
  raw,
  surewire,
  'surewire-reliable': surewireReliable,
  'surewire-io': surewireIo,
  'socket.io-client': socketIoClient,
  'reconnecting-websocket': reconnectingWebsocket,
  partysocket,
};
