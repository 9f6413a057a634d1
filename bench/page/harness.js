// The in-page side of the benchmark (bench/run.mjs calls `window.bench.*` through CDP Runtime.evaluate, lib/cdp.mjs).
// Every measure runs here, in the page's main thread, with performance.now() (5 µs resolution: the page is
// cross-origin isolated). The same code drives every contender through its adapter (adapters.js).
import { ADAPTERS } from './adapters.js';

const mods = {};
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
const within = (p, ms, what) =>
  Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms))]);
const payload = (n) => ({ n, t: 'hello' });

// The smallest step performance.now() takes (cross-origin isolated: 5 µs; otherwise 100 µs).
function timerResolution() {
  let min = Infinity;
  for (let i = 0; i < 200; i++) {
    const a = performance.now();
    let b = a;
    while (b == a) b = performance.now();
    min = Math.min(min, b - a);
  }
  return min;
}

/**
 * A WebSocket that never touches the network, for the client-cost measure: it opens on the next tick,
 * `send` only counts, and `deliver(data)` makes a message arrive (a real MessageEvent, through `onmessage`
 * and listeners, as a browser WebSocket does). A reliable client's `$hello` is answered with a `$welcome`.
 */
class FakeWebSocket extends EventTarget {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  static last;
  CONNECTING = 0;
  OPEN = 1;
  CLOSING = 2;
  CLOSED = 3;
  readyState = 0;
  binaryType = 'blob';
  bufferedAmount = 0;
  protocol = '';
  extensions = '';
  onopen = null;
  onmessage = null;
  onclose = null;
  onerror = null;
  sent = 0;
  constructor(url) {
    super();
    this.url = url;
    FakeWebSocket.last = this;
    setTimeout(() => {
      this.readyState = 1;
      this.#fire(new Event('open'));
    });
  }
  send(data) {
    this.sent++;
    if (typeof data == 'string' && data.startsWith('["$hello"')) setTimeout(() => this.deliver('["$welcome",null,0,true]'));
  }
  close(code = 1000, reason = '') {
    if (this.readyState >= 2) return;
    this.readyState = 3;
    setTimeout(() => this.#fire(new CloseEvent('close', { code, reason, wasClean: true })));
  }
  deliver(data) {
    this.#fire(new MessageEvent('message', { data }));
  }
  #fire(e) {
    this['on' + e.type]?.(e);
    this.dispatchEvent(e);
  }
}

let mem; // the memory measure's client (or array), held between the steps driven from Node
const conns = new Map(); // handle -> { id, conn, slot }: the connections of the block measures
let nextHandle = 1;

