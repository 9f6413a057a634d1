// The Lua scripts of `redisStore`: each runs atomically in Redis, so a step of the protocol (a `$hello`'s
// read, storing a sequence number, appending a message) is one command, one round trip, and never half done.
// Keys of one session (see docs/redis.md): `<prefix>{<id>}:s` the record (a hash), `<prefix>{<id>}:h` the
// history (a stream whose entry ids are the offsets: `<offset>-0`); `<prefix>sessions` a sorted set of every
// session by last use (for `broadcast`). News for other processes goes out with PUBLISH on one channel.

/**
 * `$hello` (`Store.open`): check, create and bind in one step. A session bound to another principal is
 * answered as it is and left untouched. Otherwise it is held by this process (a field per holder, and their
 * count: a held session's history gets the long expiry), gets a new epoch (so that a takeover notice can be
 * told from a stale one, and so that only the process of the last `$hello` may claim numbers: `ew` is that
 * process), and the takeover is published. This process's pending commit (`done`, see ACCEPT) is applied first.
 * KEYS: record, history, sessions. ARGV: ttl, keep, now, id, token, channel, principal, create, max sessions,
 * commit ('' for none).
 * Returns `{'none'}`, `{'foreign', done, offset, principal}` or `{'ok', done, offset, principal, fresh, epoch,
 * seq}` (done and seq '' for none).
 */
export const OPEN = `
local r = redis.call('HMGET', KEYS[1], 'seq', 'off', 'p', 'done')
local c = tonumber(ARGV[10])
if c and r[1] and c <= tonumber(r[1]) and c > tonumber(r[4] or '0') then
  redis.call('HSET', KEYS[1], 'done', c)
  r[4] = ARGV[10]
end
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
  return {'foreign', r[4] or '', r[2], r[3]}
end
if redis.call('HSETNX', KEYS[1], 'h:' .. ARGV[5], 1) == 1 then redis.call('HINCRBY', KEYS[1], 'hc', 1) end
local ep = redis.call('HINCRBY', KEYS[1], 'ep', 1)
redis.call('HSET', KEYS[1], 'ew', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
redis.call('PUBLISH', ARGV[6], 't ' .. ARGV[5] .. ' ' .. ARGV[4] .. ' ' .. ep)
return {'ok', r[4] or '', r[2], ARGV[7], fresh, ep, r[1] or ''}
`;

/**
 * `Store.release`: this process no longer holds the session; when no process does, its history gets the
 * short expiry again. Its pending commit is applied first, then its claims still outstanding (numbers it
 * claimed and will not hand over: nothing of the session is in progress here any more) are freed at once
 * rather than at the end of their lease. KEYS: record, history. ARGV: token, ttl, commit ('' for none).
 */
export const RELEASE = `
local r = redis.call('HMGET', KEYS[1], 'seq', 'done', 'ce')
local c = tonumber(ARGV[3])
if c and r[1] and c <= tonumber(r[1]) and c > tonumber(r[2] or '0') then redis.call('HSET', KEYS[1], 'done', c) end
if r[3] and string.sub(r[3], 1, #ARGV[1] + 1) == ARGV[1] .. ':' then redis.call('HSET', KEYS[1], 'le', 0) end
if redis.call('HDEL', KEYS[1], 'h:' .. ARGV[1]) == 1 and redis.call('HINCRBY', KEYS[1], 'hc', -1) <= 0 then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return 1
`;

/**
 * Claims client sequence numbers (a burst of one session, in order) for this process, after committing what
 * it handed to its app. The record keeps `seq` (claimed up to), `done` (handed to the app up to),
 * `ce` (the claimer: `<process>:<epoch>`) and `le` (the end of its lease, in Redis's own clock, TIME).
 * - The commit (`done`) is applied first, whoever claims now: this process handed those numbers over.
 * - Only the process of the session's last `$hello`, under that epoch, claims (`ep`, `ew`); the
 *   stored `seq` must still be the one this process last saw or claimed (`prev`, '*' for unchecked), so that
 *   a record that moved under it (another process, or Redis lost it) is never skipped over silently.
 * - A number at or below `done` is a duplicate (0). One in (done, seq], claimed and not handed over, is
 *   claimed again if that claim is this process's (an older `$hello` here: its work is finished before a
 *   `$hello` is read) or its lease has ended; otherwise it is busy (-2), and so is every number after it.
 *   A number above `seq` is claimed, unless another process's live claims are still outstanding (busy).
 * - A claim sets `ce` to this process and `le` to now + lease.
 * KEYS: record, sessions. ARGV: keep, now, id, prev, token, epoch, lease, commit ('' for none), then the numbers
 * in one argument, separated by spaces ('n1 n2 ...'; none: a commit alone). One argument rather than one per
 * number: the client encodes and Redis parses a burst as one string.
 * Returns one character per number — `1` (claimed), `0` (a duplicate), `x` (the record moved under this
 * process, or is gone: not claimed, nor the ones after it), `b` (busy) — then a space and the ms left of the
 * lease that makes it busy.
 */
