/**
 * Faults against a real server: duplicated and reordered keyed messages, replies lost after the
 * server applied a like (a proxy that cuts connections), and 10,000 random and malformed inputs.
 */

import assert from "node:assert/strict";
import { forEachText, spawnDeno } from "../src/launch/child_process.ts";
import { likesServerArgs, startServer } from "../src/launch/processes.ts";
import { parseEdgeReport } from "../src/protocol/edge_report.ts";
import { type Random, randomInt, seededRandom } from "../src/base/random.ts";
import { closeQuietly, LineConn, stats, tempDir, writeAll } from "./_helpers.ts";

function shuffle<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(random, 0, i);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

Deno.test("duplicated and reordered keyed messages are each counted once", async () => {
  await using dir = await tempDir();
  await using server = await startServer({ logDir: dir.path, workers: 2 });
  const random = seededRandom(11);
  const likes = Array.from({ length: 50 }, () => randomInt(random, 0, 42));
  // Every seq three times, shuffled over four connections that send concurrently; a message
  // refused as out of order goes to the back of its connection's queue and is sent again later.
  const deliveries = shuffle(
    likes.flatMap((n, i) => [i + 1, i + 1, i + 1].map((seq) => ({ seq, n }))),
    random,
  );
  const queues = [0, 1, 2, 3].map((q) => deliveries.filter((_, i) => i % 4 === q));
  let outOfOrder = 0;
  await Promise.all(queues.map(async (queue) => {
    using conn = await LineConn.open(server.port);
    while (queue.length > 0) {
      const { seq, n } = queue.shift()!;
      const reply = await conn.request(`LIKE reorder ${seq} ${n}`);
      if (reply.startsWith("ERR out of order")) {
        outOfOrder++;
        queue.push({ seq, n });
        await new Promise((r) => setTimeout(r, 1));
      } else {
        assert.match(reply, new RegExp(`^ACK seq=${seq} `));
      }
    }
  }));
  const s = await stats(server.port);
  assert.equal(s.clients.reorder, likes.reduce((a, b) => a + b, 0));
  assert.equal(s.messages?.accepted, 50, "each seq counted once");
  assert.equal(
    s.messages?.duplicates,
    100,
    "the two repeats of each seq were acknowledged, not counted",
  );
  assert.ok(outOfOrder > 0, "the shuffle did deliver some seqs early");
});

