/**
 * A message split in two TCP segments with a pause between them longer than `--pause`, as a
 * segment retransmitted after the minimum RTO arrives: a keyed message waits for its newline at
 * every split position and is counted whole, once; a classic message without a terminator is
 * ambiguous by nature (its first part may be a valid message), and is answered on the pause, as
 * documented, with the log saying so. A keyed message the server gives up on (idle timeout) is
 * answered with an error and not counted.
 */

import assert from "node:assert/strict";
import { startServer } from "../src/launch/processes.ts";
import { readLines, readUntil, stats, tempDir, writeAll } from "./_helpers.ts";

const PAUSE_MS = 20;
const encoder = new TextEncoder();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends `first`, waits past the pause, sends `rest`, and reads `expectBytes` of reply. */
async function sendSplit(
  port: number,
  first: string,
  rest: string,
  expectBytes: number,
): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    conn.setNoDelay(true);
    await writeAll(conn, encoder.encode(first));
    await sleep(PAUSE_MS * 4);
    await writeAll(conn, encoder.encode(rest));
    return await readUntil(conn, expectBytes, 3000);
  } finally {
    conn.close();
  }
}

Deno.test("a keyed message split anywhere, its second part arriving after the pause, is counted whole and once", async () => {
  await using dir = await tempDir();
  await using server = await startServer({
    logDir: dir.path,
    workers: 1,
    args: [`--pause=${PAUSE_MS / 1000}`],
  });
  const expected: Record<string, number> = {};
  const message = (client: string) => `LIKE ${client} 1 12\n`;
  for (let at = 1; at < message("split-00").length; at++) {
    const client = `split-${String(at).padStart(2, "0")}`;
    const line = message(client);
    const reply = await sendSplit(server.port, line.slice(0, at), line.slice(at), 1);
    const replyLine = reply.split("\n")[0]!;
    assert.match(replyLine, new RegExp(`^ACK seq=1 client=12 total=\\d+$`), `split at ${at}`);
    expected[client] = 12;
  }
  // A resend of seq 1 is a duplicate, not a conflict: the first was counted whole.
  const again = await sendSplit(server.port, "LIKE split-05 1", " 12\n", 1);
  assert.match(again, /^ACK seq=1 client=12 total=\d+ dup\n/);
  assert.deepEqual((await stats(server.port)).clients, expected);
});

Deno.test("a classic message split by a pause is answered at the pause (documented), and the log says so", async () => {
  await using dir = await tempDir();
  await using server = await startServer({
    logDir: dir.path,
    workers: 1,
    args: [`--pause=${PAUSE_MS / 1000}`],
  });
  const reply = await sendSplit(server.port, "LikesServer3 1", "4", 4);
  assert.equal(reply.slice(0, 3), "ACK", "the first part is a valid message: counted");
  assert.deepEqual((await stats(server.port)).clients, { LikesServer3: 1 });
  await server.stop();
  const log = await readLines(server.logFile);
  assert.ok(
    log.some((l) => / LikesServer3 1 total=1 \(no terminator: answered on a pause\)$/.test(l)),
    "the message log marks it",
  );
  assert.ok(log.some((l) => /Invalid data "4"/.test(l)), "the second part is an error");
});

Deno.test("a keyed message the server stops waiting for (idle timeout) gets an error and is not counted", async () => {
  await using dir = await tempDir();
  await using server = await startServer({
    logDir: dir.path,
    workers: 1,
    args: [`--pause=${PAUSE_MS / 1000}`, "--idle-timeout=0.3"],
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await writeAll(conn, encoder.encode("LIKE cut-short 1 1"));
    const reply = await readUntil(conn, Infinity, 5000); // until the server closes
    assert.match(
      reply,
      /^ERR incomplete keyed message: the server closed the connection before its newline; not counted, send it again whole\nERR idle timeout\n$/,
    );
  } finally {
    conn.close();
  }
  assert.deepEqual((await stats(server.port)).clients, {});
});
