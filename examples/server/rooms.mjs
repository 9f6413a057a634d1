// Where the chat keeps its rooms: who is in which room under which nick, and each room's last messages.
// `memoryRooms()` for one process (`npm start`); `redisRooms(redis)` in Redis, shared by every process of the
// chat (REDIS_URL), so that a message posted on one process reaches the members connected to another.
//
// Both answer the same four questions; the chat (chat.mjs) awaits whatever they return.
//   join(session, room, nick)  leaves the session's old room, joins this one; returns the room's last messages,
//                              taken in the same step: every later message of the room reaches the session, and
//                              none is both in what this returns and sent to it
//   member(session)            { room, nick } or undefined
//   post(room, message)        keeps the message among the room's last ones; returns the sessions to send it to
//                              (undefined when the room does not exist)
//   close()

/** Rooms in this process's memory; at most `sessions` members, the least recently active forgotten first. */
export function memoryRooms({ history, sessions }) {
  /** name → { messages, members: Set of session ids } */
  const rooms = new Map();
  /** session → { room, nick }, least recently active first */
  const members = new Map();
  const leave = (session, m) => {
    const room = rooms.get(m.room);
    room?.members.delete(session);
    if (room && !room.members.size) rooms.delete(m.room);
  };
  return {
    rooms,
    join(session, name, nick) {
      const old = members.get(session);
      if (old) members.delete(session), leave(session, old);
      members.set(session, { room: name, nick });
      if (members.size > sessions) {
        const [oldest, om] = members.entries().next().value;
        members.delete(oldest);
        leave(oldest, om);
      }
      let room = rooms.get(name);
      if (!room) rooms.set(name, (room = { messages: [], members: new Set() }));
      room.members.add(session);
      return room.messages.slice();
    },
    member(session) {
      const m = members.get(session);
      // Used again: the most recently active now.
      if (m) members.delete(session), members.set(session, m);
      return m;
    },
    post(name, message) {
      const room = rooms.get(name);
      if (!room) return undefined;
      room.messages.push(message);
      if (room.messages.length > history) room.messages.shift();
      return [...room.members];
    },
    close() {},
  };
}

/**
 * Rooms in Redis (an ioredis client), under `prefix`: a hash per member (`member:<session>`: room, nick;
 * expiring after a day without activity), a set of members and a list of the last messages per room
 * (`room:<name>:members`, `room:<name>:messages`). Each step is one MULTI, so joins and posts of different
 * processes interleave cleanly.
 */
export function redisRooms(redis, { history, prefix = 'chat:', ttl = 86_400 }) {
  const memberKey = (s) => `${prefix}member:${s}`;
  const membersKey = (room) => `${prefix}room:${room}:members`;
  const messagesKey = (room) => `${prefix}room:${room}:messages`;
  const results = (replies) => replies.map(([e, v]) => {
    if (e) throw e;
    return v;
  });
  return {
    async join(session, name, nick) {
      const old = await redis.hget(memberKey(session), 'room');
      const m = redis.multi();
      if (old && old != name) m.srem(membersKey(old), session);
      m.hset(memberKey(session), 'room', name, 'nick', nick).expire(memberKey(session), ttl);
      m.sadd(membersKey(name), session).lrange(messagesKey(name), 0, -1);
      const r = results(await m.exec());
      return r[r.length - 1].map((s) => JSON.parse(s));
    },
    async member(session) {
      const m = await redis.hgetall(memberKey(session));
      if (!m?.room) return undefined;
      await redis.expire(memberKey(session), ttl);
      return { room: m.room, nick: m.nick };
    },
    async post(name, message) {
      const [, , members] = results(
        await redis.multi().rpush(messagesKey(name), JSON.stringify(message)).ltrim(messagesKey(name), -history, -1).smembers(membersKey(name)).exec(),
      );
      return members.length ? members : undefined;
    },
    close() {},
  };
}
