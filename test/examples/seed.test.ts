// The seed chat (examples/seed/) in Node. Its two servers run unchanged, each spawned as a child process whose
// stdout is read for the `received: …` lines it logs; the client is surewire from src/, over the `ws`
// package's WebSocket with the text codec, and over socket.io-client. Then the demo's side: it serves and
// links the pages, and `node examples/server/index.mjs` (what `npm start` runs) starts both servers beside
// the demo, goes on when a port is taken, and stops them with itself.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { io } from 'socket.io-client';
import { DecodeError, jsonCodec, Surewire, textCodec, type SendResult, type SurewireError, type SurewireOptions, type TextEvents } from '../../src/index';
import { socketIo } from '../../src/transports/socketio';
import { portIsFree } from '../../examples/seed/spawn.mjs';
import { startServer } from '../../examples/server/index.mjs';
import { NodeWebSocket } from '../helpers/ws-client';
import { waitFor } from '../helpers/wait';
import { freePort, GREETING, hundred, otherOutput, PING, startSeed, type Seed } from '../helpers/seed-server';

const cleanups: (() => unknown)[] = [];
const seeds: Seed[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const fn of cleanups.splice(0).reverse()) await fn();
  // The servers said nothing but `received: …` lines.
  for (const s of seeds.splice(0)) expect(otherOutput(s), `what the ${s.kind} server printed besides received: lines`).toEqual([]);
});

/** Starts a seed server for this test, stopped after it. */
async function seed(kind: Seed['kind']): Promise<Seed> {
  const s = await startSeed(kind);
  seeds.push(s);
  cleanups.push(() => s.stop());
  return s;
}

const fast = { reconnect: { initialDelay: 20, maxDelay: 100 } } as const;

/** A surewire client of a seed server, with what it saw: greetings, opens, closes, errors, in one timeline too. */
function client(s: Seed, options: SurewireOptions = {}) {
  const chat = new Surewire<TextEvents, TextEvents>(
    s.url,
    s.kind == 'ws' ? { WebSocket: NodeWebSocket, codec: textCodec, ...fast, ...options } : { transport: socketIo(io), ...fast, ...options },
  );
  cleanups.push(() => chat.close());
  const m = { chat, messages: [] as string[], opens: 0, closes: 0, errors: [] as SurewireError[], timeline: [] as string[] };
  chat.on('message', (text) => void (m.messages.push(text), m.timeline.push(`message ${text}`)));
  chat.connection.on('open', () => void (m.opens++, m.timeline.push('open')));
  chat.connection.on('close', () => void m.closes++);
  chat.connection.on('error', (e) => void m.errors.push(e));
  return m;
}
type Client = ReturnType<typeof client>;

/** The greeting arrives once per connection, right after its open: reconnect() twice, then a server restart. */
async function greetingPerConnection(s: Seed, m: Client): Promise<void> {
  await waitFor(() => m.messages.length == 1, 5000, 'the first greeting');
  for (let n = 2; n <= 3; n++) {
    m.chat.reconnect();
    await waitFor(() => m.messages.length == n, 5000, `greeting ${n}`);
  }
  await s.stop();
  await waitFor(() => m.chat.connection.state != 'open', 5000, 'the client saw the server go');
  await s.start();
  await waitFor(() => m.messages.length == 4, 5000, 'the greeting after the restart');
  expect(m.timeline).toEqual(Array.from({ length: 4 }, () => ['open', `message ${GREETING}`]).flat());
  // Only the restart's: the connection lost, and refused while the server was down.
  expect(m.errors.map((e) => e.code)).toEqual(m.errors.map(() => 'socket'));
  expect(m.errors.length).toBeGreaterThan(0);
}

/** 100 sends, logged verbatim and in order (the server's stdout, line by line). */
async function hundredSends(s: Seed, m: Client): Promise<void> {
  await waitFor(() => m.messages.length == 1, 5000, 'the greeting');
  const results = hundred.map((text) => m.chat.send('message', text));
  expect(new Set(results)).toEqual(new Set(['sent']));
  await waitFor(() => s.texts().length >= hundred.length, 5000, '100 lines logged');
  expect(s.texts()).toEqual(hundred);
}

/**
 * A server restart in the middle of a stream of lines (one every 4 ms): the server is stopped once 20 are
 * logged, started again once 10 more are queued, and the stream ends 10 lines after the reconnect. Every
 * line that was queued is logged, once, in order, after the restart. Lines are never logged twice or out of
 * order; the only ones that may be missing were handed to the old socket as it died (`send` said 'sent'),
 * which is why they could not be queued.
 */
