// The existing-chat example: a legacy `ws` chat server with its own { type, payload } format, its old page
// (before.js) and the same page on surewire with a codec (after.js). The codec and the hello-first
// transport are taken from after.js itself, so what is tested is what the page runs.
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import * as api from '../../src/index';
import { Surewire, type Codec, type Transport } from '../../src/index';
import { legacyChat, type LegacyChat, type Said } from '../../examples/existing-chat/server.mjs';
import { delay, waitFor } from '../helpers/wait';

// jsdom ships no types (and @types/jsdom is not installed): what is used here, typed by hand.
type Page = Window & typeof globalThis & { eval(code: string): unknown; close(): void };
const { JSDOM } = (await import('jsdom' as string)) as { JSDOM: new (html: string, options: object) => { window: Page } };
type Frame = { type: string; payload?: Record<string, unknown> };

const dir = fileURLToPath(new URL('../../examples/existing-chat/', import.meta.url));
const read = (file: string) => readFileSync(dir + file, 'utf8');
const minJs = fileURLToPath(new URL('../../dist/surewire.min.js', import.meta.url));

// `const codec = {…};` and `const helloFirst = {…};`, cut out of after.js and evaluated here.
function pageParts(nick: () => string) {
  const src = read('after.js');
  const cut = (name: string) => {
    const start = src.indexOf(`const ${name} = {`);
    const end = src.indexOf('\n};\n', start);
    if (start < 0 || end < 0) throw new Error(`after.js: no const ${name}`);
    return src.slice(start, end + 3);
  };
  const make = new Function('Surewire', 'nick', `${cut('codec')}\n${cut('helloFirst')}\nreturn { codec, helloFirst };`);
  return make(api, nick) as { codec: Codec; helloFirst: Transport };
}
const { codec } = pageParts(() => 'unused');
// The heartbeat options of after.js, at a test's pace.
const heartbeat = { ping: '{"type":"ping"}', pong: (f: unknown) => f === '{"type":"pong"}' };

let http: Server | undefined;
let legacy: LegacyChat | undefined;
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await legacy?.close();
  await new Promise((r) => (http ? http.close(r) : r(null)));
  http = legacy = undefined;
});

