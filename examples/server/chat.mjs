// The chat itself, over surewire's reliable protocol (`surewire/server`, as built into dist/), for `ws`
// and socket.io connections alike: rooms, the last 50 messages of each, and a volatile "typing" signal.
//
// Client → server (reliable, each handled once and in order): join(room, nick), message(text), typing().
// Server → client: history(messages) and message({ id, room, nick, text, at }) reliably, with
// `server.send`; typing({ nick }) as a plain event on the socket: news now, worthless later, never stored.
//
// With `redis` (an ioredis client), several processes run one chat: sessions, deduplication and histories
// in `redisStore` (surewire/server/redis), rooms in Redis (rooms.mjs), typing hints over Redis pub/sub.
import { randomBytes } from 'node:crypto';
import { memoryStore, reliable } from '../../dist/surewire.server.mjs';
import { redisStore } from '../../dist/surewire.server.redis.mjs';
import { memoryRooms, redisRooms } from './rooms.mjs';

export const limits = { history: 50, nick: 32, room: 32, text: 2000 };
const DEFAULT_ROOM = 'lobby';
/** Messages a session may send before its first `join` (see `held` below). */
const MAX_HELD = 20;

/** Trimmed, at most `max` characters (whole code points), or '' when it is not a string. */
const clean = (s, max) => (typeof s == 'string' ? Array.from(s.trim()).slice(0, max).join('').trim() : '');

/**
 * The chat server, without any network: attach sockets with `ws(ws, { chaos })` and
 * `socketIo(socket, { chaos })`. `chaos: { min, max }` is the range of delays (ms) after which a
 * connection that asked for chaos (`?chaos=1`) is terminated; `sessions` bounds the sessions remembered (in
 * memory); `redis`, an ioredis client, puts the chat in Redis, shared with every process given the same Redis.
 */
export function chatServer({ chaos = { min: 2000, max: 5000 }, sessions = 10_000, log = console, redis } = {}) {
  const rooms = redis ? redisRooms(redis, { history: limits.history }) : memoryRooms({ history: limits.history, sessions });
  /** What a session said before its first `join` (see `message`), in this process; bounded like the sessions. */
  const held = new Map();
  /** When each session last typed (at most one hint a second). */
  const typedAt = new Map();
  /** The sockets connected now, for the volatile `typing` event. */
  const live = new Map();
  const timers = new Set();
  // Message ids: unique across processes (a random part per process) and restarts.
  const boot = `${Date.now().toString(36)}${redis ? randomBytes(3).toString('hex') : ''}`;
  let nextId = 0;

  const store = redis ? redisStore(redis, { history: 500 }) : memoryStore({ history: 500, sessions });
  const server = reliable({
    store,
    onMessage: (session, event, ...args) => {
      if (event == 'join') return join(session, args[0], args[1]);
      if (event == 'message') return message(session, args[0]);
      if (event == 'typing') return typing(session);
      // Anything else is ignored: the server trusts no client.
    },
    onError: (e, session) => log.error(`chat${session ? ` (session ${session})` : ''}:`, e),
  });

  // Typing hints of other processes, for the sockets connected here.
  const me = randomBytes(6).toString('hex');
  const hints = redis?.duplicate();
  hints?.on('error', () => {});
  hints?.subscribe('chat:typing').catch((e) => log.error('chat: typing hints:', e));
  hints?.on('message', (_channel, text) => {
    const { from, room, nick, session } = JSON.parse(text);
    if (from != me) void hint(room, nick, session);
  });

  async function join(session, roomName, nickName) {
    const room = clean(roomName, limits.room) || DEFAULT_ROOM;
    const nick = clean(nickName, limits.nick) || 'anonymous';
    const messages = await rooms.join(session, room, nick);
    const sent = server.send(session, 'history', messages);
    // What the session said before it joined: see `message`.
    const early = held.get(session) ?? [];
    held.delete(session);
    return Promise.all([sent, ...early.map((text) => post(room, nick, text))]);
  }

  async function message(session, raw) {
    if (typeof raw != 'string' || !raw.trim()) return;
    const text = Array.from(raw).slice(0, limits.text).join('');
    const m = await rooms.member(session);
    if (m) return post(m.room, m.nick, text);
    // Not joined yet. After a restart this server knows nothing of the session: the client resends what
    // it typed while the server was down, then joins again (its page does on `discontinuity`). A few
    // such messages wait for that join.
    let h = held.get(session);
    if (!h) {
      held.set(session, (h = []));
      if (held.size > sessions) held.delete(held.keys().next().value);
    }
    if (h.length < MAX_HELD) h.push(text);
  }

  /** A message to every session in the room, stored in each one's history (so delivered after a reconnect too). */
  async function post(roomName, nick, text) {
    const msg = { id: `${boot}-${++nextId}`, room: roomName, nick, text, at: Date.now() };
    const to = await rooms.post(roomName, msg);
    if (to) return Promise.all(to.map((s) => server.send(s, 'message', msg)));
  }

  async function typing(session) {
    const m = await rooms.member(session);
    // At most one a second per session: it is only a hint, and it goes to the whole room.
    const now = Date.now();
    if (!m || now - (typedAt.get(session) ?? 0) < 1000) return;
    typedAt.delete(session);
    typedAt.set(session, now);
    if (typedAt.size > sessions) typedAt.delete(typedAt.keys().next().value);
    await hint(m.room, m.nick, session);
    if (redis) await redis.publish('chat:typing', JSON.stringify({ from: me, room: m.room, nick: m.nick, session }));
  }

  /** The typing hint to the sockets connected here whose session is in the room. */
  async function hint(room, nick, from) {
    for (const [socket, emit] of live) {
      const s = server.session(socket);
      if (s && s != from && (await rooms.member(s))?.room == room) emit(socket, { nick });
    }
  }

  /** Terminates a connection that asked for chaos, at a random moment. */
  const unleash = (kill) => {
    const t = setTimeout(() => (timers.delete(t), kill()), chaos.min + Math.random() * (chaos.max - chaos.min));
    timers.add(t);
    return () => (clearTimeout(t), timers.delete(t));
  };

  return {
    /** The `reliable()` server of `surewire/server`. */
    server,
    /** Speaks the chat on a `ws` WebSocket (`request`: its upgrade request); `chaos` terminates it after a while. */
    ws(ws, { chaos: wanted = false, request } = {}) {
      server.ws(ws, request);
      live.set(ws, (w, payload) => w.readyState == 1 && w.send(JSON.stringify(['typing', payload])));
      const stop = wanted ? unleash(() => ws.terminate()) : () => {};
      ws.on('close', () => (live.delete(ws), stop()));
    },
    /** Speaks the chat on a socket.io socket; `chaos` closes its engine.io connection after a while. */
    socketIo(socket, { chaos: wanted = false } = {}) {
      server.socketIo(socket);
      live.set(socket, (s, payload) => s.connected && s.emit('typing', payload));
      const stop = wanted ? unleash(() => socket.conn.close()) : () => {};
      socket.on('disconnect', () => (live.delete(socket), stop()));
    },
    /** Rooms and their members (in memory only), for tests and curiosity. */
    rooms: rooms.rooms,
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await server.close();
      live.clear();
      await store.close?.();
      hints?.disconnect();
    },
  };
}
