/**
 * Every entry point runs with the narrowest permissions that let it work.
 */

import assert from "node:assert/strict";
import { likesServerArgs, parentArgs, serverArgs, startServer } from "../src/launch/processes.ts";
import { childArgs } from "../src/parent/spawn.ts";
import { testArgs } from "../tools/run_tests.ts";
import { freePort, runDeno, tempDir } from "./_helpers.ts";

/**
 * Runs `deno` with `argsFor(granted)` (a program's own narrow grants for one port), except that
 * the program is told `--port=ASKED`, another port: as `deno task X --port ASKED` would be.
 */
async function runAskingAnotherPort(argsFor: (granted: number) => string[]) {
  const granted = freePort();
  let asked = freePort();
  // Two calls may return the same free port: then the program would be granted it, and run.
  while (asked === granted) asked = freePort();
  const args = argsFor(granted).map((a) => a === `--port=${granted}` ? `--port=${asked}` : a);
  const output = await new Deno.Command("deno", { args, stdin: "null", env: { NO_COLOR: "1" } })
    .output();
  return { asked, code: output.code, stderr: new TextDecoder().decode(output.stderr) };
}

Deno.test("server.ts cannot write outside the log file it was granted", async () => {
  await using granted = await tempDir();
  await using elsewhere = await tempDir();
  const output = await runDeno(
    serverArgs({ logDir: elsewhere.path, allowWrite: `${granted.path}/PrimaryLikesLog` }),
    15_000,
  );
  assert.equal(output.code, 1);
  const stderr = output.stderr;
  assert.match(
    stderr,
    new RegExp(
      `error: Cannot write ${elsewhere.path}/PrimaryLikesLog: no permission; run deno with --allow-write=`,
    ),
  );
  assert.equal(output.stdout, "", "it never printed listening");
  assert.deepEqual([...Deno.readDirSync(elsewhere.path)], [], "nothing was written there");
});

Deno.test("server.ts cannot listen on a port it was not granted", async () => {
  await using dir = await tempDir();
  const { asked, code, stderr } = await runAskingAnotherPort((port) =>
    serverArgs({ logDir: dir.path, port })
  );
  assert.equal(code, 1);
  assert.match(
    stderr,
    new RegExp(
      `Cannot listen on 127\\.0\\.0\\.1:${asked}: no permission; run deno with --allow-net=127\\.0\\.0\\.1:${asked}`,
    ),
  );
});

Deno.test("parent.ts without a grant for the server it reports on fails at once, in one line, before starting a LikesServer", async () => {
  await using dir = await tempDir();
  const { asked, code, stderr } = await runAskingAnotherPort((port) =>
    parentArgs({ port, logDir: dir.path, args: ["--children=1", "--duration=2", "--drain=1"] })
  );
  assert.equal(code, 1, stderr);
  assert.equal(
    stderr,
    `error: no permission to ask the PrimaryLikesServer at 127.0.0.1:${asked} for its counts; run deno with --allow-net=127.0.0.1:${asked}\n`,
  );
  const log = await Deno.readTextFile(`${dir.path}/ParentProcessStatus`).catch(() => "");
  assert.doesNotMatch(log, /LikesServer0 started/, "no LikesServer was started");
});

Deno.test("likes_server.ts without a grant for its server fails at once, in one line, instead of retrying all its life", async () => {
  await using dir = await tempDir();
  const { asked, code, stderr } = await runAskingAnotherPort((port) =>
    likesServerArgs({
      port,
      logDir: dir.path,
      id: 1,
      args: ["--duration=2", "--min-interval=0.05", "--max-interval=0.1", "--drain=1"],
    })
  );
  assert.equal(code, 1, stderr);
  assert.equal(
    stderr,
    `error: no permission to send likes to 127.0.0.1:${asked}; run deno with --allow-net=127.0.0.1:${asked}\n`,
  );
  const log = await Deno.readTextFile(`${dir.path}/LikesServer1`);
  assert.doesNotMatch(log, /LikesServer1 \d+$/m, "no batch was generated");
});

