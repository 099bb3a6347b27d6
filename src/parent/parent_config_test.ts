import assert from "node:assert/strict";
import { UsageError } from "../cli/flags.ts";
import { parentUsage, parseParentConfig } from "./parent_config.ts";

Deno.test("parseParentConfig() gives the seed exercise's defaults", () => {
  assert.deepEqual(parseParentConfig([], 5), {
    children: 10,
    staggerMs: 1000,
    durationMs: 300_000,
    minIntervalMs: 1000,
    maxIntervalMs: 5000,
    maxLikes: 42,
    host: "127.0.0.1",
    port: 4242,
    servers: [{ host: "127.0.0.1", port: 4242 }],
    logDir: "/tmp",
    seed: 5,
    seeded: false,
    protocol: "keyed",
    ack: "prefix",
    connection: "persistent",
    retry: "safe",
    replyTimeoutMs: 2000,
    drainMs: 10_000,
    json: false,
    viewPort: null,
  });
});

Deno.test("parseParentConfig() takes fractional seconds and a seed", () => {
  const config = parseParentConfig([
    "--children=3",
    "--stagger=0.1",
    "--duration=2.5",
    "--min-interval=0.05",
    "--max-interval=0.1",
    "--seed=99",
    "--json",
    "--protocol=classic",
    "--view-port=0",
  ], 5);
  assert.ok(config !== "help");
  assert.equal(config.children, 3);
  assert.equal(config.staggerMs, 100);
  assert.equal(config.durationMs, 2500);
  assert.equal(config.seed, 99);
  assert.equal(config.seeded, true);
  assert.equal(config.json, true);
  assert.equal(config.protocol, "classic");
  assert.equal(config.connection, "per-message", "classic clients connect per message");
  assert.equal(config.viewPort, 0);
});

Deno.test("parseParentConfig() rejects bad values", async (t) => {
  const cases: [string[], RegExp][] = [
    [["--children=0"], /--children/],
    [["--stagger=fast"], /--stagger/],
    [["--min-interval=2", "--max-interval=1"], /must not exceed/],
    [["--protocol=x"], /--protocol/],
    [["--seed=-3"], /--seed/],
    [["--nope"], /Unknown option/],
    [["--log-dir=/tmp/x,/home"], /--log-dir must be a path without commas/],
  ];
  for (const [args, message] of cases) {
    await t.step(args.join(" "), () => {
      assert.throws(
        () => parseParentConfig(args, 1),
        (e) => e instanceof UsageError && message.test(e.message),
      );
    });
  }
  assert.equal(parseParentConfig(["--help"], 1), "help");
  for (
    const flag of [
      "--children",
      "--stagger",
      "--duration",
      "--min-interval",
      "--max-interval",
      "--max-likes",
      "--host",
      "--port",
      "--log-dir",
      "--seed",
      "--json",
      "--help",
    ]
  ) {
    assert.ok(parentUsage().includes(flag), flag);
  }
});