export const ACCEPT = `
local r = redis.call('HMGET', KEYS[1], 'seq', 'done', 'ce', 'le', 'ep', 'ew', 'off')
local cur = r[1]
local done = tonumber(r[2] or '0')
local c = tonumber(ARGV[8])
if c and cur and c <= tonumber(cur) and c > done then
  redis.call('HSET', KEYS[1], 'done', c)
  done = c
end
if not ARGV[9] then return '' end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local me = ARGV[5] .. ':' .. ARGV[6]
local left = r[4] and (tonumber(r[4]) - now) or 0
local free = not r[3] or r[3] == me or string.sub(r[3], 1, #ARGV[5] + 1) == ARGV[5] .. ':' or left <= 0
local broken = not r[7] or r[5] ~= ARGV[6] or r[6] ~= ARGV[5]
local busy = false
local claimed = false
local prev = ARGV[4]
local out = {}
for s in string.gmatch(ARGV[9], '%d+') do
  local n = tonumber(s)
  if broken then
    out[#out + 1] = 'x'
  elseif n <= done then
    out[#out + 1] = '0'
    prev = cur
  elseif busy then
    out[#out + 1] = 'b'
  elseif cur and n <= tonumber(cur) then
    prev = cur
    if free then
      claimed = true
      out[#out + 1] = '1'
    else
      busy = true
      out[#out + 1] = 'b'
    end
  elseif prev ~= '*' and (cur or '') ~= prev then
    broken = true
    out[#out + 1] = 'x'
  elseif cur and tonumber(cur) > done and not free then
    busy = true
    out[#out + 1] = 'b'
  else
    cur = s
    prev = cur
    claimed = true
    out[#out + 1] = '1'
  end
end
if claimed then
  redis.call('HSET', KEYS[1], 'seq', cur, 'ce', me, 'le', now + tonumber(ARGV[7]))
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
end
return table.concat(out) .. ' ' .. left
`;

/**
 * Appends server → client messages (a burst of one session, in order): the next offsets, the history
 * trimmed to `history` entries, the news published in one notice (with the messages, so the process holding
 * the connection delivers them without a read). A missing record is created unbound (the first `open` binds
 * it), after dropping any history left of an older one, unless the store is full (-1).
 * The history is first trimmed to what the client acknowledged (`trim`: the lowest offset kept, '' for no trim).
 * KEYS: record, history, sessions. ARGV: history, ttl, keep, now, id, token, channel, max sessions, trim, then the
 * messages (JSON, which never holds a raw newline) in one argument, one per line.
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
if ARGV[9] ~= '' then redis.call('XTRIM', KEYS[2], 'MINID', ARGV[9]) end
local ms = {}
for m in string.gmatch(ARGV[10], '[^\\n]+') do ms[#ms + 1] = m end
local k = #ms
local last = redis.call('HINCRBY', KEYS[1], 'off', k)
local first = last - k + 1
for i = 1, k do
  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[1], (first + i - 1) .. '-0', 'm', ms[i])
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local holders = tonumber(redis.call('HGET', KEYS[1], 'hc') or '0')
redis.call('PEXPIRE', KEYS[2], holders > 0 and ARGV[3] or ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
-- News only when another process holds the session: one whose $hello comes after this reads it from the history.
if holders > redis.call('HEXISTS', KEYS[1], 'h:' .. ARGV[6]) then
  redis.call('PUBLISH', ARGV[7], 'a ' .. ARGV[6] .. ' ' .. ARGV[5] .. ' ' .. first .. '\\n' .. ARGV[10])
end
return first
`;

/**
 * Every message after `from`, or -1 when the history does not reach back to it (or the session is unknown,
 * or `from` is beyond its last offset), after this process's pending trim (the lowest offset kept, '' for none).
 * KEYS: record, history. ARGV: from, trim.
 */
export const SINCE = `
if ARGV[2] ~= '' then redis.call('XTRIM', KEYS[2], 'MINID', ARGV[2]) end
local off = redis.call('HGET', KEYS[1], 'off')
local from = tonumber(ARGV[1])
if not off or from > tonumber(off) then return -1 end
if from == tonumber(off) then return {} end
local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
if #first == 0 or tonumber(string.match(first[1][1], '^%d+')) > from + 1 then return -1 end
return redis.call('XRANGE', KEYS[2], (from + 1) .. '-0', '+')
`;
