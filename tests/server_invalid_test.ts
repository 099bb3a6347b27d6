/**
 * Invalid input against a real server process: every kind answered `ERR`, logged as
 * `Invalid data`, never counted, and the connection and server keep working.
 */

import assert from "node:assert/strict";
import { startServer } from "../src/launch/processes.ts";
import { exchange, LineConn, readLines, stats, tempDir } from "./_helpers.ts";

const INVALID: [string, string | Uint8Array, RegExp][] = [
  ["empty line", "\n", /^ERR empty message$/],
  ["blanks only", "  \t \n", /^ERR empty message$/],
  ["misspelt name", "LikeServer3 5\n", /^ERR unknown message/],
  ["lowercase name", "likesserver3 5\n", /^ERR unknown message/],
  ["name without number", "LikesServer 5\n", /^ERR bad name/],
  ["name with letters", "LikesServerX 5\n", /^ERR bad name/],
  ["name number too long", "LikesServer1234567890 5\n", /^ERR bad name/],
  ["missing likes", "LikesServer3\n", /^ERR missing likes/],
  ["extra field", "LikesServer3 5 6\n", /^ERR too many fields/],
  ["negative", "LikesServer3 -1\n", /^ERR negative likes/],
  ["above max", "LikesServer3 43\n", /^ERR likes "43" above max 42/],
  ["huge", "LikesServer3 99999999999999999999\n", /^ERR likes .* above max 42/],
  ["letters", "LikesServer3 abc\n", /^ERR likes "abc" not a whole number/],
  ["decimal", "LikesServer3 1.5\n", /^ERR likes "1.5" not a whole number/],
  ["plus sign", "LikesServer3 +5\n", /^ERR likes "\+5" not a whole number/],
  ["exponent", "LikesServer3 1e1\n", /^ERR likes "1e1" not a whole number/],
  ["hex", "LikesServer3 0x10\n", /^ERR likes "0x10" not a whole number/],
  ["binary bytes", new Uint8Array([0x01, 0x02, 0xff, 0x7f, 0x0a]), /^ERR binary data/],
  ["non-ASCII digit", "LikesServer3 ５\n", /^ERR binary data/],
  ["keyed, missing field", "LIKE c1 5\n", /^ERR missing fields/],
  ["keyed, seq 0", "LIKE c1 0 5\n", /^ERR bad seq/],
  ["keyed, seq not a number", "LIKE c1 x 5\n", /^ERR bad seq/],
  ["keyed, bad client id", "LIKE c/1 1 5\n", /^ERR bad client id/],
  ["keyed, above max", "LIKE c1 1 43\n", /^ERR likes "43" above max/],
  ["keyed, out of order", "LIKE c2 5 1\n", /^ERR out of order: seq 5, expected 1$/],
  ["STATS with a bad client id", "STATS c/1\n", /^ERR bad client id "c\/1"/],
  ["unknown command", "HELLO\n", /^ERR unknown message "HELLO"/],
  [
    "overlong line (100 KB)",
    `${"9".repeat(100_000)}\n`,
    /^ERR line too long: 100000 bytes, max 512$/,
  ],
];

Deno.test("server.ts answers at least 20 kinds of invalid input with ERR, logs and ignores them", async (t) => {
  assert.ok(INVALID.length >= 20);
  await using dir = await tempDir();
  await using server = await startServer({ logDir: dir.path, workers: 2 });
  using conn = await LineConn.open(server.port);
  let valid = 0;
  for (const [name, input, reply] of INVALID) {
    await t.step(`${name} → ERR, and the connection still counts a valid message`, async () => {
      await conn.send(input);
      assert.match(await conn.line(), reply);
      assert.equal(await conn.request("LikesServer200 1"), "ACK");
      valid++;
    });
  }
  await t.step("a keyed message after the conflict is still counted once", async () => {
    assert.match(await conn.request("LIKE c3 1 4"), /^ACK seq=1 client=4/);
    assert.match(
      await conn.request("LIKE c3 1 5"),
      /^ERR conflict: seq 1 was counted with 4 likes, not 5$/,
    );
  });
  const s = await stats(server.port);
  assert.deepEqual(s.clients, { LikesServer200: valid, c3: 4 });
  assert.equal(s.total, valid + 4);
  assert.equal(s.messages?.rejected, INVALID.length + 1);
  conn.close();

  assert.equal((await server.stop()).code, 0);
  const invalidLines = (await readLines(server.logFile)).filter((l) =>
    / WARNING likes\.server\.invalid Invalid data /.test(l)
  );
  assert.equal(
    invalidLines.length,
    INVALID.length + 1,
    "one Invalid data line per rejected message",
  );
  assert.ok(
    invalidLines.some((l) =>
      /Invalid data "LikesServer3 43" from 127\.0\.0\.1:\d+: likes "43" above max 42/.test(l)
    ),
  );
  assert.ok(invalidLines.some((l) => /Invalid data 0x0102ff7f from .*binary data/.test(l)));
});

Deno.test("server.ts never buffers an endless line: 8 MB without a newline, then it answers", async () => {
  await using dir = await tempDir();
  await using server = await startServer({ logDir: dir.path, workers: 1 });
  using conn = await LineConn.open(server.port);
  const chunk = new Uint8Array(1 << 20).fill(0x41);
  for (let i = 0; i < 8; i++) await conn.send(chunk);
  assert.match(await conn.request(""), /^ERR line too long: 8388608 bytes, max 512$/);
  assert.equal(await conn.request("LikesServer1 1"), "ACK");
  conn.close();
  assert.equal((await stats(server.port)).total, 1);
});

Deno.test("server.ts drops a silent client after --idle-timeout with ERR idle timeout", async () => {
  await using dir = await tempDir();
  await using server = await startServer({
    logDir: dir.path,
    workers: 1,
    args: ["--idle-timeout=0.3"],
  });
  const started = Date.now();
  const reply = await exchange(server.port, "", { timeoutMs: 5000 });
  const waited = Date.now() - started;
  assert.equal(reply, "ERR idle timeout\n");
  assert.ok(waited >= 250 && waited < 4000, `dropped after ${waited} ms`);
  // The server still serves new clients.
  assert.equal(await exchange(server.port, "LikesServer1 2\n", { expectBytes: 4 }), "ACK\n");
  assert.equal(
    (await stats(server.port)).connections?.open,
    1,
    "only the STATS connection is open",
  );
  await server.stop();
  const lines = await readLines(server.logFile);
  assert.ok(
    lines.some((l) =>
      /Idle connection from 127\.0\.0\.1:\d+ dropped after 0\.3 s without data/.test(l)
    ),
  );
});
