import assert from "node:assert/strict";
import { MessageError, readAnswer, readStats, rowsMessage, rowsOf } from "./messages.ts";

Deno.test("readAnswer: a well-formed answer reads back whole", () => {
  const answer = {
    type: "answer",
    rid: 3,
    "query_id": "q",
    success: true,
    partial: false,
    message: "Combined results from 2 nodes (1 rows)",
    results: [{ key: "k", node: "B", likes: 2 }],
    streamed: 5,
    total: 7,
    answered: ["A", "B"],
    missing: [],
    problems: {},
    cached: true,
    "cache_age_ms": 12,
    consistency: "gather",
    "stale_ms": { B: 4 },
    timing: { node: "A", totalMs: 1.5, stages: [] },
  };
  assert.deepEqual(readAnswer(JSON.parse(JSON.stringify(answer))), answer);
});

Deno.test("readAnswer: malformed fields are left out, never passed on", () => {
  const read = readAnswer({
    type: "answer",
    rid: "x",
    success: "yes",
    results: [{ key: "a", node: "B", likes: 1 }, { key: "b", node: "B", likes: -1 }, "c"],
    sections: {
      C: [{ key: "c", node: "C", likes: 2 }, { key: "forged", node: "D", likes: 9 }],
      D: "not rows",
    },
    streamed: 1.5,
    answered: ["A", 7],
    problems: { D: "down", E: { no: 1 } },
    consistency: "eventual",
    timing: { node: 3 },
  });
  assert.deepEqual(read, {
    type: "answer",
    "query_id": "",
    success: false,
    results: [{ key: "a", node: "B", likes: 1 }],
    sections: { C: [{ key: "c", node: "C", likes: 2 }], D: [] },
    answered: ["A"],
    problems: { D: "down" },
  });
});

Deno.test("readAnswer: an error frame is a failed answer; another type is refused", () => {
  assert.deepEqual(readAnswer({ type: "error", rid: 2, message: "too many requests" }), {
    type: "answer",
    rid: 2,
    "query_id": "",
    success: false,
    message: "too many requests",
  });
  assert.throws(() => readAnswer({ type: "stats" }), MessageError);
});

Deno.test("rows frames: written and read back; malformed rows dropped; not a rows frame is null", () => {
  const frame = rowsMessage(4, "E", [{ key: "k", node: "E", likes: 3 }]);
  assert.deepEqual(frame, { type: "rows", rid: 4, owner: "E", rows: [["k", 3]] });
  assert.deepEqual(rowsOf(JSON.parse(JSON.stringify(frame))), [{ key: "k", node: "E", likes: 3 }]);
  assert.deepEqual(
    rowsOf({ type: "rows", owner: "E", rows: [["a", 1], ["b", -1], [3, 1], "x", ["c", 2 ** 53]] }),
    [{ key: "a", node: "E", likes: 1 }],
  );
  assert.equal(rowsOf({ type: "answer", owner: "E", rows: [] }), null);
  assert.equal(rowsOf({ type: "rows", rows: [["a", 1]] }), null);
});

Deno.test("readStats: the fields the suite reads must be there", () => {
  const stats = {
    type: "stats",
    rid: 1,
    node: "B",
    replica: { total: 3, entries: 2, version: 5, byNode: {}, staleMs: {} },
    gossip: { bytesSent: 10, bytesReceived: 20, sent: 1, received: 2 },
    memory: { rss: 100, peakRss: 200 },
    peers: { C: { state: "up", since: 1, lastHeard: 2, downs: 0 } },
  };
  const read = readStats(stats);
  assert.equal(read.replica.entries, 2);
  assert.equal(read.memory.peakRss, 200);
  assert.ok(!("rid" in read) && !("type" in read));
  assert.throws(() => readStats({ ...stats, memory: { rss: 1 } }), /memory must hold/);
  assert.throws(() => readStats({ ...stats, peers: [] }), /peers must be an object/);
  assert.throws(() => readStats({ ...stats, type: "answer" }), MessageError);
});
