import assert from "node:assert/strict";
import { startListeningWorkers, stopWorker } from "./listening_workers.ts";

const LISTEN = new URL("../../tests/fixtures/listen_worker.ts", import.meta.url).href;

function options(count: number, port = 0) {
  return {
    url: LISTEN,
    count,
    hostname: "127.0.0.1",
    port,
    what: "test worker",
    name: (index: number) => `test-${index}`,
    startMessage: (index: number, port: number, reusePort: boolean) => ({
      kind: "start",
      index,
      hostname: "127.0.0.1",
      port,
      reusePort,
    }),
  };
}

async function greeting(port: number): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const buffer = new Uint8Array(64);
  const read = await conn.read(buffer);
  conn.close();
  return new TextDecoder().decode(buffer.subarray(0, read ?? 0));
}

Deno.test("several Workers share one port picked for them, the kernel spreads connections, and each stops", async () => {
  const { workers, port } = await startListeningWorkers(options(2));
  try {
    assert.ok(port > 0);
    const seen = new Set<string>();
    for (let i = 0; i < 40 && seen.size < 2; i++) seen.add(await greeting(port));
    assert.deepEqual([...seen].sort(), ["worker 0\n", "worker 1\n"]);
  } finally {
    await Promise.all(workers.map((worker) => stopWorker(worker, 5000)));
  }
  // A terminated Worker's listener is closed as its isolate goes, which may lag the stop by a
  // moment on a busy machine: the port must be free soon after, not at that instant.
  let refused = false;
  for (let i = 0; i < 40 && !refused; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      await new Promise((r) => setTimeout(r, 50));
    } catch (error) {
      assert.ok(error instanceof Deno.errors.ConnectionRefused, String(error));
      refused = true;
    }
  }
  assert.ok(refused, "the port is still taken 2 s after the Workers stopped");
});

Deno.test("a port another socket holds: refused before any Worker starts, or as the Worker's own error", async () => {
  using held = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = held.addr as Deno.NetAddr;
  // Several Workers: the plain bind first finds the port taken (no silent sharing).
  await assert.rejects(startListeningWorkers(options(2, port)), Deno.errors.AddrInUse);
  // One Worker: its failed listen comes back as the same class of error.
  await assert.rejects(startListeningWorkers(options(1, port)), Deno.errors.AddrInUse);
});
