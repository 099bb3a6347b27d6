import assert from "node:assert/strict";
import { LikesTable } from "../store/open_store.ts";
import { SharedCounters } from "./server_counters.ts";
import { WorkerPool } from "./worker_pool.ts";

const CRASHING = new URL("../../tests/fixtures/crash_worker.ts", import.meta.url).href;

Deno.test("a Worker that dies is reported once, and stopping does not wait for it", async () => {
  const deaths: string[] = [];
  const pool = await WorkerPool.start(
    {
      store: {
        kind: "embedded",
        buffers: {
          table: LikesTable.create({ maxClients: 4 }).buffer,
          journal: null,
          waitForJournal: false,
        },
      },
      counters: SharedCounters.create().buffer,
    },
    {
      hostname: "127.0.0.1",
      port: 0,
      maxLikes: 42,
      maxLineBytes: 512,
      pauseMs: 50,
      idleTimeoutMs: 30_000,
      writeTimeoutMs: 5000,
      replyBufferBytes: 65536,
      maxConnections: 100,
      logFile: null,
      workers: 1,
      startedAt: Date.now(),
    },
    { onFatal: (error) => deaths.push(error.message), stopTimeoutMs: 10_000, workerUrl: CRASHING },
  );
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: pool.port });
  conn.close();
  const deadline = Date.now() + 5000;
  while (deaths.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(deaths, [
    "connection worker 0 died: Uncaught (in promise) Error: worker 0 failed on purpose",
  ]);
  const started = performance.now();
  await pool.stop();
  assert.ok(performance.now() - started < 1000, "stop did not wait 10 s for a dead Worker");
});