/** A TCP proxy that passes requests through and, at random, cuts the connection instead of a reply. */
function replyDroppingProxy(upstreamPort: number, dropRate: number, random: Random) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let dropped = 0;
  const pipes = new Set<Promise<void>>();
  const pump = async (from: Deno.Conn, to: Deno.Conn, drop: boolean, both: () => void) => {
    const buffer = new Uint8Array(4096);
    try {
      while (true) {
        const n = await from.read(buffer);
        if (n === null) break;
        if (drop && random() < dropRate) {
          dropped++;
          break; // the server applied the like; its reply never reaches the client
        }
        await writeAll(to, buffer.subarray(0, n));
      }
    } catch {
      // One side went away.
    } finally {
      both();
    }
  };
  const accepting = (async () => {
    for await (const client of listener) {
      let upstream: Deno.Conn;
      try {
        upstream = await Deno.connect({ hostname: "127.0.0.1", port: upstreamPort });
      } catch {
        closeQuietly(client);
        continue;
      }
      const both = () => {
        closeQuietly(client);
        closeQuietly(upstream);
      };
      const pipe = Promise.all([
        pump(client, upstream, false, both),
        pump(upstream, client, true, both),
      ]).then(() => {
        pipes.delete(pipe);
      });
      pipes.add(pipe);
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    dropped: () => dropped,
    async close() {
      listener.close();
      await accepting.catch(() => {});
      await Promise.all([...pipes]);
    },
  };
}

Deno.test("a reply lost after the server counted the like is retried and not counted twice", async () => {
  await using dir = await tempDir();
  await using server = await startServer({ logDir: dir.path, workers: 2 });
  const proxy = replyDroppingProxy(server.port, 0.2, seededRandom(5));
  try {
    const edge = spawnDeno(likesServerArgs({
      port: proxy.port,
      logDir: dir.path,
      args: [
        "--id=4",
        "--client-id=lossy-4",
        "--duration=2",
        "--min-interval=0.02",
        "--max-interval=0.05",
        "--max-backoff=0.1",
        "--reply-timeout=0.5",
        "--drain=20",
        "--report-json",
        "--quiet",
      ],
    }));
    let out = "";
    const [status] = await Promise.all([
      edge.status,
      forEachText(edge.stdout, (t) => (out += t)),
      edge.stderr.cancel(),
    ]);
    assert.equal(status.code, 0, out);
    const report = parseEdgeReport(out.trim().split("\n").at(-1)!);
    assert.ok(report && report.phase === "done");
    const s = await stats(server.port);
    assert.ok(proxy.dropped() >= 5, `the proxy dropped ${proxy.dropped()} replies`);
    assert.equal(report.acknowledged, report.generated);
    assert.equal(
      s.clients["lossy-4"],
      report.generated,
      "counted = generated: no retry counted twice",
    );
    assert.ok(
      (s.messages?.duplicates ?? 0) >= 1,
      "retries of applied messages came back as duplicates",
    );
  } finally {
    await proxy.close();
  }
});

type Expect = "ack" | "err" | "stats";

/** 10,000 inputs of known validity: valid classic and keyed likes, duplicates, and garbage. */
function* fuzzInputs(
  random: Random,
  connection: number,
  count: number,
): Generator<[string, Expect, string, number]> {
  const client = `fuzz-${connection}`;
  let seq = 0;
  let lastLikes = 0;
  const printable = (length: number) =>
    Array.from({ length }, () => {
      const c = randomInt(random, 0x20, 0x7e);
      return c === 0x4c ? "l" : String.fromCharCode(c); // no "L": it could start a classic message
    }).join("");
  const binary = (length: number) =>
    Array.from({ length }, () => {
      const c = randomInt(random, 1, 255);
      return c === 0x0a || c === 0x4c ? "\x01" : String.fromCharCode(c);
    }).join("");
  const blanks = () => [" ", "  ", "\t", " \t "][randomInt(random, 0, 3)]!;
  for (let i = 0; i < count; i++) {
    const likes = randomInt(random, 0, 42);
    switch (randomInt(random, 0, 13)) {
      case 0:
      case 1: {
        const n = randomInt(random, 0, 20);
        yield [`LikesServer${n}${blanks()}${likes}`, "ack", `LikesServer${n}`, likes];
        break;
      }
      case 2:
      case 3:
        seq++;
        lastLikes = likes;
        yield [`LIKE ${client} ${seq} ${likes}`, "ack", client, likes];
        break;
      case 4:
        if (seq > 0) yield [`LIKE ${client} ${seq} ${lastLikes}`, "ack", client, 0]; // a duplicate
        else yield ["", "err", "", 0];
        break;
      case 5:
        yield [`LIKE ${client} ${seq + 2 + randomInt(random, 0, 5)} ${likes}`, "err", "", 0]; // a gap
        break;
      case 6:
        yield [
          `LikesServer${randomInt(random, 0, 20)} ${randomInt(random, 43, 100000)}`,
          "err",
          "",
          0,
        ];
        break;
      case 7:
        yield [
          `LikesServer${randomInt(random, 0, 20)} ${
            ["-1", "abc", "1.5", "+2", "0x1", "4 2"][randomInt(random, 0, 5)]
          }`,
          "err",
          "",
          0,
        ];
        break;
      case 8:
        yield [
          `${
            ["LikeServer", "likesserver", "LikesServerX", "LikesServer"][randomInt(random, 0, 3)]
          } ${likes}`,
          "err",
          "",
          0,
        ];
        break;
      case 9:
        yield [printable(randomInt(random, 0, 60)).replace(/^\s*STATS\s*$/i, "x"), "err", "", 0];
        break;
      case 10:
        yield [binary(randomInt(random, 1, 40)).replace(/^[\s\r]*$/, "\x01"), "err", "", 0];
        break;
      case 11:
        yield ["x".repeat(randomInt(random, 513, 3000)), "err", "", 0];
        break;
      case 12:
        yield [`LIKE ${client} ${randomInt(random, 1, 9)} ${likes} extra`, "err", "", 0];
        break;
      default:
        yield ["STATS", "stats", "", 0];
    }
  }
}

Deno.test("10,000 random and malformed inputs: every one answered, only valid likes counted", async () => {
  await using dir = await tempDir();
  await using server = await startServer({
    logDir: dir.path,
    workers: 2,
    args: ["--max-clients=64"],
  });
  const random = seededRandom(20261123);
  const expected: Record<string, number> = {};
  let answered = 0;
  await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(async (connection) => {
    const inputs = [...fuzzInputs(random, connection, 1250)];
    using conn = await LineConn.open(server.port);
    for (let at = 0; at < inputs.length; at += 50) {
      const batch = inputs.slice(at, at + 50);
      await conn.send(batch.map(([line]) => `${line}\n`).join(""));
      for (const [line, expect, client, likes] of batch) {
        const reply = (await conn.line()).replace(/\r$/, "");
        const kind: Expect = reply.startsWith("ACK")
          ? "ack"
          : reply.startsWith("ERR ")
          ? "err"
          : "stats";
        assert.equal(
          kind,
          expect,
          `${JSON.stringify(line.slice(0, 60))} → ${JSON.stringify(reply.slice(0, 80))}`,
        );
        if (kind === "stats") JSON.parse(reply);
        if (expect === "ack" && likes > 0) expected[client] = (expected[client] ?? 0) + likes;
        if (expect === "ack" && !(client in expected)) expected[client] = 0;
        answered++;
      }
    }
  }));
  assert.equal(answered, 10_000);
  const s = await stats(server.port);
  assert.deepEqual(s.clients, expected, "the counts changed only by the valid likes");
  assert.equal(s.total, Object.values(expected).reduce((a, b) => a + b, 0));
  assert.ok((s.messages?.rejected ?? 0) > 4000, `${s.messages?.rejected} inputs rejected`);
});
