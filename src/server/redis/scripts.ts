// The Lua scripts of `redisStore`: each runs atomically in Redis, so a step of the protocol (a `$hello`'s
// read, storing a sequence number, appending a message) is one command, one round trip, and never half done.
// Keys of one session (see docs/redis.md): `<prefix>{<id>}:s` the record (a hash), `<prefix>{<id>}:h` the
// history (a stream whose entry ids are the offsets: `<offset>-0`); `<prefix>sessions` a sorted set of every
// session by last use (for `broadcast`). News for other processes goes out with PUBLISH on one channel.

/**
 * `$hello`: the record (creating it when missing), a new epoch (so that a takeover notice can be told from a
 * stale one), the expiries refreshed, the takeover published.
 * KEYS: record, history, sessions. ARGV: ttl, keep, now, id, token, channel.
 * Returns `{seq or '', offset, epoch, principal or ''}`.
 */
export const HELLO = `
local r = redis.call('HMGET', KEYS[1], 'seq', 'off', 'p')
if not r[2] then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'off', 0)
end
local ep = redis.call('HINCRBY', KEYS[1], 'ep', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
redis.call('PUBLISH', ARGV[6], 't ' .. ARGV[5] .. ' ' .. ARGV[4] .. ' ' .. ep)
return {r[1] or '', r[2] or '0', ep, r[3] or ''}
`;

/**
 * Stores a client sequence number once: only above the stored one, and only when the stored one is still
 * the one this process last saw or stored (`prev`, '*' for unchecked), so that a number stored by another
 * process meanwhile, or a failed earlier store of this process, is never skipped over silently.
 * KEYS: record, sessions. ARGV: n, prev, keep, now, id.
 * Returns 1 (stored), 0 (already stored: a duplicate), -1 (the record moved under us, or is gone).
 */
export const ACCEPT = `
local cur = redis.call('HGET', KEYS[1], 'seq')
if cur and tonumber(cur) >= tonumber(ARGV[1]) then return 0 end
if ARGV[2] ~= '*' and (cur or '') ~= ARGV[2] then return -1 end
if not cur and not redis.call('HGET', KEYS[1], 'off') then return -1 end
redis.call('HSET', KEYS[1], 'seq', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
return 1
`;

/**
 * Appends a server → client message: the next offset, the history trimmed to `history` entries, the news
 * published (with the message, so the process holding the connection delivers it without a read).
 * A missing record starts at offset 1, after dropping any history left of an older one.
 * KEYS: record, history, sessions. ARGV: message, history, ttl, keep, now, id, token, channel.
 * Returns the offset.
 */
export const APPEND = `
local off = redis.call('HINCRBY', KEYS[1], 'off', 1)
if off == 1 then redis.call('DEL', KEYS[2]) end
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], off .. '-0', 'm', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[6])
redis.call('PUBLISH', ARGV[8], 'a ' .. ARGV[7] .. ' ' .. ARGV[6] .. ' ' .. off .. ' ' .. ARGV[1])
return off
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
