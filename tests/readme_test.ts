/**
 * The README's `deno task …` examples work as written: each one's arguments are accepted by its
 * entry point under the task's own grants (run with `--help` added, so that the long-running ones
 * stop after parsing), and the hand-run examples run for real: one LikesServer, the overlay's two
 * terminals, and the four terminals over Redis.
 */

import assert from "node:assert/strict";
import { type ListeningProcess, PROJECT, startListening } from "../src/launch/processes.ts";
import { redisCli, redisMissing } from "../src/launch/redis_process.ts";
import { forEachText, spawnDeno } from "../src/launch/child_process.ts";
import { LineClient } from "../src/protocol/line_client.ts";
import { nameIfSkipped, runDeno, until } from "./_helpers.ts";

const README = new URL("../README.md", import.meta.url);
const TASKS = [
  "server",
  "parent",
  "likes",
  "demo",
  "chaos",
  "bench",
  "node",
  "query",
  "cluster",
  "otel",
];

/** Every `deno task NAME [args]` written in the README (in code spans or code blocks). */
async function readmeTaskExamples(): Promise<string[][]> {
  const text = await Deno.readTextFile(README);
  const examples = new Set<string>();
  for (
    const match of text.matchAll(/deno task ([a-z]+)((?: +-[^\s`#|]*(?: +[^\s`#|-][^\s`#|]*)?)*)/g)
  ) {
    if (TASKS.includes(match[1]!)) examples.add(`${match[1]}${match[2]!.trimEnd()}`);
  }
  return [...examples].map((example) => example.split(/ +/));
}

Deno.test("the README's deno task examples are accepted as written", async (t) => {
  const examples = await readmeTaskExamples();
  assert.ok(
    examples.some(([task, first]) => task === "likes" && first === "--id"),
    "the README shows `deno task likes --id 3`",
  );
  assert.deepEqual(
    examples.filter((example) => example.includes("--")).map((e) => e.join(" ")),
    [],
    "one form everywhere: a task's flags follow its name, with no `--` before them",
  );
  for (const [task, ...args] of examples) {
    await t.step(["deno task", task, ...args].join(" "), async () => {
      const run = await runDeno(
        ["task", `--config=${PROJECT.config}`, task!, ...args, "--help"],
        30_000,
      );
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^Usage: /);
    });
  }
});

Deno.test("deno task likes --id 3 (the README's example) runs with the task's grants, and so does the form with --", async () => {
  // A lifetime of 0 s: it starts, writes its log /tmp/LikesServer3 (granted by the task), and
  // exits 0 with nothing to send, so no server is needed.
  for (const separator of [[], ["--"]]) {
    const run = await runDeno(
      ["task", `--config=${PROJECT.config}`, "likes", ...separator, "--id", "3", "--duration", "0"],
      30_000,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /LikesServer3 started/);
    assert.match(
      await Deno.readTextFile("/tmp/LikesServer3"),
      /LikesServer3 finished: generated 0/,
    );
  }
});

Deno.test("the overlay's two commands (README, The overlay) work as written", async () => {
  // Terminal 1, as written: the committed cluster.json (fixed ports 4351-4355 and 4302-4305).
  const cluster = spawnDeno([
    "task",
    `--config=${PROJECT.config}`,
    "cluster",
    "--duration",
    "60",
    "--view-port",
    "0",
  ]);
  let stderr = "";
  const started = Promise.withResolvers<void>();
  const output = Promise.all([
    forEachText(cluster.stdout, () => {}),
    forEachText(cluster.stderr, (text) => {
      stderr += text;
      if (/query at A: \d+ likes from A B C D E/.test(stderr)) started.resolve();
    }),
  ]);
  const ended = Promise.all([cluster.status, output]).then(([status]) => status);
  ended.then(() => started.reject(new Error(`the cluster ended early: ${stderr}`)));
  try {
    await started.promise;
    assert.match(stderr, /^view at http:\/\/127\.0\.0\.1:\d+\/$/m);
    // Terminal 2, as written.
    const query = await runDeno(
      ["task", `--config=${PROJECT.config}`, "query", "get_all", "--timing"],
      30_000,
    );
    assert.equal(query.code, 0, query.stderr);
    assert.match(query.stdout, /^key +node +likes$/m);
    assert.match(query.stdout, /rows, \d+ likes · answered A B C D E · missing none/);
    assert.match(query.stdout, /^└─ call B {2}[\d.]+ ms$/m);
    assert.match(query.stdout, /cache lookup {2}[\d.]+ ms {2}skipped: a repeat by another path/);
    assert.match(query.stdout, /^client total [\d.]+ ms, network overhead [\d.]+ ms/m);
    const stats = await runDeno(["task", `--config=${PROJECT.config}`, "query", "stats"], 30_000);
    assert.equal(stats.code, 0, stats.stderr);
    const counters = JSON.parse(stats.stdout);
    assert.equal(counters.node, "A");
    assert.equal(typeof counters.cache.hits, "number");
  } finally {
    try {
      cluster.kill("SIGTERM"); // Ctrl-C in terminal 1: the cluster stops its nodes and LikesServers
    } catch {
      // It ended by itself: `started` says why.
    }
    const status = await ended;
    // The run made a fresh folder for its nodes, as a person's run would; the test removes it.
    const made = /logs and journals in (\/tmp\/likes-cluster-[^\s]+)/.exec(stderr)?.[1];
    if (made) await Deno.remove(made, { recursive: true });
    assert.equal(status.code, 143, stderr);
    assert.ok(made, `the cluster named its folder: ${stderr}`);
  }
  assert.match(stderr, /SIGTERM: stopping the LikesServers and the nodes/);
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: 4351 }), "A stopped");
});

