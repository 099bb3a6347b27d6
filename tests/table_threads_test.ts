/**
 * The likes table across threads: expiry, which runs on the thread that drains the journal, never
 * waits for a Worker that holds a client's lock while it waits for room in a full journal.
 */

import assert from "node:assert/strict";
import { JournalRing } from "../src/store/embedded/journal_ring.ts";
import { LikesTable } from "../src/store/embedded/likes_table.ts";

Deno.test("LikesTable.expireIdle() skips a busy client and a full journal instead of deadlocking", async () => {
  const ring = JournalRing.create({ capacity: 2 });
  const table = LikesTable.create({ maxClients: 4, journal: ring });
  table.applyClassic("held", 1);
  table.applyClassic("held", 1); // the ring is full now: nothing drains it yet
  const everyone = () => Date.now() + 5000; // a cutoff after every client's last message
  const worker = new Worker(new URL("./fixtures/apply_worker.ts", import.meta.url), {
    type: "module",
  });
  try {
    const events: string[] = [];
    const next = () =>
      new Promise<string>((resolve) => {
        worker.onmessage = (event) => {
          events.push(event.data);
          resolve(event.data);
        };
      });
    let message = next();
    worker.postMessage({ table: table.buffer, ring: ring.buffer, name: "held" });
    assert.equal(await message, "applying");
    message = next();
    await new Promise((r) => setTimeout(r, 100)); // it now waits in append(), holding the lock
    const started = performance.now();
    assert.deepEqual(table.expireIdle(everyone()), [], "busy and full: nothing expired now");
    assert.ok(performance.now() - started < 50, "and nothing waited");
    assert.deepEqual(events, ["applying"], "the Worker is still waiting for room");
    ring.take(2); // the journal writer drains the ring
    assert.equal(await message, "applied");
    ring.take(2);
    assert.deepEqual(table.expireIdle(everyone()), ["held"], "the next sweep goes on");
    assert.deepEqual(table.snapshot(), { total: 3, clients: {} });
  } finally {
    worker.terminate();
  }
});
