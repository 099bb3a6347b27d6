/**
 * SIGTERM to a busy server: it stops accepting, answers what it read, flushes every log line and
 * exits 0. Every acknowledged message has its log line.
 */

import assert from "node:assert/strict";
import { startServer } from "../src/launch/processes.ts";
import { LineConn, readLines, tempDir } from "./_helpers.ts";

Deno.test("SIGTERM to a busy server loses no log line", async () => {
  await using dir = await tempDir();
  await using server = await startServer({ logDir: dir.path, workers: 2 });
  const acked: string[] = [];
  let stop = false;
  const clients = Array.from({ length: 20 }, async (_, c) => {
    using conn = await LineConn.open(server.port);
    // Long lines make LogTape buffer (records ≥ 200 bytes), so a lost flush would show.
    const client = `busy-${c}-${"x".repeat(50)}`;
    for (let seq = 1; !stop; seq++) {
      let reply: string;
      try {
        reply = await conn.request(`LIKE ${client} ${seq} 1`);
      } catch {
        return; // The server closed the connection while stopping.
      }
      assert.match(reply, /^ACK seq=/);
      acked.push(`LIKE ${client} ${seq} 1`);
    }
  });
  await new Promise((r) => setTimeout(r, 700));
  const status = await server.stop("SIGTERM");
  stop = true;
  await Promise.all(clients);
  assert.equal(status.code, 0);
  assert.ok(acked.length > 100, `clients got ${acked.length} ACKs before the stop`);

  const lines = await readLines(server.logFile);
  const stopped = lines.find((l) => / stopped: total \d+ likes/.test(l));
  assert.ok(stopped, "the final line was flushed");
  const accepted = Number(/(\d+) accepted/.exec(stopped)?.[1]);
  const logged = new Set(
    lines.filter((l) => / likes\.server\.message LIKE /.test(l)).map((l) =>
      /(LIKE \S+ \d+ \d+)/.exec(l)![1]!
    ),
  );
  assert.equal(logged.size, accepted, "one log line per accepted message");
  const missing = acked.filter((m) => !logged.has(m));
  assert.deepEqual(missing, [], "every acknowledged message is in the log");
  assert.equal(
    Number(/total (\d+) likes/.exec(stopped)?.[1]),
    accepted,
    "total = accepted (1 like each)",
  );
});