Deno.test("server.ts with its narrow grants serves on exactly its granted port", async () => {
  await using dir = await tempDir();
  const port = freePort();
  await using server = await startServer({ logDir: dir.path, port, workers: 2 });
  assert.equal(server.port, port);
  assert.ok(serverArgs({ logDir: dir.path, port }).includes(`--allow-net=127.0.0.1:${port}`));
});

Deno.test("a LikesServer child gets net to one host:port and write to its own log file only", () => {
  const spec = {
    id: 3,
    clientId: "LikesServer3-r",
    servers: [{ host: "127.0.0.1", port: 4242 }],
    logDir: "/var/tmp/run",
    durationMs: 1000,
    minIntervalMs: 100,
    maxIntervalMs: 200,
    maxLikes: 42,
    seed: 1,
    protocol: "keyed",
    ack: "prefix",
    connection: "persistent",
    retry: "safe",
    replyTimeoutMs: 2000,
    drainMs: 0,
  } as const;
  const args = childArgs(spec);
  const grants = args.filter((a) => a.startsWith("--allow") || a === "-A");
  assert.deepEqual(grants, [
    "--allow-net=127.0.0.1:4242",
    "--allow-write=/var/tmp/run/LikesServer3",
  ]);
  assert.throws(
    () => childArgs({ ...spec, logDir: "/var/tmp/run,/etc" }),
    RangeError,
    "a comma would split the grant",
  );
  // With several servers (over one shared store), exactly those are granted.
  const two = childArgs({
    ...spec,
    servers: [{ host: "127.0.0.1", port: 4242 }, { host: "127.0.0.1", port: 4243 }],
  });
  assert.ok(two.includes("--allow-net=127.0.0.1:4242,127.0.0.1:4243"));
  assert.ok(two.includes("--servers=127.0.0.1:4242,127.0.0.1:4243"));
});

Deno.test("no deno.json task uses -A or an unscoped --allow-* flag", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  for (const [name, command] of Object.entries(config.tasks as Record<string, string>)) {
    const flags = command.split(/\s+/).filter((w) => /^(-A|--allow-all|--allow-\w+)(=|$)/.test(w));
    for (const flag of flags) {
      assert.match(flag, /^--allow-[a-z]+=\S+$/, `task ${name}: ${flag} must name what it grants`);
    }
    assert.doesNotMatch(command, /(^|\s)(-A|--allow-all)(\s|$)/, `task ${name}`);
  }
});

Deno.test("optional tools are granted by path, so a missing one costs no 'failed to resolve' line per test file", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const run = /--allow-run=(\S+)/.exec(config.tasks.demo)![1]!.split(",");
  assert.ok(run.every((tool: string) => tool === "deno" || tool.startsWith("/")), `demo: ${run}`);
  // The tests' grants come from what PATH found (tools/run_tests.ts): absolute paths, no names.
  const tests = testArgs({
    script: "/usr/local/bin/script",
    "redis-server": "/nix/store/x/bin/redis-server",
  }, []);
  assert.ok(tests.includes("--allow-run=deno,/usr/local/bin/script,/nix/store/x/bin/redis-server"));
  assert.ok(tests.includes("--allow-read=.,/tmp,/usr/local/bin/script"), "script is read too");
  // What a bare name would cost, per test file: Deno's own line when the tool is missing.
  const bare = await runDeno(
    [
      "test",
      "--allow-run=deno,no-such-tool-4242",
      "src/cli/flags_test.ts",
      "src/base/random_test.ts",
    ],
    60_000,
  );
  assert.match(bare.stdout + bare.stderr, /Failed to resolve 'no-such-tool-4242' for allow-run/);
  const byPath = await runDeno(
    [
      "test",
      "--allow-run=deno,/usr/bin/no-such-tool-4242",
      "src/cli/flags_test.ts",
      "src/base/random_test.ts",
    ],
    60_000,
  );
  assert.doesNotMatch(byPath.stdout + byPath.stderr, /Failed to resolve/);
});
