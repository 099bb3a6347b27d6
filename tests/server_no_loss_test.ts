/**
 * Nothing a client already sent is dropped, however the connection ends: thousands of messages
 * back to back, then a half-close, a normal close, or a reset (closing with replies unread makes
 * the kernel send RST), with the last message unterminated as classic C clients send it.
 */

import assert from "node:assert/strict";
import { startServer } from "../src/launch/processes.ts";
import { bytes, closeQuietly, readLines, stats, tempDir, until, writeAll } from "./_helpers.ts";

const MESSAGES = 3000;

/** Reads until `count` bytes arrived or EOF (fails the test on a timeout). */
async function readBytes(conn: Deno.Conn, count: number): Promise<number> {
  const buffer = new Uint8Array(65536);
  let total = 0;
  while (total < count) {
    const n = await conn.read(buffer.subarray(0, Math.min(buffer.length, count - total)));
    if (n === null) break;
    total += n;
  }
  return total;
}

const ENDINGS = ["reset with replies unread", "normal close", "half-close"] as const;

Deno.test("server.ts counts and logs every message that arrived, however the client ends the connection", async (t) => {
  await using dir = await tempDir();
  await using server = await startServer({ logDir: dir.path, workers: 1 });
  for (const [index, ending] of ENDINGS.entries()) {
    await t.step(
      `${MESSAGES} back-to-back messages and an unterminated one, then ${ending}`,
      async () => {
        const client = `LikesServer${900 + index}`;
        const body = `${client} 1\n`.repeat(MESSAGES);
        const last = `${client} 2`; // no terminator, as classic C clients send it
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
        try {
          await writeAll(conn, bytes(body + last));
          if (ending === "reset with replies unread") {
            // One reply byte: the server is answering. Closing with the rest unread sends RST
            // while the server still has messages to read.
            assert.equal(await readBytes(conn, 1), 1);
          } else if (ending === "normal close") {
            // Take every reply of the terminated messages, so that the close is a clean FIN.
            assert.equal(await readBytes(conn, MESSAGES * 4), MESSAGES * 4);
          } else {
            await conn.closeWrite();
            assert.equal(await readBytes(conn, MESSAGES * 4 + 3), MESSAGES * 4 + 3, "every reply");
          }
        } finally {
          closeQuietly(conn);
        }
        let counted = 0;
        await until(`${client} has ${MESSAGES + 2} likes (it has ${counted})`, async () => {
          counted = (await stats(server.port)).clients[client] ?? 0;
          return counted === MESSAGES + 2;
        }).catch(() => {});
        assert.equal(counted, MESSAGES + 2, "every message that arrived was counted");
      },
    );
  }
  await server.stop();
  const logged = (await readLines(server.logFile)).filter((l) =>
    / LikesServer90\d \d total=/.test(l)
  );
  assert.equal(logged.length, ENDINGS.length * (MESSAGES + 1), "a log line for every message");
});
