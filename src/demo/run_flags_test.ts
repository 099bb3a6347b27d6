import assert from "node:assert/strict";
import { parseFlags, StartError, UsageError } from "../cli/flags.ts";
import { prepareRun, runFlags } from "./run_flags.ts";

const FLAGS = runFlags({
  duration: "20",
  stagger: "0.5",
  minInterval: "0.1",
  maxInterval: "0.5",
  prefix: "likes-run-flags-test-",
});

function prepare(args: string[]) {
  const { strings, booleans } = parseFlags(args, FLAGS);
  return prepareRun(strings, booleans, "likes-run-flags-test-", 7);
}

Deno.test("prepareRun() makes a fresh log directory and passes the run's shape on to the parent", async () => {
  const run = await prepare(["--children=3", "--seed=42", "--json", "--no-view"]);
  try {
    assert.match(run.logDir, /^\/tmp\/likes-run-flags-test-/);
    assert.ok((await Deno.stat(run.logDir)).isDirectory);
    assert.deepEqual(
      { children: run.children, durationMs: run.durationMs, seed: run.seed, view: run.viewPort },
      { children: 3, durationMs: 20_000, seed: 42, view: undefined },
    );
    assert.deepEqual(run.parentFlags, [
      "--children=3",
      "--stagger=0.5",
      "--duration=20",
      "--min-interval=0.1",
      "--max-interval=0.5",
      "--drain=7",
      "--seed=42",
      "--json",
    ]);
  } finally {
    await Deno.remove(run.logDir, { recursive: true });
  }
});

Deno.test("prepareRun() uses a --log-dir given (made if missing) and picks a free view port for 0", async () => {
  const base = await Deno.makeTempDir({ dir: "/tmp", prefix: "likes-run-flags-test-" });
  try {
    const run = await prepare([`--log-dir=${base}/deeper/logs`]);
    assert.equal(run.logDir, `${base}/deeper/logs`);
    assert.ok((await Deno.stat(run.logDir)).isDirectory);
    assert.ok(run.viewPort !== undefined && run.viewPort > 0, `view port ${run.viewPort}`);
    assert.equal((await prepare([`--log-dir=${base}`, "--view-port=8123"])).viewPort, 8123);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("prepareRun() refuses a bad value with one line, before making a directory", async () => {
  const before = await testDirs();
  for (
    const [args, problem] of [
      [["--children=0"], /children/],
      [["--min-interval=2", "--max-interval=1"], /interval/],
      [["--workers=0"], /workers/],
      [["--view-port=70000"], /view-port/],
      [["--seed=-1"], /seed/],
    ] as const
  ) {
    await assert.rejects(prepare([...args]), (error: Error) => {
      assert.ok(error instanceof UsageError, `${args}: ${error}`);
      assert.match(error.message, problem);
      return true;
    });
  }
  assert.deepEqual(await testDirs(), before);
});

async function testDirs(): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir("/tmp")) {
    if (entry.name.startsWith("likes-run-flags-test-")) found.push(entry.name);
  }
  return found.sort();
}

Deno.test("prepareRun() with a --log-dir it may not write fails at once with the grant to add", async () => {
  // The tests may write /tmp only.
  await assert.rejects(prepare(["--log-dir=/var/likes-run-flags-test"]), (error: Error) => {
    assert.ok(error instanceof StartError, String(error));
    assert.equal(
      error.line,
      "no permission to write logs and data in /var/likes-run-flags-test; run deno with --allow-write=/var/likes-run-flags-test",
    );
    return true;
  });
});
