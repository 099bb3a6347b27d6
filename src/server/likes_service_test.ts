import assert from "node:assert/strict";
import { getConfig } from "@logtape/logtape";
import { LineClient } from "../protocol/line_client.ts";
import { serveLikes } from "./likes_service.ts";

Deno.test("serveLikes() leaves logging to its caller: without a log file nothing is configured or written", async () => {
  assert.equal(getConfig(), null, "nothing configured before");
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "likes-service-" });
  try {
    {
      await using server = await serveLikes({ workers: 2, dataDir: `${dir}/data` });
      using client = await LineClient.connect({ port: server.port });
      assert.equal(await client.request("LikesServer1 4"), "ACK");
      assert.match(await client.request("LikesServer1 99"), /^ERR /);
      assert.equal(server.table?.total(), 4);
      assert.equal(getConfig(), null, "serveLikes() did not configure this thread's logging");
    }
    assert.equal(getConfig(), null);
    const files = [];
    for await (const entry of Deno.readDir(dir)) files.push(entry.name);
    assert.deepEqual(files, ["data"], "no log file appeared");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const likesOf = (seq: number) => seq % 43;
const sumTo = (n: number) =>
  Array.from({ length: n }, (_, i) => likesOf(i + 1)).reduce((a, b) => a + b, 0);

/** Pipelines keyed seqs 1, 2, … for `client` until the connection ends (or 5 s of silence). */
async function pipeline(port: number, client: string): Promise<{ sent: number; acked: number }> {
  let sent = 0, acked = 0;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const decoder = new TextDecoder();
  let pending = "";
  const buffer = new Uint8Array(4096);
  try {
    while (true) {
      let batch = "";
      for (let i = 1; i <= 8; i++) batch += `LIKE ${client} ${sent + i} ${likesOf(sent + i)}\n`;
      await conn.write(new TextEncoder().encode(batch));
      sent += 8;
      let replies = 0;
      while (replies < 8) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const n = await Promise.race([
          conn.read(buffer),
          new Promise<null>((r) => (timer = setTimeout(() => r(null), 5000))),
        ]);
        clearTimeout(timer);
        if (n === null) return { sent, acked };
        pending += decoder.decode(buffer.subarray(0, n));
        let end;
        while ((end = pending.indexOf("\n")) >= 0) {
          const line = pending.slice(0, end);
          pending = pending.slice(end + 1);
          replies++;
          const seq = /^ACK seq=(\d+)/.exec(line);
          if (seq) acked = Math.max(acked, Number(seq[1]));
        }
      }
    }
  } catch {
    return { sent, acked }; // reset by the stopping server
  } finally {
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }
}

Deno.test("a connection Worker that dies mid-run stops the server in seconds; no acknowledged like is lost", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "likes-service-" });
  const dataDir = `${dir}/data`;
  const clients = Array.from({ length: 8 }, (_, i) => `w${i}`);
  try {
    const died = Promise.withResolvers<Error>();
    const server = await serveLikes({
      workers: 2,
      dataDir,
      workerUrl: new URL("../../tests/fixtures/dying_connection_worker.ts", import.meta.url).href,
      onFatal: (error) => died.resolve(error),
    });
    const running = clients.map((c) => pipeline(server.port, c));
    const error = await died.promise;
    assert.match(error.message, /connection worker 1 died: .*dies on purpose/);
    const stopping = performance.now();
    await server.stop(); // what server.ts does on a fatal error
    const stopMs = performance.now() - stopping;
    assert.ok(stopMs < 8000, `stopped in ${stopMs} ms`);
    const results = await Promise.all(running);
    assert.ok(results.some((r) => r.acked > 0), JSON.stringify(results));

    await using again = await serveLikes({ workers: 2, dataDir });
    const counts = again.table!.countsOf(clients);
    clients.forEach((client, i) => {
      const { sent, acked } = results[i]!;
      assert.ok((counts[client] ?? 0) >= sumTo(acked), `${client}: acknowledged likes survived`);
      assert.ok((counts[client] ?? 0) <= sumTo(sent), `${client}: nothing unsent`);
    });
    // Resending everything counts each like exactly once.
    for (const [i, client] of clients.entries()) {
      using line = await LineClient.connect({ port: again.port });
      for (let seq = 1; seq <= results[i]!.sent; seq++) {
        assert.match(await line.request(`LIKE ${client} ${seq} ${likesOf(seq)}`), /^ACK seq=/);
      }
    }
    const final = again.table!.countsOf(clients);
    clients.forEach((client, i) => assert.equal(final[client], sumTo(results[i]!.sent), client));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
