import assert from "node:assert/strict";
import { describeDown, PeerHealth } from "./peer_health.ts";
import { PeerTable } from "./peer_table.ts";

/** Ticks `health` every 50 ms after `from` and before `to`, as the node does; the peers marked down. */
function advance(health: PeerHealth, from: number, to: number): string[] {
  const down: string[] = [];
  for (let now = from + 50; now < to; now += 50) down.push(...health.tick(now).down);
  return down;
}

Deno.test("PeerHealth: a heartbeat every interval, one in flight at a time", () => {
  const health = new PeerHealth({ peers: ["B", "C"], heartbeatMs: 500, now: 0 });
  assert.deepEqual(health.tick(0).ask, ["B", "C"]);
  assert.deepEqual(health.tick(100).ask, [], "both still in flight");
  health.answered("B", 20);
  health.failed("C", 300); // no answer in time: asked again soon, on a new connection
  assert.deepEqual(health.tick(399).ask, []);
  assert.deepEqual(health.tick(400).ask, ["C"]);
  assert.deepEqual(health.tick(519).ask, []);
  assert.deepEqual(health.tick(520).ask, ["B"]);
  assert.equal(health.status("B").lastHeard, 20);
});

Deno.test("PeerHealth: silent past downAfterMs is down (never heard counts from the start)", () => {
  const health = new PeerHealth({ peers: ["B", "C"], downAfterMs: 1500, now: 1000 });
  health.tick(1000);
  health.answered("B", 1100);
  assert.deepEqual(advance(health, 1000, 2500), []);
  assert.deepEqual(health.tick(2500).down, [], "C: 1500 ms, not more");
  const tick = health.tick(2501);
  assert.deepEqual(tick.down, ["C"]);
  assert.deepEqual(tick.ask, ["C"], "probed at once, on a new connection");
  assert.deepEqual(health.status("C"), { state: "down", since: 2501, lastHeard: null, downs: 1 });
  assert.deepEqual(health.tick(2601).down, ["B"]);
  assert.equal(health.status("B").state, "down");
  assert.equal(health.status("B").lastHeard, 1100);
});

Deno.test("PeerHealth: a down peer is probed with backoff, and is up at its first answer", () => {
  const health = new PeerHealth({
    peers: ["B"],
    heartbeatMs: 400,
    downAfterMs: 1000,
    maxProbeMs: 1000,
    now: 0,
  });
  health.tick(0);
  health.answered("B", 0);
  assert.deepEqual(advance(health, 0, 1001), []);
  assert.deepEqual(health.tick(1001), { ask: ["B"], down: ["B"] });
  health.failed("B", 1001);
  const probes: number[] = [];
  for (let now = 1001; now < 6000; now++) {
    if (health.tick(now).ask.length > 0) {
      probes.push(now);
      health.failed("B", now);
    }
  }
  // After the first probe (failed at 1001): 200, 400, 800, then 1000 ms apart.
  assert.deepEqual(probes.slice(0, 6), [1201, 1601, 2401, 3401, 4401, 5401]);
  health.tick(6000);
  assert.equal(health.answered("B", 6010), true, "back up");
  assert.deepEqual(health.status("B"), { state: "up", since: 6010, lastHeard: 6010, downs: 1 });
  advance(health, 6000, 6400);
  assert.equal(health.answered("B", 6400), false, "already up");
  // Down again later: the backoff starts over.
  assert.deepEqual(advance(health, 6400, 7401), []);
  assert.deepEqual(health.tick(7401).down, ["B"]);
  health.failed("B", 7401);
  assert.deepEqual(health.tick(7601).ask, ["B"]);
  assert.equal(health.status("B").downs, 2);
});

Deno.test("PeerHealth: an answer to a heartbeat sent before the peer was marked down still counts", () => {
  const health = new PeerHealth({ peers: ["B"], downAfterMs: 1000, now: 0 });
  health.tick(0);
  advance(health, 0, 1001);
  assert.deepEqual(health.tick(1001).down, ["B"]);
  assert.equal(health.answered("B", 1002), true);
});

Deno.test("PeerHealth: a stall of the node's own loop is not blamed on its neighbours", () => {
  const health = new PeerHealth({ peers: ["B"], heartbeatMs: 500, downAfterMs: 1500, now: 0 });
  health.tick(0);
  health.answered("B", 10);
  advance(health, 0, 1000);
  // Busy for 2 s: the answers that came meanwhile could not be read.
  assert.deepEqual(health.tick(3000).down, [], "silence counted afresh after the stall");
  assert.deepEqual(advance(health, 3000, 4500), []);
  assert.deepEqual(health.tick(4501).down, ["B"], "still silent 1.5 s after the stall: down");
});

Deno.test("describeDown names the time it went down and how long ago it answered", () => {
  const since = Date.UTC(2026, 11, 3, 9, 0, 0);
  const text = describeDown(
    { state: "down", since, lastHeard: since - 1500, downs: 1 },
    since + 500,
  );
  assert.equal(text, "down since 2026-12-03T09:00:00.000Z (last heard 2.0 s ago)");
  assert.match(
    describeDown({ state: "down", since, lastHeard: null, downs: 1 }, since),
    /never heard/,
  );
});

Deno.test("PeerTable: what the main thread writes, a Worker reads whole", async () => {
  const ids = ["A", "B", "C"];
  const table = PeerTable.create(ids);
  assert.equal(table.read("B"), null, "not watched yet");
  const worker = new Worker(
    new URL("../../../tests/fixtures/peer_table_worker.ts", import.meta.url),
    { type: "module" },
  );
  const done = new Promise<{ reads: number; torn: number }>((resolve, reject) => {
    worker.onmessage = (event) => resolve(event.data);
    worker.onerror = (event) => reject(event.error ?? new Error(event.message));
  });
  worker.postMessage({ buffer: table.buffer, ids, reads: 200_000 });
  // Each write keeps since = lastHeard = downs * 1000: a reader that sees them differ saw half.
  for (let downs = 1; downs <= 50_000; downs++) {
    table.write("B", {
      state: downs % 2 ? "down" : "up",
      since: downs * 1000,
      lastHeard: downs * 1000,
      downs,
    });
    if (downs % 1000 === 0) await new Promise((r) => setTimeout(r, 0));
  }
  const { reads, torn } = await done;
  worker.terminate();
  assert.equal(torn, 0, `${torn} of ${reads} reads saw half a write`);
  assert.deepEqual(table.read("B"), {
    state: "up",
    since: 50_000_000,
    lastHeard: 50_000_000,
    downs: 50_000,
  });
  assert.throws(() => table.read("Z"), /not a node of the config/);
});

Deno.test("PeerHealth: with heartbeats as frequent as the ticks, a late tick is not a stall", () => {
  // Heartbeats every 50 ms, ticks every 50–60 ms: only a gap past four ticks is the node's own.
  const health = new PeerHealth({ peers: ["B"], heartbeatMs: 50, downAfterMs: 300, now: 0 });
  health.tick(0);
  health.answered("B", 5);
  let down: string[] = [];
  let now = 0;
  while (down.length === 0 && now < 2000) down = health.tick(now += 55).down;
  assert.deepEqual(down, ["B"]);
  assert.equal(now, 330, "silent for more than 300 ms");
});