async function restartMidStream(s: Seed, m: Client): Promise<void> {
  await waitFor(() => m.messages.length == 1, 5000, 'the greeting');
  const sends: { text: string; result: SendResult; opens: number }[] = [];
  const afterReconnect = () => sends.filter((x) => x.opens == 2).length;
  const stream = setInterval(() => {
    if (afterReconnect() == 10) return clearInterval(stream);
    const text = `line ${sends.length + 1}`;
    sends.push({ text, result: m.chat.send('message', text), opens: m.opens });
  }, 4);
  cleanups.push(() => clearInterval(stream));
  const queued = () => sends.filter((x) => x.result == 'queued').map((x) => x.text);
  await waitFor(() => s.texts().length >= 20, 5000, '20 lines logged');
  await s.stop();
  await waitFor(() => queued().length >= 10, 5000, '10 lines queued while the server is down');
  await s.start();
  await waitFor(() => afterReconnect() == 10, 5000, '10 lines sent after the reconnect');
  const last = sends.at(-1)!.text;
  await waitFor(() => s.texts().at(-1) == last, 5000, 'the last line logged');

  const logged = s.texts();
  expect(sends.map((x) => x.result).filter((r) => r != 'sent' && r != 'queued'), 'nothing dropped').toEqual([]);
  expect(new Set(logged).size, 'no line logged twice').toBe(logged.length);
  expect(logged, 'logged in the order sent').toEqual(sends.map((x) => x.text).filter((t) => logged.includes(t)));
  expect(logged.filter((t) => queued().includes(t)), 'every queued line').toEqual(queued());
  const lost = sends.filter((x) => !logged.includes(x.text));
  expect(lost.filter((x) => x.result != 'sent' || x.opens != 1), 'lost: only lines handed to the dying socket').toEqual([]);
  expect(m.opens).toBe(2);
  expect(m.messages).toEqual([GREETING, GREETING]);
  expect(m.chat.connection.getSnapshot().queued).toBe(0);
}

describe('the seed server over WebSocket (examples/seed/server.cjs), with textCodec', () => {
  it('greets once per connection: each open is followed by exactly one greeting, across reconnect() and a restart', async () => {
    const s = await seed('ws');
    await greetingPerConnection(s, client(s));
    // Each connection's heartbeat pinged once at open, and that is all the server logged.
    await waitFor(() => s.pings() == 4, 5000, 'the ping of each connection');
    expect(s.received()).toEqual([PING, PING, PING, PING]);
  });

  it('logs 100 sends verbatim and in order; the only other lines are the heartbeat ping of the connection', async () => {
    const s = await seed('ws');
    await hundredSends(s, client(s));
    // The ping goes out at open, before anything sent after the open; no other comes within 25 s.
    expect(s.received()).toEqual([PING, ...hundred]);
  });

  it('loses nothing that was queued when the server restarts mid-stream', async () => {
    const s = await seed('ws');
    await restartMidStream(s, client(s));
    // One ping per connection, at open (on the second, right after the queued lines).
    await waitFor(() => s.pings() == 2, 5000, 'the ping of each connection');
    expect(s.pings()).toBe(2);
  });

  it('stays on one connection for ten heartbeat intervals (the default 25 s) although the server never answers a ping', async () => {
    const s = await seed('ws');
    // The client's timers are fake, the server and the sockets real: waits on the network spin on setImmediate.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const real = async (check: () => boolean, what: string): Promise<void> => {
      for (const started = performance.now(); !check(); await new Promise((r) => setImmediate(r)))
        if (performance.now() - started > 5000) throw new Error(`${what}: not within 5000 ms (server log: ${JSON.stringify(s.stdout.slice(-5))})`);
    };
    const m = client(s);
    await real(() => m.messages.length == 1 && s.pings() == 1, 'the greeting and the ping at open');
    for (let n = 2; n <= 11; n++) {
      await vi.advanceTimersByTimeAsync(25_000);
      await real(() => s.pings() == n, `ping ${n}`);
    }
    expect(s.received()).toEqual(Array(11).fill(PING));
    expect({ opens: m.opens, closes: m.closes, state: m.chat.connection.state }).toEqual({ opens: 1, closes: 0, state: 'open' });
    expect(m.messages).toEqual([GREETING]);
    expect(m.errors).toEqual([]);
  });

  it('does not work without the text codec: with the default JSON codec the greeting is a decode error and a send arrives as ["message", …]', async () => {
    const s = await seed('ws');
    const json = client(s, { codec: jsonCodec });
    json.chat.send('message', 'hello server!');
    await waitFor(() => json.errors.length == 1 && s.texts().length == 1, 5000, 'the decode error and the logged line');
    expect(json.errors[0]).toBeInstanceOf(DecodeError);
    expect((json.errors[0] as DecodeError).frame).toBe(GREETING);
    expect(json.messages).toEqual([]);
    expect(s.texts()).toEqual(['["message","hello server!"]']);

    const text = client(s);
    text.chat.send('message', 'hello server!');
    await waitFor(() => text.messages.length == 1 && s.texts().length == 2, 5000, 'the greeting and the logged line');
    expect(text.errors).toEqual([]);
    expect(text.messages).toEqual([GREETING]);
    expect(s.texts()).toEqual(['["message","hello server!"]', 'hello server!']);
  });
});

