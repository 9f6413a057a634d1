// The chat itself, over surewire's reliable protocol (`surewire/server`, as built into dist/), for `ws`
// and socket.io connections alike: rooms, the last 50 messages of each, and a volatile "typing" signal.
//
// Client → server (reliable, each handled once and in order): join(room, nick), message(text), typing().
// Server → client: history(messages) and message({ id, room, nick, text, at }) reliably, with
// `server.send`; typing({ nick }) as a plain event on the socket: news now, worthless later, never stored.
import { memoryStore, reliable } from '../../dist/surewire.server.mjs';

export const limits = { history: 50, nick: 32, room: 32, text: 2000 };
const DEFAULT_ROOM = 'lobby';
/** Messages a session may send before its first `join` (see `held` below). */
const MAX_HELD = 20;

/** Trimmed, at most `max` characters (whole code points), or '' when it is not a string. */
const clean = (s, max) => (typeof s == 'string' ? Array.from(s.trim()).slice(0, max).join('').trim() : '');

/**
 * The chat server, without any network: attach sockets with `ws(ws, { chaos })` and
 * `socketIo(socket, { chaos })`. `chaos: { min, max }` is the range of delays (ms) after which a
 * connection that asked for chaos (`?chaos=1`) is terminated; `sessions` bounds the sessions remembered.
 */
export function chatServer({ chaos = { min: 2000, max: 5000 }, sessions = 10_000, log = console } = {}) {
  /** name → { messages: the last 50, members: Set of session ids } */
  const rooms = new Map();
  /**
   * session id → { room, nick, held, typedAt }, least recently active first (bounded by `sessions`). A session
   * stays in its room while disconnected: what is said meanwhile waits in its history in the store and
   * is replayed when it comes back.
   */
  const members = new Map();
  /** The sockets connected now, for the volatile `typing` event. */
  const live = new Map();
  const timers = new Set();
  const boot = Date.now().toString(36);
  let nextId = 0;

  const server = reliable({
    store: memoryStore({ history: 500, sessions }),
    onMessage: (session, event, ...args) => {
      if (event == 'join') return join(session, args[0], args[1]);
      if (event == 'message') return message(session, args[0]);
      if (event == 'typing') return typing(session);
      // Anything else is ignored: the server trusts no client.
    },
    onError: (e, session) => log.error(`chat${session ? ` (session ${session})` : ''}:`, e),
  });

  /** The session's entry, made most recently used; created (not in any room yet) when `create`. */
  const member = (session, create = false) => {
    let m = members.get(session);
    if (m) members.delete(session), members.set(session, m);
    else if (create) {
      members.set(session, (m = { room: undefined, nick: '', held: [], typedAt: 0 }));
      if (members.size > sessions) {
        const [oldest, om] = members.entries().next().value;
        members.delete(oldest);
        leave(oldest, om);
      }
    }
    return m;
  };

  const leave = (session, m) => {
    const room = rooms.get(m.room);
    room?.members.delete(session);
    if (room && !room.members.size) rooms.delete(m.room);
  };

  function join(session, roomName, nickName) {
    const m = member(session, true);
    if (m.room) leave(session, m);
    m.room = clean(roomName, limits.room) || DEFAULT_ROOM;
    m.nick = clean(nickName, limits.nick) || 'anonymous';
    let room = rooms.get(m.room);
    if (!room) rooms.set(m.room, (room = { messages: [], members: new Set() }));
    room.members.add(session);
    // Taken in the same tick as joining: every later message of the room comes after it, none is in both.
    const sent = server.send(session, 'history', room.messages.slice());
    // What the session said before it joined: see `message`.
    return Promise.all([sent, ...m.held.splice(0).map((text) => post(m.room, m.nick, text))]);
  }

  function message(session, raw) {
    if (typeof raw != 'string' || !raw.trim()) return;
    const text = Array.from(raw).slice(0, limits.text).join('');
    const m = member(session, true);
    if (m.room) return post(m.room, m.nick, text);
    // Not joined yet. After a restart this server knows nothing of the session: the client resends what
    // it typed while the server was down, then joins again (its page does on `discontinuity`). A few
    // such messages wait for that join.
    if (m.held.length < MAX_HELD) m.held.push(text);
  }

  /** A message to every session in the room, stored in each one's history (so delivered after a reconnect too). */
  function post(roomName, nick, text) {
    const room = rooms.get(roomName);
    if (!room) return;
    const msg = { id: `${boot}-${++nextId}`, room: roomName, nick, text, at: Date.now() };
    room.messages.push(msg);
    if (room.messages.length > limits.history) room.messages.shift();
    return Promise.all([...room.members].map((s) => server.send(s, 'message', msg)));
  }

  function typing(session) {
    const m = member(session);
    // At most one a second per session: it is only a hint, and it goes to the whole room.
    const now = Date.now();
    if (!m?.room || now - m.typedAt < 1000) return;
    m.typedAt = now;
    for (const [socket, emit] of live) {
      const s = server.session(socket);
      if (s && s != session && members.get(s)?.room == m.room) emit(socket, { nick: m.nick });
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
    /** Rooms and their members, for tests and curiosity. */
    rooms,
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await server.close();
      live.clear();
    },
  };
}
