import assert from "node:assert/strict";
import { startFloor } from "./floor_server.ts";

const encoder = new TextEncoder();

/** Reads until `count` bytes came, or the connection ends. */
async function readBytes(conn: Deno.Conn, count: number): Promise<string> {
  const buffer = new Uint8Array(count);
  let got = 0;
  while (got < count) {
    const n = await conn.read(buffer.subarray(got));
    if (n === null) break;
    got += n;
  }
  return new TextDecoder().decode(buffer.subarray(0, got));
}

Deno.test("the floor answers one ACK per line on connections spread over its Workers, and waits for a line's end", async () => {
  const floor = await startFloor({ port: 0, workers: 2 });
  try {
    const conns = await Promise.all(
      [0, 1, 2, 3].map(() => Deno.connect({ hostname: "127.0.0.1", port: floor.port })),
    );
    try {
      for (const conn of conns) {
        await conn.write(encoder.encode("LikesServer1 5\n"));
        assert.equal(await readBytes(conn, 4), "ACK\n");
      }
      const [conn] = conns;
      // Three messages in one write: three replies. Then half a line: nothing until its end.
      await conn!.write(encoder.encode("LikesServer1 1\nLikesServer1 2\nLikesServer1 3\nLikes"));
      assert.equal(await readBytes(conn!, 12), "ACK\nACK\nACK\n");
      await conn!.write(encoder.encode("Server1 4\n"));
      assert.equal(await readBytes(conn!, 4), "ACK\n");
    } finally {
      for (const conn of conns) conn.close();
    }
  } finally {
    await floor.stop();
  }
});
