import assert from "node:assert/strict";
import { UsageError } from "../cli/flags.ts";
import { edgeUsage, parseEdgeConfig } from "./edge_config.ts";

Deno.test("parseEdgeConfig() gives the seed defaults", () => {
  assert.deepEqual(parseEdgeConfig([], "abc", 9), {
    id: 0,
    clientId: "LikesServer0-abc",
    host: "127.0.0.1",
    port: 4242,
    servers: [{ host: "127.0.0.1", port: 4242 }],
    durationMs: 300_000,
    minIntervalMs: 1000,
    maxIntervalMs: 5000,
    maxLikes: 42,
    logDir: "/tmp",
    seed: 9,
    seeded: false,
    protocol: "keyed",
    ack: "prefix",
    connection: "persistent",
    retry: "safe",
    drainMs: 10_000,
    replyTimeoutMs: 2000,
    maxBackoffMs: 2000,
    reportJson: false,
    quiet: false,
  });
});

Deno.test("parseEdgeConfig() reads short, fractional settings", () => {
  const config = parseEdgeConfig(
    [
      "--id=7",
      "--client-id=edge.7",
      "--port=9",
      "--duration=1.5",
      "--min-interval=0.05",
      "--max-interval=0.2",
      "--seed=123",
      "--protocol=classic",
      "--drain=0",
      "--report-json",
      "--quiet",
    ],
    "x",
    0,
  );
  assert.ok(config !== "help");
  assert.equal(config.id, 7);
  assert.equal(config.clientId, "edge.7");
  assert.equal(config.durationMs, 1500);
  assert.equal(config.minIntervalMs, 50);
  assert.equal(config.maxIntervalMs, 200);
  assert.equal(config.seed, 123);
  assert.equal(config.protocol, "classic");
  assert.equal(config.drainMs, 0);
  assert.equal(config.reportJson, true);
  assert.equal(config.quiet, true);
});

Deno.test("parseEdgeConfig() reads how to talk to a classic server", () => {
  const classic = parseEdgeConfig(["--protocol=classic"], "x", 0);
  assert.ok(classic !== "help");
  assert.deepEqual(
    [classic.ack, classic.connection, classic.retry],
    ["prefix", "per-message", "safe"],
    "per message by default, as the seed's clients connect",
  );
  const persistent = parseEdgeConfig(
    ["--protocol=classic", "--ack=any", "--connection=persistent", "--retry=ambiguous"],
    "x",
    0,
  );
  assert.ok(persistent !== "help");
  assert.deepEqual(
    [persistent.ack, persistent.connection, persistent.retry],
    ["any", "persistent", "ambiguous"],
  );
});

Deno.test("parseEdgeConfig() rejects inconsistent or bad values", async (t) => {
  const cases: [string[], RegExp][] = [
    [["--min-interval=3", "--max-interval=1"], /must not exceed --max-interval/],
    [["--protocol=udp"], /--protocol must be keyed or classic/],
    [["--client-id=a b"], /--client-id/],
    [["--port=0"], /--port/],
    [["--max-likes=0"], /--max-likes/],
    [["--duration=-1"], /--duration/],
    [["--ack=any"], /--ack any applies to --protocol classic only/],
    [["--protocol=classic", "--ack=yes"], /--ack must be prefix or any or none/],
    [["--connection=pooled"], /--connection must be per-message or persistent/],
    [["--retry=always"], /--retry must be safe or ambiguous/],
  ];
  for (const [args, message] of cases) {
    await t.step(args.join(" "), () => {
      assert.throws(
        () => parseEdgeConfig(args, "s", 1),
        (e) => e instanceof UsageError && message.test(e.message),
      );
    });
  }
  assert.equal(parseEdgeConfig(["--help"], "s", 1), "help");
  assert.match(edgeUsage(), /--protocol keyed\|classic/);
});

Deno.test("--servers lists several servers, the first preferred; bad entries are refused", () => {
  const config = parseEdgeConfig(["--servers", "127.0.0.1:4301,10.0.0.2:4302"], "abc", 9);
  assert.notEqual(config, "help");
  if (config === "help") return;
  assert.deepEqual(config.servers, [
    { host: "127.0.0.1", port: 4301 },
    { host: "10.0.0.2", port: 4302 },
  ]);
  assert.deepEqual([config.host, config.port], ["127.0.0.1", 4301]);
  assert.throws(
    () => parseEdgeConfig(["--servers", "127.0.0.1"], "abc", 9),
    /--servers must be HOST:PORT/,
  );
  assert.throws(() => parseEdgeConfig(["--servers", ","], "abc", 9), /--servers names no server/);
});
