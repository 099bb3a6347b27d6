/**
 * Reading a client's count straight from Redis, as the tests of the Redis store check it: a Lua
 * script for `redis-cli eval SCRIPT 0 NAME`.
 *
 * @module
 */

/** The count of the client named by ARGV[1], wherever its bucket is (`none` if it has none). */
export const COUNT_OF_CLIENT = `
for b = 0, 15 do
  local c = redis.call('HGET', 'likes:{b' .. b .. '}:c:' .. ARGV[1], 'count')
  if c then return c end
end
return 'none'`;
