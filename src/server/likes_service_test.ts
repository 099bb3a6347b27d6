import assert from "node:assert/strict";
import { getConfig } from "@logtape/logtape";
import { LineClient } from "../protocol/line_client.ts";
import { serveLikes } from "./likes_service.ts";
import type { ServerReadings, ServerRecorder } from "./server_recorder.ts";
import { dirname } from "node:path";
import { PROJECT, startListening } from "../launch/processes.ts";

const DYING_SERVER = new URL("../../tests/fixtures/dying_server.ts", import.meta.url).pathname;

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

Deno.test("serveLikes() tells the recorder it is handed every reply time from every Worker, every flush and the final counts", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "likes-service-recorder-" });
  let replied = 0;
  let waited = 0;
  let flushedRecords = 0;
  let flushes = 0;
  let readings: ServerReadings | undefined;
  let atStop: { counted: number; likes: number; open: number } | undefined;
  const recorder: ServerRecorder = {
    watch(given) {
      readings = given;
      return {
        stop() {
          const counted = given.messages.filter((m) => m.result === "counted");
          atStop = {
            counted: counted.reduce((sum, m) => sum + m.read(), 0),
            likes: given.likesCounted(),
            open: given.connectionsOpen(),
          };
        },
      };
    },
    flushed(ms, records) {
      assert.ok(ms >= 0);
      flushes++;
      flushedRecords += records;
    },
    replied(ms, messages) {
      assert.ok(ms >= 0);
      replied += messages;
      waited += ms;
    },
  };
  let likes = 0;
  try {
    const server = await serveLikes({ workers: 2, dataDir: `${dir}/data`, recorder });
    assert.ok(readings, "watch() was called once the server ran");
    // Eight clients, so that both Workers answer some, one message at a time.
    await Promise.all(Array.from({ length: 8 }, async (_, c) => {
      using client = await LineClient.connect({ port: server.port });
      for (let i = 1; i <= 10; i++) {
        assert.equal(await client.request(`LikesServer${c} ${i}`), "ACK");
        likes += i;
      }
    }));
    using keyed = await LineClient.connect({ port: server.port });
    assert.match(await keyed.request("LIKE edge-1 1 5"), /^ACK seq=1 /);
    assert.match(await keyed.request("LIKE edge-1 1 5"), /dup$/);
    assert.match(await keyed.request("LikesServer1 99"), /^ERR /);
    likes += 5;
    assert.equal(readings.likesCounted(), likes, "the readings follow the counters live");
    keyed.close();
    await server.stop();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(replied, 8 * 10 + 3, "a time for every reply, from every Worker, none lost at stop");
  assert.ok(waited > 0);
  assert.equal(flushedRecords, 8 * 10 + 1, "every counted message was made durable by a flush");
  assert.ok(flushes >= 1 && flushes <= flushedRecords);
  assert.deepEqual(atStop, { counted: 81, likes, open: 0 }, "stopped after the last count");
});

Deno.test("serveLikes() without a recorder has its Workers time nothing", async () => {
  await using server = await serveLikes({ workers: 1 });
  using client = await LineClient.connect({ port: server.port });
  assert.equal(await client.request("LikesServer1 4"), "ACK");
  assert.equal(server.counters.counter("likesCounted"), 4);
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
    // In a process of its own: Deno prints a Worker's uncaught error itself, into that stderr.
    await Deno.mkdir(dataDir);
    const server = await startListening("dying server", [
      "run",
      "--no-prompt",
      `--config=${PROJECT.config}`,
      "--allow-net=127.0.0.1",
      `--allow-read=${PROJECT.src},${dirname(DYING_SERVER)},${dataDir}`,
      `--allow-write=${dataDir}`,
      DYING_SERVER,
      dataDir,
    ]);
    const running = clients.map((c) => pipeline(server.port, c));
    const status = await server.status;
    const { stdout, stderr } = server.output();
    assert.equal(status.code, 0, stderr);
    assert.match(
      stderr,
      /Uncaught \(in worker "connections-1"\) Error: connection worker 1 dies on purpose/,
    );
    const { fatal, stopMs } = JSON.parse(stdout.trim().split("\n").at(-1)!);
    assert.match(fatal, /connection worker 1 died: .*dies on purpose/);
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
