// The Lua scripts of `redisStore`: each runs atomically in Redis, so a step of the protocol (a `$hello`'s
// read, storing a sequence number, appending a message) is one command, one round trip, and never half done.
// Keys of one session (see docs/redis.md): `<prefix>{<id>}:s` the record (a hash), `<prefix>{<id>}:h` the
// history (a stream whose entry ids are the offsets: `<offset>-0`); `<prefix>sessions` a sorted set of every
// session by last use (for `broadcast`). News for other processes goes out with PUBLISH on one channel.

/**
 * `$hello` (`Store.open`): check, create and bind in one step. A session bound to another principal is
 * answered as it is and left untouched. Otherwise it is held by this process (a field per holder, and their
 * count: a held session's history gets the long expiry), gets a new epoch (so that a takeover notice can be
 * told from a stale one), and the takeover is published.
 * KEYS: record, history, sessions. ARGV: ttl, keep, now, id, token, channel, principal, create, max sessions.
 * Returns `{'none'}`, `{'foreign', seq, offset, principal}` or `{'ok', seq, offset, principal, fresh, epoch}`
 * (seq '' for none).
 */
export const OPEN = `
local r = redis.call('HMGET', KEYS[1], 'seq', 'off', 'p')
local fresh = 0
if not r[2] then
  if ARGV[8] ~= '1' then return {'none'} end
  if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[9]) then
    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. (tonumber(ARGV[3]) - tonumber(ARGV[2])))
    if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[9]) then return {'none'} end
  end
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'off', 0, 'p', ARGV[7])
  r[2] = '0'
  fresh = 1
elseif not r[3] then
  redis.call('HSET', KEYS[1], 'p', ARGV[7])
  fresh = 1
elseif r[3] ~= ARGV[7] then
  return {'foreign', r[1] or '', r[2], r[3]}
end
if redis.call('HSETNX', KEYS[1], 'h:' .. ARGV[5], 1) == 1 then redis.call('HINCRBY', KEYS[1], 'hc', 1) end
local ep = redis.call('HINCRBY', KEYS[1], 'ep', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
redis.call('PUBLISH', ARGV[6], 't ' .. ARGV[5] .. ' ' .. ARGV[4] .. ' ' .. ep)
return {'ok', r[1] or '', r[2], ARGV[7], fresh, ep}
`;

/**
 * `Store.release`: this process no longer holds the session; when no process does, its history gets the
 * short expiry again. KEYS: record, history. ARGV: token, ttl.
 */
export const RELEASE = `
if redis.call('HDEL', KEYS[1], 'h:' .. ARGV[1]) == 1 and redis.call('HINCRBY', KEYS[1], 'hc', -1) <= 0 then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return 1
`;

/**
 * Stores client sequence numbers (a burst of one session, in order), each once: only above the stored one,
 * and only when the stored one is still the one this process last saw or stored (`prev`, '*' for
 * unchecked), so that a number stored by another process meanwhile, or a failed earlier store of this
 * process, is never skipped over silently.
 * KEYS: record, sessions. ARGV: keep, now, id, prev, n1, n2, ...
 * Returns one answer per number: 1 (stored), 0 (already stored: a duplicate), -1 (the record moved under
 * this process, or is gone: this number and the ones after it are not stored).
 */
export const ACCEPT = `
local cur = redis.call('HGET', KEYS[1], 'seq')
local prev = ARGV[4]
local broken = not cur and redis.call('EXISTS', KEYS[1]) == 0
local stored = false
local out = {}
for i = 5, #ARGV do
  local n = ARGV[i]
  if broken then
    out[#out + 1] = -1
  elseif cur and tonumber(cur) >= tonumber(n) then
    out[#out + 1] = 0
    prev = cur
  elseif prev ~= '*' and (cur or '') ~= prev then
    broken = true
    out[#out + 1] = -1
  else
    cur = n
    prev = n
    stored = true
    out[#out + 1] = 1
  end
end
if stored then
  redis.call('HSET', KEYS[1], 'seq', cur)
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
end
return out
`;

/**
 * Appends server → client messages (a burst of one session, in order): the next offsets, the history
 * trimmed to `history` entries, the news published in one notice (with the messages, so the process holding
 * the connection delivers them without a read). A missing record is created unbound (the first `open` binds
 * it), after dropping any history left of an older one, unless the store is full (-1).
 * KEYS: record, history, sessions. ARGV: history, ttl, keep, now, id, token, channel, max sessions, m1, m2, ...
 * Returns the first offset, or -1.
 */
export const APPEND = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[8]) then
    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. (tonumber(ARGV[4]) - tonumber(ARGV[3])))
    if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[8]) then return -1 end
  end
  redis.call('DEL', KEYS[2])
end
local k = #ARGV - 8
local last = redis.call('HINCRBY', KEYS[1], 'off', k)
local first = last - k + 1
for i = 1, k do
  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[1], (first + i - 1) .. '-0', 'm', ARGV[8 + i])
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local holders = tonumber(redis.call('HGET', KEYS[1], 'hc') or '0')
redis.call('PEXPIRE', KEYS[2], holders > 0 and ARGV[3] or ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
-- News only when another process holds the session: one whose $hello comes after this reads it from the history.
if holders > redis.call('HEXISTS', KEYS[1], 'h:' .. ARGV[6]) then
  redis.call('PUBLISH', ARGV[7], 'a ' .. ARGV[6] .. ' ' .. ARGV[5] .. ' ' .. first .. '\\n' .. table.concat(ARGV, '\\n', 9))
end
return first
`;

/**
 * Every message after `from`, or -1 when the history does not reach back to it (or the session is unknown,
 * or `from` is beyond its last offset).
 * KEYS: record, history. ARGV: from.
 */
export const SINCE = `
local off = redis.call('HGET', KEYS[1], 'off')
local from = tonumber(ARGV[1])
if not off or from > tonumber(off) then return -1 end
if from == tonumber(off) then return {} end
local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
if #first == 0 or tonumber(string.match(first[1][1], '^%d+')) > from + 1 then return -1 end
return redis.call('XRANGE', KEYS[2], (from + 1) .. '-0', '+')
`;
