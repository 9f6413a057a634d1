// The demo server (examples/server/index.mjs), as the pages use it: the files it serves, and the reliable
// chat over /ws and over socket.io with the real surewire client from src/, including under chaos (the
// server cutting connections) and across a restart. It serves the built library: run `npm run build` first.
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { createServer as createTcpServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { io } from 'socket.io-client';
import { Surewire, reliable, type SurewireOptions } from '../../src/index';
import { socketIo } from '../../src/transports/socketio';
import { startServer, type ChatMessage, type DemoServer, type DemoServerOptions } from '../../examples/server/index.mjs';
import { NodeWebSocket } from '../helpers/ws-client';
import { delay, waitFor } from '../helpers/wait';

interface ServerEvents {
  history: (messages: ChatMessage[]) => void;
  message: (m: ChatMessage) => void;
  typing: (t: { nick: string }) => void;
}
interface ClientEvents {
  join: (room: string, nick: string) => void;
  message: (text: string) => void;
  typing: () => void;
}

const examples = (rel: string): string => fileURLToPath(new URL(`../../examples/${rel}`, import.meta.url));

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** Logged errors fail the test that caused them; the warning about a missing existing-chat server is expected. */
let logged: unknown[][] = [];
const log = { warn: () => {}, error: (...a: unknown[]) => void logged.push(a) };
afterEach(() => {
  const errors = logged;
  logged = [];
  expect(errors).toEqual([]);
});

async function serve(options: DemoServerOptions = {}, port = 0): Promise<DemoServer & { base: string }> {
  const srv = await startServer(port, '127.0.0.1', { log, ...options });
  cleanups.push(() => srv.close());
  return Object.assign(srv, { base: `http://127.0.0.1:${srv.port}` });
}

const fast = { reconnect: { initialDelay: 10, maxDelay: 100, jitter: 0, stableAfter: 50 } } as const;

/** A chat member as the pages make one: reliable delivery, join at once and again on `discontinuity`. */
function member(port: number, o: { nick: string; room?: string; over?: 'ws' | 'socket.io'; chaos?: boolean; join?: boolean; options?: Partial<SurewireOptions> }) {
  const delivery = reliable();
  const query = o.chaos ? '?chaos=1' : '';
  const chat =
    o.over == 'socket.io'
      ? new Surewire<ServerEvents, ClientEvents>(`http://127.0.0.1:${port}`, {
          transport: socketIo(io, o.chaos ? { query: { chaos: '1' } } : {}),
          reliable: delivery,
          ...fast,
          ...o.options,
        })
      : new Surewire<ServerEvents, ClientEvents>(`ws://127.0.0.1:${port}/ws${query}`, { WebSocket: NodeWebSocket, reliable: delivery, ...fast, ...o.options });
  cleanups.push(() => chat.close());
  const m = {
    chat,
    delivery,
    histories: [] as ChatMessage[][],
    messages: [] as ChatMessage[],
    typing: [] as string[],
    opens: 0,
    texts: () => m.messages.map((x) => x.text),
    join: () => chat.send('join', o.room ?? 'lobby', o.nick),
  };
  chat.on('history', (h) => void m.histories.push(h));
  chat.on('message', (x) => void m.messages.push(x));
  chat.on('typing', (t) => void m.typing.push(t.nick));
  chat.connection.on('open', () => void m.opens++);
  delivery.on('discontinuity', () => void m.join());
  if (o.join !== false) m.join();
  return m;
}
type Member = ReturnType<typeof member>;

const joined = (...ms: Member[]) => waitFor(() => ms.every((m) => m.histories.length > 0), 3000, 'every member joined');

/** A raw `ws` client that speaks the protocol by hand, to see the frames on the wire. */
async function rawMember(port: number, session: string, room: string, nick: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  cleanups.push(() => ws.terminate());
  const frames: unknown[] = [];
  ws.on('message', (d) => void frames.push(JSON.parse(String(d))));
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  ws.send(JSON.stringify(['$hello', session, 0]));
  ws.send(JSON.stringify(['$m', 1, 'join', room, nick]));
  await waitFor(() => frames.some((f) => Array.isArray(f) && f[0] == '$m' && f[2] == 'history'), 2000, 'the raw history');
  return { ws, frames };
}

/** Opens a raw WebSocket on `path` and tells how it went: 'open', or the HTTP status it was refused with. */
const upgrade = (port: number, path: string) =>
  new Promise<string | number>((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
    ws.once('open', () => (resolve('open'), ws.close()));
    ws.once('unexpected-response', (_req, res) => (resolve(res.statusCode ?? 0), ws.terminate()));
    ws.once('error', () => resolve('error'));
  });

const get = (url: string, init?: RequestInit) => fetch(url, { redirect: 'manual', ...init });

describe('the demo server: pages and files', () => {
  it('serves the index page, linking every demo page', async () => {
    const { base } = await serve();
    const res = await get(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toBe("script-src 'self'");
    const html = await res.text();
    for (const href of ['/cdn/', '/esm/', '/socket.io/', '/existing-chat/before.html', '/existing-chat/after.html', '/react/', '/vue/'])
      expect(html).toContain(`href="${href}"`);
  });

  it('serves the CDN page: one script tag for the library, classic scripts only, nothing inline', async () => {
    const { base } = await serve();
    const res = await get(`${base}/cdn/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe("script-src 'self'");
    const html = await res.text();
    expect(html).toContain('https://unpkg.com/surewire/dist/surewire.min.js');
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)].filter((s) => !isInComment(html, s.index));
    expect(scripts.map((s) => s[1]!.trim())).toEqual(['src="/dist/surewire.min.js"', 'src="/common/chat-ui.js"', 'src="chat.js"']);
    expect(scripts.every((s) => s[2] == '')).toBe(true);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    for (const id of ['state', 'countdown', 'queued', 'rtt', 'messages', 'nick', 'text', 'send', 'chaos', 'typing']) expect(html).toContain(`id="${id}"`);
    for (const src of ['/dist/surewire.min.js', '/common/chat-ui.js', '/cdn/chat.js', '/common/chat.css']) {
      const r = await get(base + src);
      expect(r.status, src).toBe(200);
      expect(r.headers.get('content-type'), src).toMatch(src.endsWith('.css') ? /^text\/css/ : /^text\/javascript/);
    }
    expect(await (await get(`${base}/cdn/chat.js`)).text()).toContain("new Surewire(ui.wsUrl('/ws'), {");
  });

  it('serves the ES module page, which imports /dist/surewire.mjs', async () => {
    const { base } = await serve();
    const html = await (await get(`${base}/esm/`)).text();
    expect(html).toContain('<script type="module" src="chat.mjs"></script>');
    expect(html).not.toContain('surewire.min.js"></script>');
    const code = await get(`${base}/esm/chat.mjs`);
    expect(code.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await code.text()).toContain("import { Surewire, reliable } from '/dist/surewire.mjs';");
    expect((await get(`${base}/dist/surewire.mjs`)).status).toBe(200);
  });

  it('serves the socket.io page at /socket.io/ while engine.io answers its own requests there', async () => {
    const { base } = await serve();
    const page = await get(`${base}/socket.io/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<script src="/dist/surewire.socket.io.min.js"></script>');
    const code = await (await get(`${base}/socket.io/chat.js`)).text();
    expect(code).toContain('transport: Surewire.socketIo(Surewire.io');
    expect((await get(`${base}/dist/surewire.socket.io.min.js`)).status).toBe(200);
    // An engine.io handshake (HTTP long-polling), on the same path.
    const handshake = await get(`${base}/socket.io/?EIO=4&transport=polling`);
    expect(handshake.status).toBe(200);
    expect(await handshake.text()).toMatch(/^0\{"sid":/);
  });

  it('serves the React, Vue and existing-chat folders as they are, and nothing outside the served folders', async () => {
    const { base } = await serve();
    for (const [url, file] of [
      ['/react/', 'react/index.html'],
      ['/vue/', 'vue/index.html'],
      ['/existing-chat/before.html', 'existing-chat/before.html'],
      ['/existing-chat/after.html', 'existing-chat/after.html'],
    ] as const)
      expect((await get(base + url)).status, url).toBe(existsSync(examples(file)) ? 200 : 404);
    for (const url of ['/package.json', '/src/index.ts', '/examples/server/index.mjs', '/server/index.mjs', '/cdn/..%2f..%2fpackage.json', '/cdn/%2e%2e/%2e%2e/package.json', '/dist/..%2fpackage.json', '/nope'])
      expect((await get(base + url)).status, url).toBe(404);
    const redirect = await get(`${base}/cdn`);
    expect([redirect.status, redirect.headers.get('location')]).toEqual([301, '/cdn/']);
    expect((await get(`${base}/cdn/`, { method: 'POST' })).status).toBe(405);
  });
});

describe('the demo chat over /ws', () => {
  it('joins a room and sends each message to every member of that room, and to no other', async () => {
    const { port } = await serve();
    const ada = member(port, { nick: 'ada' });
    const bob = member(port, { nick: 'bob' });
    const cy = member(port, { nick: 'cy', room: 'kitchen' });
    await joined(ada, bob, cy);
    expect(ada.histories).toEqual([[]]);
    ada.chat.send('message', 'hi <b>bob</b>');
    await waitFor(() => bob.messages.length == 1 && ada.messages.length == 1, 2000, 'the message in the lobby');
    expect(bob.messages[0]).toMatchObject({ room: 'lobby', nick: 'ada', text: 'hi <b>bob</b>' });
    expect(bob.messages[0]!.at).toBeTypeOf('number');
    expect(ada.messages).toEqual(bob.messages);
    // cy's own message comes after anything the server sent it before: so it got nothing from the lobby.
    cy.chat.send('message', 'anyone?');
    await waitFor(() => cy.messages.length == 1, 2000, "cy's own message");
    expect(cy.texts()).toEqual(['anyone?']);
    await delay(50);
    expect(bob.texts()).toEqual(['hi <b>bob</b>']);
  });

  it("sends the room's last 50 messages on join, then the live ones, none twice", async () => {
    const { port } = await serve();
    const ada = member(port, { nick: 'ada' });
    await joined(ada);
    for (let i = 1; i <= 55; i++) ada.chat.send('message', `m${i}`);
    await ada.delivery.delivered();
    const dan = member(port, { nick: 'dan' });
    await joined(dan);
    expect(dan.histories[0]!.map((m) => m.text)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i + 6}`));
    ada.chat.send('message', 'live');
    await waitFor(() => dan.messages.length == 1, 2000, 'the live message');
    expect(dan.texts()).toEqual(['live']);
    expect(new Set([...dan.histories[0]!, ...dan.messages].map((m) => m.id)).size).toBe(51);
  });

  it('sends typing to the others in the room only, as a plain event that is never stored', async () => {
    const { port } = await serve();
    const raw = await rawMember(port, 'raw-session-of-22-chars', 'lobby', 'raw');
    const bob = member(port, { nick: 'bob' });
    const cy = member(port, { nick: 'cy', room: 'kitchen' });
    await joined(bob, cy);
    bob.chat.send('typing');
    await waitFor(() => raw.frames.some((f) => Array.isArray(f) && f[0] == 'typing'), 2000, 'typing on the wire');
    // Not a `$m`: no offset, nothing to replay.
    expect(raw.frames.filter((f) => JSON.stringify(f).includes('typing'))).toEqual([['typing', { nick: 'bob' }]]);
    const dan = member(port, { nick: 'dan' });
    await joined(dan);
    dan.chat.send('typing');
    await waitFor(() => bob.typing.length == 1, 2000, "dan's typing at bob's");
    expect(bob.typing).toEqual(['dan']);
    await delay(100);
    expect(dan.typing).toEqual([]);
    expect(cy.typing).toEqual([]);
    expect(dan.histories).toEqual([[]]);
  });

  it('trims nicknames to 32 characters and texts to 2000, and ignores blank or malformed messages', async () => {
    const { port } = await serve();
    const ada = member(port, { nick: `  ${'n'.repeat(40)}  `, room: `  ${'r'.repeat(40)}` });
    await joined(ada);
    const send = ada.chat.send as (event: string, ...args: unknown[]) => unknown;
    ada.chat.send('message', 'x'.repeat(2500));
    send('message', '   ');
    send('message', 42);
    send('message');
    send('nonsense', 'x');
    send('join', { room: 'x' }, null);
    ada.chat.send('message', 'end');
    await waitFor(() => ada.messages.length == 2, 2000, 'two messages');
    const [long, end] = ada.messages;
    expect(long!.nick).toBe('n'.repeat(32));
    expect(long!.room).toBe('r'.repeat(32));
    expect(long!.text).toBe('x'.repeat(2000));
    // The malformed join went to the lobby under an anonymous nickname.
    expect(end).toMatchObject({ room: 'lobby', nick: 'anonymous', text: 'end' });
  });

  it('answers the heartbeat, so the round trip is measured', async () => {
    const { port } = await serve();
    const ada = member(port, { nick: 'ada', options: { heartbeat: { interval: 30, timeout: 1000 } } });
    const rtt = await new Promise<number>((resolve) => ada.chat.connection.once('heartbeat', ({ rtt }) => resolve(rtt)));
    expect(rtt).toBeGreaterThanOrEqual(0);
    expect(ada.chat.connection.getSnapshot().rtt).toBe(rtt);
  });

  it('loses nothing across a server restart: what was typed meanwhile arrives once the client joins again', async () => {
    const first = await serve();
    const ada = member(first.port, { nick: 'ada' });
    await joined(ada);
    ada.chat.send('message', 'before');
    await waitFor(() => ada.messages.length == 1, 2000, 'the first message');
    // Acknowledged first: a memory store forgets, at a restart, which messages it had handled, so one handled
    // but not yet acknowledged would be sent again (PROTOCOL.md: exactly once while the store keeps the session).
    await ada.delivery.delivered();
    await first.close();
    await waitFor(() => ada.chat.connection.state != 'open', 2000, 'the client noticed');
    expect(ada.chat.send('message', 'while down')).toBe('queued');
    await serve({}, first.port);
    // The new server knows nothing: the client gets a discontinuity and joins again (as the pages do).
    await waitFor(() => ada.histories.length == 2 && ada.messages.length == 2, 3000, 'the rejoin and the message');
    expect(ada.histories[1]).toEqual([]);
    expect(ada.texts()).toEqual(['before', 'while down']);
  });
});

describe('the demo chat over socket.io', () => {
  it('is the same chat, with the same rooms, over socket.io-client and the socket.io transport', async () => {
    const { port } = await serve();
    const ada = member(port, { nick: 'ada', over: 'socket.io' });
    const bob = member(port, { nick: 'bob' });
    await joined(ada, bob);
    ada.chat.send('message', 'from socket.io');
    bob.chat.send('message', 'from ws');
    await waitFor(() => ada.messages.length == 2 && bob.messages.length == 2, 3000, 'both messages at both');
    expect(ada.messages).toEqual(bob.messages);
    expect(ada.texts().sort()).toEqual(['from socket.io', 'from ws']);
    bob.chat.send('typing');
    await waitFor(() => ada.typing.length == 1, 2000, "bob's typing over socket.io");
    ada.chat.send('typing');
    await waitFor(() => bob.typing.length == 1, 2000, "ada's typing over ws");
    expect([ada.typing, bob.typing]).toEqual([['bob'], ['ada']]);
    const cy = member(port, { nick: 'cy', over: 'socket.io' });
    await joined(cy);
    expect(cy.histories[0]).toEqual(ada.messages);
  });
});

describe('chaos', () => {
  it('terminates ?chaos=1 connections at random (ws and socket.io), and no message is lost or doubled', async () => {
    const { port } = await serve({ chaos: { min: 150, max: 450 } });
    const ada = member(port, { nick: 'ada', chaos: true });
    const bob = member(port, { nick: 'bob', chaos: true, over: 'socket.io' });
    const cy = member(port, { nick: 'cy' });
    await joined(ada, bob, cy);
    const sent = { ada: 0, bob: 0 };
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      ada.chat.send('message', `ada ${++sent.ada}`);
      bob.chat.send('message', `bob ${++sent.bob}`);
      await delay(25);
    }
    await Promise.all([ada.delivery.delivered(), bob.delivery.delivered()]);
    const total = sent.ada + sent.bob;
    await waitFor(() => [ada, bob, cy].every((m) => m.messages.length >= total), 5000, 'every message at every member');
    for (const m of [ada, bob, cy]) {
      expect(m.messages.length).toBe(total);
      for (const who of ['ada', 'bob'] as const)
        expect(m.texts().filter((t) => t.startsWith(who + ' '))).toEqual(Array.from({ length: sent[who] }, (_, i) => `${who} ${i + 1}`));
    }
    // Everyone sees the room in the same order.
    expect(ada.messages.map((m) => m.id)).toEqual(cy.messages.map((m) => m.id));
    expect(bob.messages.map((m) => m.id)).toEqual(cy.messages.map((m) => m.id));
    expect(ada.opens).toBeGreaterThanOrEqual(5);
    expect(bob.opens).toBeGreaterThanOrEqual(5);
    expect(cy.opens).toBe(1);
  });
});

describe('upgrades and close()', () => {
  it('routes /legacy upgrades to the existing chat (404 while examples/existing-chat/server.mjs does not exist), and refuses other paths', async () => {
    const { port } = await serve();
    expect(await upgrade(port, '/legacy')).toBe(existsSync(examples('existing-chat/server.mjs')) ? 'open' : 404);
    expect(await upgrade(port, '/nowhere')).toBe(404);
    expect(await upgrade(port, '/ws')).toBe('open');
  });

  it('close() ends every connection and frees the port', async () => {
    const srv = await serve();
    const ada = member(srv.port, { nick: 'ada' });
    const bob = member(srv.port, { nick: 'bob', over: 'socket.io', options: { transport: socketIo(io, { transports: ['polling'] }) } });
    await joined(ada, bob);
    await get(`${srv.base}/cdn/`); // a keep-alive HTTP connection
    const started = Date.now();
    await srv.close();
    expect(Date.now() - started).toBeLessThan(1000);
    await waitFor(() => ada.chat.connection.state != 'open' && bob.chat.connection.state != 'open', 2000, 'both clients dropped');
    const tcp = createTcpServer();
    await new Promise<void>((resolve, reject) => (tcp.once('error', reject), tcp.listen(srv.port, '127.0.0.1', () => resolve())));
    await new Promise((resolve) => tcp.close(resolve));
    await srv.close(); // idempotent
  });

  it('rejects when the port is taken', async () => {
    const srv = await serve();
    await expect(startServer(srv.port, '127.0.0.1', { log })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});

/** Whether the match at `index` is inside an HTML comment. */
function isInComment(html: string, index = 0): boolean {
  return html.lastIndexOf('<!--', index) > html.lastIndexOf('-->', index);
}
