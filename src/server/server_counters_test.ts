import assert from "node:assert/strict";
import {
  MESSAGE_OUTCOMES,
  messageCounter,
  messageTotals,
  SharedCounters,
} from "./server_counters.ts";

Deno.test("SharedCounters.openConnection() counts open connections up to a cap, across attached views", () => {
  const counters = SharedCounters.create();
  const other = SharedCounters.attach(counters.buffer);
  assert.deepEqual([counters.openConnection(2), other.openConnection(2)], [1, 2]);
  assert.equal(other.openConnection(2), -2, "refused: two are open");
  counters.closeConnection();
  assert.equal(other.openConnection(2), 2);
  assert.equal(counters.counter("connectionsOpen"), 2);
});

Deno.test("SharedCounters keeps each counter apart, and messageTotals() sums them into STATS' classes", () => {
  const counters = SharedCounters.create();
  MESSAGE_OUTCOMES.forEach(({ result, protocol }, i) => {
    counters.count(messageCounter(result, protocol), i + 1);
  });
  counters.count("likesCounted", 100);
  for (const [i, { result, protocol }] of MESSAGE_OUTCOMES.entries()) {
    assert.equal(
      counters.counter(messageCounter(result, protocol)),
      i + 1,
      `${result} ${protocol}`,
    );
  }
  assert.equal(counters.counter("likesCounted"), 100);
  assert.equal(counters.counter("connectionsOpen"), 0);
  // counted 1+2, duplicate 3, invalid 4+5 and unavailable 6+7 rejected, unknown 8+9.
  assert.deepEqual(messageTotals(counters), {
    accepted: 3,
    duplicates: 3,
    rejected: 22,
    unknown: 17,
  });
});

Deno.test("SharedCounters.attach() refuses a buffer of another size", () => {
  assert.throws(() => SharedCounters.attach(new SharedArrayBuffer(8)), TypeError);
});