/** The lines of the README's code block that follows `marker`. */
async function readmeBlockAfter(marker: string): Promise<string[]> {
  const text = await Deno.readTextFile(README);
  const after = text.slice(text.indexOf(marker));
  const block = /```sh\n([\s\S]*?)```/.exec(after)?.[1];
  assert.ok(block, `a code block after "${marker}"`);
  return block.trim().split("\n");
}

/** Why the fixed ports of a README example cannot be used here, or null. */
function portsBusy(ports: readonly number[]): string | null {
  for (const port of ports) {
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
    } catch {
      return `port ${port} is in use`;
    }
  }
  return null;
}

const REDIS_BY_HAND = "By hand, in four terminals";
const redisSkip = redisMissing() ?? portsBusy([6379, 4242, 4243]);

Deno.test({
  name: nameIfSkipped(
    "the README's four terminals over Redis (Past one machine) work as written",
    redisSkip,
  ),
  ignore: redisSkip !== null,
  async fn() {
    const [redisLine, primary1, primary2, parentLine, ...rest] = await readmeBlockAfter(
      REDIS_BY_HAND,
    );
    assert.equal(rest.length, 0);
    // Terminal 1 as written: a folder of Redis's own, then Redis writing its files there. The
    // test removes the folder after, unless it was there before.
    const [mkdirLine, startLine, ...more] = redisLine!.split(" && ");
    assert.equal(more.length, 0);
    const [mkdir, parents, redisDir, ...extra] = mkdirLine!.split(" ");
    assert.deepEqual([mkdir, parents, extra], ["mkdir", "-p", []]);
    const hadDir = await Deno.stat(redisDir!).then(() => true, () => false);
    await Deno.mkdir(redisDir!, { recursive: true });
    const [redisCommand, ...redisArgs] = startLine!.split(" ");
    assert.equal(redisCommand, "redis-server");
    assert.equal(redisArgs[redisArgs.indexOf("--dir") + 1], redisDir, "Redis writes in it");
    const redis = new Deno.Command("redis-server", {
      args: redisArgs,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const servers: ListeningProcess[] = [];
    try {
      await until("Redis answers on 6379", async () => {
        try {
          using client = await LineClient.connect({ port: 6379 });
          return await client.request("PING") === "+PONG";
        } catch {
          return false;
        }
      });
      for (const line of [primary1!, primary2!]) {
        const [deno, ...args] = line.split(" ");
        assert.equal(deno, "deno");
        servers.push(await startListening("primary", args));
      }
      // Terminal 4 as written, but 3 s of likes instead of 20.
      const [deno, ...args] = parentLine!.replace("--duration 20", "--duration 3").split(" ");
      assert.equal(deno, "deno");
      const parent = await runDeno(args, 90_000);
      assert.equal(parent.code, 0, parent.stderr);
      assert.match(parent.stdout, /^verdict: CONVERGED: all 10 LikesServers exited 0/m);
    } finally {
      for (const server of servers) await server.stop("SIGTERM");
      redis.kill("SIGTERM");
      await redis.status;
      if (!hadDir) await Deno.remove(redisDir!, { recursive: true }).catch(() => {});
    }
  },
});

const SENTINEL_BY_HAND = "By hand with Redis Sentinel";
const SENTINEL_PORTS = [6380, 6381, 6382, 26380, 26381, 26382];
const sentinelSkip = redisMissing() ?? portsBusy([...SENTINEL_PORTS, 4242, 4243]);

Deno.test({
  name: nameIfSkipped(
    "the README's Sentinel setup (Past one machine) works as written: the master stops mid-run, the run converges",
    sentinelSkip,
  ),
  ignore: sentinelSkip !== null,
  async fn() {
    const lines = await readmeBlockAfter(SENTINEL_BY_HAND);
    const redisLines = lines.filter((line) => line.startsWith("redis-server "));
    const [touchLine] = lines.filter((line) => line.startsWith("touch "));
    const [primary1, primary2, parentLine] = lines.filter((line) => line.startsWith("deno "));
    const [shutdownLine, ...rest] = lines.filter((line) => line.startsWith("redis-cli "));
    assert.equal(redisLines.length, 6);
    assert.equal(rest.length, 0);
    assert.equal(lines.length, 6 + 1 + 3 + 1, "every line is one of these");
    // The files and directories the lines make in /tmp: removed after, unless there before.
    const made = [
      ...touchLine!.split(" ").slice(1),
      ...[6380, 6381, 6382].flatMap((p) => [`/tmp/likes-${p}.aof`, `/tmp/likes-${p}.rdb`]),
    ];
    const before = new Set<string>();
    for (const path of made) {
      if (await Deno.stat(path).then(() => true, () => false)) before.add(path);
    }
    const redis: Deno.ChildProcess[] = [];
    const servers: ListeningProcess[] = [];
    try {
      // `touch`, as written: the Sentinels' config files, which they rewrite.
      for (const path of touchLine!.split(" ").slice(1)) {
        await Deno.writeFile(path, new Uint8Array(), { append: true });
      }
      for (const line of redisLines) {
        const [command, ...args] = line.split(" ");
        assert.equal(command, "redis-server");
        redis.push(
          new Deno.Command("redis-server", {
            args,
            stdin: "null",
            stdout: "null",
            stderr: "null",
          }).spawn(),
        );
        const port = Number(/--port (\d+)/.exec(line)![1]);
        await until(`Redis answers on ${port}`, async () => {
          try {
            using client = await LineClient.connect({ port });
            return await client.request("PING") === "+PONG";
          } catch {
            return false;
          }
        });
      }
      await until("the Sentinels know both replicas", async () => {
        const known = await redisCli(26380, "sentinel", "replicas", "likes");
        return known.includes("6381") && known.includes("6382");
      }, 15_000);
      for (const line of [primary1!, primary2!]) {
        const [deno, ...args] = line.split(" ");
        assert.equal(deno, "deno");
        servers.push(await startListening("primary", args));
      }
      // The parent as written, but 4 s of likes instead of 20; the master stops after one.
      const [deno, ...args] = parentLine!.replace("--duration 20", "--duration 4").split(" ");
      assert.equal(deno, "deno");
      const parent = runDeno(args, 120_000);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const [, ...cliArgs] = shutdownLine!.split(" ");
      await redisCli(Number(cliArgs[1]), ...cliArgs.slice(2));
      const run = await parent;
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^verdict: CONVERGED: all 10 LikesServers exited 0/m);
      const master = await redisCli(26380, "sentinel", "get-master-addr-by-name", "likes");
      assert.match(master, /^127\.0\.0\.1\n638[12]\n$/, "a replica was promoted");
    } finally {
      for (const server of servers) await server.stop("SIGTERM");
      for (const child of redis) {
        try {
          child.kill("SIGTERM");
        } catch {
          // The master, stopped by the README's last line.
        }
        await child.status;
      }
      for (const path of made) {
        if (!before.has(path)) await Deno.remove(path, { recursive: true }).catch(() => {});
      }
    }
  },
});

Deno.test("the import-graph command (README, Code layout) runs as written and finds the rule kept", async () => {
  const [line, ...rest] = await readmeBlockAfter("## Code layout");
  assert.deepEqual(rest, [], "one command");
  const [deno, ...args] = line!.split(" ");
  assert.equal(deno, "deno");
  const run = await runDeno(args);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /server -> store \(\d+\)/, "the arrows between wings");
  assert.match(run.stdout, /^0 broken rule\(s\), 0 cycle\(s\)$/m);
});
