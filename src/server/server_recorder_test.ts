import assert from "node:assert/strict";
import { MESSAGE_OUTCOMES, messageCounter, SharedCounters } from "./server_counters.ts";
import { serverReadings } from "./server_recorder.ts";

Deno.test("serverReadings() reads the server's counters as they change, one reading per outcome", () => {
  const counters = SharedCounters.create();
  const readings = serverReadings(counters);
  assert.deepEqual(
    readings.messages.map(({ result, protocol }) => ({ result, protocol })),
    MESSAGE_OUTCOMES.map(({ result, protocol }) => ({ result, protocol })),
  );
  counters.count(messageCounter("counted", "keyed"), 3);
  counters.count("likesCounted", 40);
  assert.equal(counters.openConnection(10), 1);
  const read = Object.fromEntries(
    readings.messages.map((m) => [`${m.result}/${m.protocol}`, m.read()]),
  );
  assert.equal(read["counted/keyed"], 3);
  assert.equal(read["counted/classic"], 0);
  assert.equal(readings.likesCounted(), 40);
  assert.equal(readings.connectionsOpen(), 1);
});