window.bench = {
  async load(ids) {
    // ?dev: the unminified bundles (readable function names in CPU profiles).
    const dir = new URLSearchParams(location.search).has('dev') ? '/d/' : '/b/';
    for (const id of ids) mods[id] = ADAPTERS[id](await import(`${dir}${id}.js`));
    return { crossOriginIsolated: globalThis.crossOriginIsolated, timerResolution: timerResolution(), userAgent: navigator.userAgent };
  },

  /**
   * Opens a connection of contender `id` and keeps it, for the block measures below; returns its handle.
   * Its echo handler is swapped per block (one closure call per message, the same for every contender).
   */
  async connOpen(id, u) {
    const slot = { echo() {} };
    const conn = await within(mods[id].open(u, { echo: (p) => slot.echo(p) }), 10_000, `${id}: open`);
    const h = nextHandle++;
    conns.set(h, { id, conn, slot });
    await wait(20);
    return h;
  },
  connClose(h) {
    conns.get(h)?.conn.close();
    conns.delete(h);
    return true;
  },

  /**
   * Throughput, one block: n small messages sent on connection `h` and every echo received. Pipelined the
   * same way for every contender: `win` messages go out at once, and each time the number in flight falls to
   * win/2, win/2 more go out (from the echo handler). Checks that the echoes come back in order.
   */
  async tpBlock(h, { n, win, timeout }) {
    const { id, conn, slot } = conns.get(h);
    const half = win >> 1;
    let sent = 0;
    let got = 0;
    let outOfOrder = 0;
    let done;
    const finished = new Promise((r) => (done = r));
    const pump = (k) => {
      const end = Math.min(n, sent + k);
      while (sent < end) conn.send('echo', payload(sent++));
    };
    slot.echo = (p) => {
      if (p.n !== got) outOfOrder++;
      if (++got === n) return done(performance.now());
      if (sent < n && sent - got <= half) pump(half);
    };
    const t0 = performance.now();
    pump(win);
    try {
      const t1 = await within(finished, timeout, `${id}: throughput (${got}/${n} echoes)`);
      return { n, ms: t1 - t0, outOfOrder };
    } finally {
      slot.echo = () => {};
    }
  },

  /**
   * Latency, one block: n sequential round trips on connection `h` (send one message, wait for its echo,
   * send the next), after `warmup` unrecorded ones. Returns the n round-trip times in ms.
   */
  async latBlock(h, { n, warmup, timeout }) {
    const { id, conn, slot } = conns.get(h);
    const samples = new Array(n);
    let i = -warmup;
    let t = 0;
    let done;
    const finished = new Promise((r) => (done = r));
    slot.echo = () => {
      const now = performance.now();
      if (i >= 0) samples[i] = now - t;
      if (++i === n) return done();
      t = performance.now();
      conn.send('echo', payload(i));
    };
    t = performance.now();
    conn.send('echo', payload(i));
    try {
      await within(finished, timeout, `${id}: latency (${i + warmup}/${n + warmup})`);
    } finally {
      slot.echo = () => {};
    }
    return samples.map((x) => Math.round(x * 1e4) / 1e4);
  },

  /**
   * Burst: n messages sent in one synchronous loop on the open connection `h`, and the time from the first
   * send to the last echo (checked in order). `sendMs`: how long the loop itself took.
   */
  async burst(h, { n, timeout }) {
    const { id, conn, slot } = conns.get(h);
    let got = 0;
    let outOfOrder = 0;
    let done;
    const finished = new Promise((r) => (done = r));
    slot.echo = (p) => {
      if (p.n !== got) outOfOrder++;
      if (++got === n) done(performance.now());
    };
    const t0 = performance.now();
    for (let i = 0; i < n; i++) conn.send('echo', payload(i));
    const sendMs = performance.now() - t0;
    try {
      const t1 = await within(finished, timeout, `${id}: burst (${got}/${n} echoes)`);
      return { n, ms: t1 - t0, sendMs, outOfOrder };
    } finally {
      slot.echo = () => {};
    }
  },

  /**
   * Backlog: n messages sent while the client is offline (its url leads nowhere; socket.io-client: not
   * connected yet), then the server is reachable: the time from the client's open to the last echo (checked
   * in order). null for a contender without an offline queue.
   */
  async backlog(id, u, { n, timeout }) {
    if (!mods[id].backlog) return null;
    let got = 0;
    let outOfOrder = 0;
    let tOpen;
    let done;
    const finished = new Promise((r) => (done = r));
    const c = await within(
      mods[id].backlog(u, {
        echo(p) {
          if (p.n !== got) outOfOrder++;
          if (++got === n) done(performance.now());
        },
        open: () => (tOpen ??= performance.now()),
      }),
      10_000,
      `${id}: backlog offline`,
    );
    try {
      for (let i = 0; i < n; i++) c.send('echo', payload(i));
      const queued = c.queued();
      c.up();
      const t1 = await within(finished, timeout, `${id}: backlog (${got}/${n} echoes)`);
      return { n, ms: t1 - tOpen, queued, outOfOrder };
    } finally {
      c.close();
    }
  },

  /** One connection, one throughput block (what the CPU profiles run). */
  async throughput(id, u, o) {
    const h = await this.connOpen(id, u);
    try {
      const r = await this.tpBlock(h, o);
      return { ...r, rate: (r.n / r.ms) * 1000 };
    } finally {
      this.connClose(h);
    }
  },

  /**
   * n times: the server terminates the connection (the client asks it to with a '__kill' message), and the
   * time from the client's close event to its open event is recorded, with the delay the library drew
   * (surewire: the `reconnecting` event's; the others: their configured 1 ms).
   */
  async reconnect(id, u, { n, pause, timeout }) {
    let tClose = NaN;
    let delay;
    let opened;
    const hooks = {
      echo() {},
      close: () => (tClose = performance.now()),
      reconnecting: (d) => (delay = d),
      open: () => opened?.(performance.now()),
    };
    const conn = await within(mods[id].open(u, hooks), 10_000, `${id}: open`);
    const samples = [];
    try {
      for (let k = 0; k < n; k++) {
        await wait(pause);
        tClose = NaN;
        delay = undefined;
        const reopened = new Promise((r) => (opened = r));
        conn.send('__kill', 0);
        const tOpen = await within(reopened, timeout, `${id}: reconnect #${k + 1}`);
        opened = undefined;
        samples.push({ ms: tOpen - tClose, delay: delay ?? null });
      }
    } finally {
      conn.close();
    }
    return samples;
  },

  /**
   * The client's own cost per message, without the network: over a FakeWebSocket, `n` messages sent and `n`
   * echoes delivered (in chunks of `chunk`: send a chunk, deliver its echoes), timed. For reliable surewire
   * the echoes are the server's `["$m", offset, …]` frames and each chunk is acknowledged with a `$ack` first.
   * The echo frames are made before the clock starts. Returns µs per message (send + receive), the fastest of
   * `reps` runs (noise only ever adds time), or null for a contender that cannot take a WebSocket constructor.
   */
  async clientCost(id, { n, chunk, reps }) {
    if (!mods[id].fakeable) return null;
    const rel = id == 'surewire-reliable';
    const frames = Array.from({ length: n }, (_, i) => JSON.stringify(rel ? ['$m', i + 1, 'echo', payload(i)] : ['echo', payload(i)]));
    const times = [];
    for (let r = 0; r < reps; r++) {
      let got = 0;
      const conn = await within(mods[id].open({ echo: 'ws://fake.invalid/echo', echoHostPort: 'fake.invalid', reliable: 'ws://fake.invalid/reliable' }, { echo: () => got++ }, FakeWebSocket), 5000, `${id}: open (fake)`);
      const ws = FakeWebSocket.last;
      const t0 = performance.now();
      for (let i = 0; i < n; i += chunk) {
        const end = Math.min(n, i + chunk);
        for (let k = i; k < end; k++) conn.send('echo', payload(k));
        if (rel) ws.deliver(`["$ack",${end}]`);
        for (let k = i; k < end; k++) ws.deliver(frames[k]);
      }
      times.push(performance.now() - t0);
      const sent = ws.sent;
      conn.close();
      if (got != n) throw new Error(`${id}: client cost: ${got} of ${n} echoes arrived`);
      if (sent < n) throw new Error(`${id}: client cost: ${sent} of ${n} messages reached the socket`);
      await wait(10);
    }
    return (Math.min(...times) / n) * 1000;
  },

  /**
   * Memory, step 1: a client sitting offline (or, for the baselines, nothing yet): 'array' is a plain array of
   * the frames the app's messages encode to, 'array-reliable' a plain array of the longer frames reliable
   * surewire keeps for the same messages (`["$m", seq, "echo", payload]`), 'array-io' a plain array of the
   * packets surewire over socket.io keeps (`{ event: 'echo', args: [payload] }`).
   */
  async memPrepare(id, u) {
    mem = id.startsWith('array') ? { id } : { id, client: await mods[id].offline(u) };
    return true;
  },
  /** Step 2: n messages sent while offline (or, for a baseline, the same encoded strings pushed on a plain array). */
  memFill(n) {
    if (mem.id.startsWith('array')) {
      const a = [];
      if (mem.id == 'array') for (let i = 0; i < n; i++) a.push(JSON.stringify(['echo', payload(i)]));
      else if (mem.id == 'array-io') for (let i = 0; i < n; i++) a.push({ event: 'echo', args: [payload(i)] });
      else for (let i = 0; i < n; i++) a.push(JSON.stringify(['$m', i + 1, 'echo', payload(i)]));
      mem.array = a;
      return a.length;
    }
    const c = mem.client;
    for (let i = 0; i < n; i++) c.send('echo', payload(i));
    return c.queued();
  },
  /** Step 3: let it all go. */
  memDispose() {
    mem?.client?.close();
    mem = undefined;
    return true;
  },
};