// A plain http server with the upgrade routing of the demo server: /legacy → the legacy chat.
async function start(options?: Parameters<typeof legacyChat>[0]) {
  const chat = (legacy = legacyChat(options));
  // What the unchanged server receives, connection by connection.
  const seen: string[][] = [];
  const sockets: WebSocket[] = [];
  chat.wss.on('connection', (ws) => {
    const log: string[] = [];
    seen.push(log);
    sockets.push(ws);
    ws.on('message', (data) => log.push(data.toString()));
  });
  const server = (http = createServer((req, res) => {
    const file = new URL(req.url ?? '/', 'http://x').pathname.replace('/existing-chat/', '');
    if (file == '/dist/surewire.min.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(minJs));
    if (!/^(before|after)\.(html|js)$|^style\.css$/.test(file)) return res.writeHead(404).end();
    res.writeHead(200).end(read(file));
  }));
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://x').pathname != '/legacy') return socket.destroy();
    chat.wss.handleUpgrade(req, socket, head, (ws) => chat.wss.emit('connection', ws, req));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { chat, port, url: `ws://127.0.0.1:${port}/legacy`, seen, sockets };
}

// The old page's protocol, spoken by hand over a raw socket.
async function oldClient(url: string, nick: string) {
  const ws = new WebSocket(url);
  cleanups.push(() => ws.terminate());
  const got: Frame[] = [];
  ws.on('message', (d) => got.push(JSON.parse(d.toString())));
  await new Promise((r) => ws.once('open', r));
  const send = (type: string, payload?: unknown) => ws.send(JSON.stringify({ type, payload }));
  send('hello', { nick });
  await waitFor(() => got.find((f) => f.type == 'welcome'), 2000, 'welcome');
  const next = <T = Frame['payload']>(type: string) => waitFor(() => got.find((f) => f.type == type)?.payload as T | undefined, 2000, type);
  return { ws, got, send, next };
}

// The surewire client as after.js makes it (in Node: with the `ws` package's WebSocket).
function newClient(url: string, nick: string, opts: { hello?: 'transport' | 'open listener'; heartbeat?: object } = {}) {
  const { codec, helloFirst } = pageParts(() => nick);
  const chat = new Surewire(url, {
    WebSocket: WebSocket as never,
    codec,
    ...(opts.hello == 'open listener' ? {} : { transport: helloFirst }),
    reconnect: { initialDelay: 20, jitter: 0 },
    heartbeat: { ...heartbeat, ...opts.heartbeat },
  });
  if (opts.hello == 'open listener') chat.connection.on('open', () => chat.send('hello', { nick }));
  cleanups.push(() => chat.close());
  const errors: unknown[] = [];
  chat.connection.on('error', (e) => errors.push(e));
  const serverErrors: unknown[] = [];
  chat.on('error', (e: unknown) => serverErrors.push(e));
  return { chat, errors, serverErrors };
}
const opened = (c: Surewire) => waitFor(() => c.connection.state == 'open', 2000, 'open');

describe('existing-chat: the codec', () => {
  it('translates surewire packets to { type, payload } and back', () => {
    expect(codec.encode({ event: 'say', args: [{ text: 'hi' }] })).toBe('{"type":"say","payload":{"text":"hi"}}');
    expect(codec.encode({ event: 'typing', args: [] })).toBe('{"type":"typing"}');
    expect(codec.decode('{"type":"said","payload":{"nick":"ada","text":"hi","at":1}}')).toEqual({
      event: 'said',
      args: [{ nick: 'ada', text: 'hi', at: 1 }],
    });
    expect(codec.decode('{"type":"pong"}')).toEqual({ event: 'pong', args: [] });
    for (const p of [
      { event: 'hello', args: [{ nick: 'ada' }] },
      { event: 'welcome', args: [{ recent: [] }] },
      { event: 'typing', args: [] },
    ])
      expect(codec.decode(codec.encode(p) as string)).toEqual(p);
  });

  it('refuses what the format cannot carry, and frames that are not its own', () => {
    expect(() => codec.encode({ event: 'say', args: ['a', 'b'] })).toThrow(/one payload/);
    expect(() => codec.encode({ event: 'history', args: [], id: 1 })).toThrow(/request id/);
    expect(() => codec.decode('["said","hi"]')).toThrow();
    expect(() => codec.decode('not json')).toThrow();
  });
});

describe('existing-chat: the unchanged server and the surewire page', () => {
  it('lets the old page and the surewire page chat both ways, with typing', async () => {
    const { url, seen } = await start();
    const old = await oldClient(url, 'old');
    const { chat, errors, serverErrors } = newClient(url, 'new');
    const said: Said[] = [];
    const welcome: unknown[] = [];
    const typing: unknown[] = [];
    chat.on('said', (m: Said) => said.push(m));
    chat.on('welcome', (w: unknown) => welcome.push(w));
    chat.on('typing', (t: unknown) => typing.push(t));
    await waitFor(() => welcome.length, 2000, 'welcome');

    expect(chat.send('say', { text: '<b>from surewire</b>' })).toBe('sent');
    expect(await old.next('said')).toMatchObject({ nick: 'new', text: '<b>from surewire</b>' });
    old.send('say', { text: 'from the old page' });
    await waitFor(() => said.some((m) => m.text == 'from the old page'), 2000, 'said');
    expect(said.map((m) => [m.nick, m.text])).toEqual([
      ['new', '<b>from surewire</b>'],
      ['old', 'from the old page'],
    ]);

    chat.send('typing');
    expect(await old.next('typing')).toEqual({ nick: 'new' });
    old.send('typing');
    await waitFor(() => typing.length, 2000, 'typing');
    expect(typing).toEqual([{ nick: 'old' }]);

    // A newcomer's welcome holds both lines.
    const late = await oldClient(url, 'late');
    expect((late.got[0]?.payload as { recent: Said[] }).recent.map((m) => m.text)).toEqual(['<b>from surewire</b>', 'from the old page']);

    // The server understood every frame surewire sent: its own types only, hello first, and no error back.
    const mine = seen[1]!.map((f) => JSON.parse(f) as Frame);
    expect(mine[0]).toEqual({ type: 'hello', payload: { nick: 'new' } });
    expect(mine.every((f) => ['hello', 'say', 'typing', 'ping'].includes(f.type))).toBe(true);
    expect(serverErrors).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('keeps the heartbeat on the server’s own ping/pong: rtt measured, pongs not dispatched', async () => {
    const { url, seen } = await start();
    const { chat, errors, serverErrors } = newClient(url, 'hb', { heartbeat: { interval: 30, timeout: 1000 } });
    const pongs: unknown[] = [];
    chat.on('pong', () => pongs.push(1));
    const rtts: number[] = [];
    chat.connection.on('heartbeat', ({ rtt }) => rtts.push(rtt));
    await waitFor(() => rtts.length >= 3, 2000, 'three heartbeats');
    expect(chat.connection.getSnapshot().rtt).toBeGreaterThanOrEqual(0);
    expect(seen[0]!.filter((f) => f == '{"type":"ping"}').length).toBeGreaterThanOrEqual(3);
    expect(pongs).toEqual([]);
    expect(serverErrors).toEqual([]);
    expect(errors).toEqual([]);
    expect(chat.connection.state).toBe('open');
  });

  it('queues what is said while the connection is down and sends it after the hello on the next one', async () => {
    const { url, seen, sockets } = await start();
    const old = await oldClient(url, 'old');
    const { chat, serverErrors } = newClient(url, 'new');
    await opened(chat);
    await waitFor(() => seen[1]?.length, 2000, 'hello');
    sockets[1]!.terminate();
    await waitFor(() => chat.connection.state != 'open', 2000, 'the cut');
    expect(chat.send('say', { text: 'said offline' })).toBe('queued');
    expect(chat.connection.getSnapshot().queued).toBe(1);
    expect(await old.next('said')).toMatchObject({ nick: 'new', text: 'said offline' });
    expect(seen[2]!.map((f) => JSON.parse(f).type).filter((t) => t != 'ping')).toEqual(['hello', 'say']);
    expect(chat.connection.getSnapshot().queued).toBe(0);
    expect(serverErrors).toEqual([]);
  });

  it('(why helloFirst exists) a hello sent from an open listener comes after the outbox, and the server refuses the say', async () => {
    const { url, seen, sockets } = await start();
    const { chat, serverErrors } = newClient(url, 'new', { hello: 'open listener' });
    await opened(chat);
    await waitFor(() => seen[0]?.length, 2000, 'hello');
    sockets[0]!.terminate();
    await waitFor(() => chat.connection.state != 'open', 2000, 'the cut');
    expect(chat.send('say', { text: 'lost' })).toBe('queued');
    await waitFor(() => serverErrors.length, 2000, 'an error from the server');
    expect(serverErrors).toEqual([{ message: 'say hello first' }]);
    expect(seen[1]!.map((f) => JSON.parse(f).type).filter((t) => t != 'ping')).toEqual(['say', 'hello']);
  });
});

describe('existing-chat: the server on its own', () => {
  it('answers bad input with an error frame and keeps the connection', async () => {
    const { url } = await start();
    const old = await oldClient(url, '  ' + 'x'.repeat(40) + '  ');
    for (const bad of ['not json', '[1,2]', '{"type":"nope"}', '{"type":"hello","payload":{"nick":"  "}}']) old.ws.send(bad);
    await waitFor(() => old.got.filter((f) => f.type == 'error').length == 4, 2000, 'four errors');
    old.send('say', { text: '   ' }); // empty: ignored
    old.send('say', { text: 'y'.repeat(3000) });
    const said = await old.next<Said>('said');
    expect(said.nick).toBe('x'.repeat(32));
    expect(said.text).toBe('y'.repeat(2000));
    expect(old.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('cuts ?chaos=1 connections at random (and only those); close() ends every connection', async () => {
    const { chat, url } = await start({ chaos: { min: 20, max: 50 } });
    const calm = await oldClient(url, 'calm');
    const wild = await oldClient(url + '?chaos=1', 'wild');
    await new Promise((r) => wild.ws.once('close', r));
    await delay(60);
    expect(calm.ws.readyState).toBe(WebSocket.OPEN);
    const closed = new Promise((r) => calm.ws.once('close', r));
    await chat.close();
    await closed;
  });
});

// The pages themselves, in jsdom (its WebSocket is a real one), served like the demo serves them.
// They need dist/ (test/global-setup.ts builds it when it is missing).
describe('existing-chat: the pages (jsdom)', () => {
  it('has the built library to load', () => {
    expect(existsSync(minJs), minJs).toBe(true);
  });

  async function page(base: string, name: 'before' | 'after') {
    const dom = new JSDOM(read(`${name}.html`), { url: `${base}/existing-chat/${name}.html`, runScripts: 'outside-only' });
    cleanups.push(() => dom.window.close());
    const { window } = dom;
    if (name == 'after') window.eval(readFileSync(minJs, 'utf8'));
    window.eval(read(`${name}.js`));
    const $ = (sel: string) => window.document.querySelector(sel) as HTMLInputElement;
    await waitFor(() => $('#state').textContent == 'open', 3000, `${name} open`);
    const say = (text: string) => {
      $('#text').value = text;
      $('#send').click();
    };
    const lines = () =>
      [...window.document.querySelectorAll<HTMLElement>('#messages li')].map((li) => `${li.dataset.nick}: ${li.querySelector('.text')!.textContent}`);
    return { window, $, say, lines };
  }

  it('the old page and the surewire page talk to each other; text stays text', async () => {
    const { port } = await start();
    const base = `http://127.0.0.1:${port}`;
    const before = await page(base, 'before');
    const after = await page(base, 'after');
    before.$('#nick').value = 'old';
    before.$('#nick').dispatchEvent(new before.window.Event('change'));
    after.$('#nick').value = 'new';
    after.$('#nick').dispatchEvent(new after.window.Event('change'));
    await delay(50);

    before.say('<img src=x onerror=alert(1)>');
    await waitFor(() => after.lines().length == 1, 2000, 'a line on the after page');
    after.say('hello from after');
    await waitFor(() => before.lines().length == 2, 2000, 'two lines on the before page');
    const want = ['old: <img src=x onerror=alert(1)>', 'new: hello from after'];
    expect(before.lines()).toEqual(want);
    await waitFor(() => after.lines().length == 2, 2000, 'two lines on the after page');
    expect(after.lines()).toEqual(want);
    expect(after.window.document.querySelector('#messages img')).toBeNull();
    expect(after.$('#text').value).toBe('');

    expect(before.$('#queued').textContent).toBe('–');
    expect(after.$('#queued').textContent).toBe('0');
    expect(after.$('#countdown').textContent).toBe('');
  });

  it('after a cut, the old page loses what is typed, the surewire page queues it and shows the countdown', async () => {
    const { chat, port } = await start();
    const base = `http://127.0.0.1:${port}`;
    const before = await page(base, 'before');
    const after = await page(base, 'after');
    for (const ws of chat.wss.clients) ws.terminate();
    const watcher = await oldClient(`ws://127.0.0.1:${port}/legacy`, 'watcher');
    await waitFor(() => before.$('#state').textContent == 'reconnecting' && after.$('#state').textContent == 'reconnecting', 2000, 'reconnecting');
    expect(before.$('#countdown').textContent).toMatch(/^retry in \d s$/);
    expect(after.$('#countdown').textContent).toMatch(/^retry in \d s$/);

    before.say('typed on the old page while down');
    after.say('typed on the new page while down');
    expect(before.$('#text').value).toBe('typed on the old page while down'); // not sent: still in the box
    expect(after.$('#text').value).toBe('');
    expect(after.$('#queued').textContent).toBe('1');

    expect(await watcher.next('said')).toMatchObject({ text: 'typed on the new page while down' });
    await waitFor(() => after.$('#state').textContent == 'open' && after.$('#queued').textContent == '0', 2000, 'flushed');
  });
});
