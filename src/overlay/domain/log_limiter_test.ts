import assert from "node:assert/strict";
import { LogLimiter } from "./log_limiter.ts";

Deno.test("LogLimiter: one line per key per interval, counting the rest; keys are independent", () => {
  const limiter = new LogLimiter(100);
  assert.equal(limiter.admit("a", 0), 0);
  assert.equal(limiter.admit("b", 10), 0, "another key logs at once");
  for (let t = 20; t < 100; t += 20) assert.equal(limiter.admit("a", t), null);
  assert.equal(limiter.admit("a", 100), 4);
  assert.equal(limiter.admit("a", 150), null);
  assert.equal(limiter.admit("a", 250), 1);
});

Deno.test("LogLimiter: a flood of distinct keys keeps its memory bounded and still logs new keys", () => {
  const limiter = new LogLimiter(60_000);
  for (let i = 0; i < 10_000; i++) assert.equal(limiter.admit(`10.0.${i >> 8}.${i & 255}`, i), 0);
  assert.equal(limiter.admit("10.0.39.15", 10_001), null, "a recent key is still remembered");
});