describe('the seed server over socket.io (examples/seed/socket.io-server.cjs), socket.send being the event "message"', () => {
  it('greets once per connection: each open is followed by exactly one greeting, across reconnect() and a restart', async () => {
    const s = await seed('socket.io');
    await greetingPerConnection(s, client(s));
    // socket.io checks liveness itself (engine.io's ping): nothing but what clients send reaches the log.
    expect(s.received()).toEqual([]);
  });

  it('logs 100 sends verbatim and in order, and nothing else', async () => {
    const s = await seed('socket.io');
    await hundredSends(s, client(s));
    expect(s.received()).toEqual(hundred);
  });

  it('loses nothing that was queued when the server restarts mid-stream', async () => {
    const s = await seed('socket.io');
    await restartMidStream(s, client(s));
    expect(s.pings()).toBe(0);
  });
});

describe('the seed pages in the demo', () => {
  it('serves both pages under the strict CSP, each loading one surewire bundle and its own scripts, and the index links them', async () => {
    const demo = await startServer(0, '127.0.0.1', { log: { warn: () => {}, error: (...a: unknown[]) => expect.fail(`demo error: ${a.join(' ')}`) } });
    cleanups.push(() => demo.close());
    const base = `http://127.0.0.1:${demo.port}`;
    const index = await (await fetch(`${base}/`)).text();
    for (const href of ['/seed/', '/seed/socket.io.html']) expect(index).toContain(`href="${href}"`);
    const pages = { '/seed/': ['/dist/surewire.min.js', 'page.js', 'index.js'], '/seed/socket.io.html': ['/dist/surewire.socket.io.min.js', 'page.js', 'socket.io.js'] };
    for (const [path, scripts] of Object.entries(pages)) {
      const res = await fetch(base + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-security-policy'), path).toBe("script-src 'self'");
      const html = (await res.text()).replace(/<!--[\s\S]*?-->/g, '');
      // Every script is a file: no inline script.
      expect([...html.matchAll(/<script\b([^>]*)>/g)].map((t) => /src="([^"]+)"/.exec(t[1]!)?.[1]), path).toEqual(scripts);
      for (const src of scripts) expect((await fetch(new URL(src, base + path))).status, `${path}: ${src}`).toBe(200);
    }
  });
});

describe('npm start: the demo process starts the seed servers', () => {
  it('forwards their output with a prefix, warns and goes on when a seed port is taken, and stops them when it stops', async () => {
    // The WebSocket seed server's port is taken; the socket.io one's is free.
    const taken: Server = createServer();
    await new Promise<void>((r) => taken.listen(0, r));
    cleanups.push(() => new Promise((r) => taken.close(r)));
    const wsPort = (taken.address() as { port: number }).port;
    const [port, ioPort] = [await freePort(), await freePort()];
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), SEED_WS_PORT: String(wsPort), SEED_IO_PORT: String(ioPort) };
    delete env.HOST;
    const demo = spawn(process.execPath, [fileURLToPath(new URL('../../examples/server/index.mjs', import.meta.url))], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    demo.stdout.on('data', (d: Buffer) => (out += d));
    demo.stderr.on('data', (d: Buffer) => (out += d));
    const exited = new Promise<number | null>((r) => demo.once('exit', (code) => r(code)));
    cleanups.push(() => demo.exitCode == null && demo.kill('SIGKILL'));

    await waitFor(() => out.includes(`[seed socket.io] listening on port ${ioPort}`), 10_000, `the socket.io seed server listening (output: ${out})`);
    expect(out).toContain(`surewire demo on http://localhost:${port}\n`);
    expect(out).toContain(
      `surewire demo: port ${wsPort} is taken, so the seed chat's ws server (examples/seed/server.cjs) is not started and /seed/ cannot connect. Stop what uses the port, or set SEED_WS_PORT to a free one and open /seed/?port=<it>.\n`,
    );
    expect(out).toContain(`[seed socket.io] listening on port ${ioPort}: http://localhost:${port}/seed/socket.io.html?port=${ioPort}\n`);
    // The demo itself serves on.
    expect((await fetch(`http://127.0.0.1:${port}/seed/socket.io.html`)).status).toBe(200);

    const chat = new Surewire<TextEvents, TextEvents>(`http://127.0.0.1:${ioPort}`, { transport: socketIo(io) });
    cleanups.push(() => chat.close());
    const got: string[] = [];
    chat.on('message', (t) => void got.push(t));
    chat.send('message', 'through npm start');
    await waitFor(() => got.length == 1 && out.includes('[seed socket.io] received: through npm start\n'), 5000, `the greeting and the logged line (output: ${out})`);
    expect(got).toEqual([GREETING]);
    chat.close();

    demo.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(await portIsFree(ioPort), 'the socket.io seed server stopped with the demo').toBe(true);
    expect(await portIsFree(port), 'the demo stopped').toBe(true);
  });
});
