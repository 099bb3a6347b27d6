import assert from "node:assert/strict";
import { UsageError } from "../../cli/flags.ts";
import { parseClusterFlags } from "./cluster_flags.ts";
import { parseNodeFlags } from "./node_flags.ts";
import { parseQueryFlags } from "./query_flags.ts";

Deno.test("node flags: --id is required and one letter; defaults follow the id", () => {
  assert.deepEqual(parseNodeFlags(["--id", "B"]), {
    id: "B",
    configFile: "cluster.json",
    secretFile: null,
    dir: "/tmp/likes-node-B",
    listen: null,
    workers: 1,
    maxClients: 16384,
    clientTtlMs: 604800000,
    queryWorkers: 2,
    gossipIntervalMs: 1000,
    cacheTtlMs: null,
    cacheBytes: 1048576,
    deadlineMs: 2000,
    heartbeatMs: 500,
    downAfterMs: 2000,
  });
  assert.equal(parseNodeFlags(["--help"]), "help");
  assert.throws(() => parseNodeFlags([]), /--id is required/);
  assert.throws(() => parseNodeFlags(["--id", "b"]), /--id must be one letter A-Z/);
  assert.throws(() => parseNodeFlags(["--id", "B", "--cache-ttl", "-1"]), UsageError);
  const c = parseNodeFlags(["--id=C", "--cache-ttl=0.5"]);
  assert.equal(c !== "help" && c.cacheTtlMs, 500);
  const quick = parseNodeFlags(["--id=C", "--heartbeat=0.1", "--down-after=0.4"]);
  assert.equal(quick !== "help" && quick.downAfterMs, 400);
  assert.throws(
    () => parseNodeFlags(["--id=C", "--heartbeat=1", "--down-after=1"]),
    /--down-after must be longer than --heartbeat \(1 s\): current value is 1/,
  );
});

Deno.test("query flags: verb and parameters are positional; --server is HOST:PORT", () => {
  const config = parseQueryFlags(["get_by_key", "a", "b", "--server", "10.0.0.1:50051", "--json"]);
  assert.notEqual(config, "help");
  if (config === "help") return;
  assert.equal(config.verb, "get_by_key");
  assert.deepEqual(config.params, ["a", "b"]);
  assert.deepEqual(config.server, { host: "10.0.0.1", port: 50051 });
  assert.equal(config.json, true);
  assert.equal(config.consistency, "gather");
  assert.equal(config.maxAgeMs, null, "the node's TTL unless asked");
  const fresh = parseQueryFlags(["get_all", "--max-age", "0.25"]);
  assert.equal(fresh !== "help" && fresh.maxAgeMs, 250);
  const none = parseQueryFlags(["get_all", "--max-age=0"]);
  assert.equal(none !== "help" && none.maxAgeMs, 0);
  assert.throws(() => parseQueryFlags(["get_all", "--max-age", "-1"]), /--max-age must be/);
  assert.throws(() => parseQueryFlags([]), /a verb is required/);
  assert.throws(
    () => parseQueryFlags(["total", "--server", "nohost"]),
    /--server must be HOST:PORT/,
  );
  assert.throws(() => parseQueryFlags(["total", "--consistency", "strong"]), /gather or local/);
});

Deno.test("cluster flags: --kill is ID@SECONDS with --down; defaults are short", () => {
  const config = parseClusterFlags(["--kill", "D@1.5", "--down", "3"]);
  assert.notEqual(config, "help");
  if (config === "help") return;
  assert.deepEqual(config.kill, { id: "D", atMs: 1500, downMs: 3000 });
  assert.equal(config.durationMs, 10_000);
  assert.equal(config.likesServersPerNode, 2);
  assert.equal(config.viewPort, null);
  assert.throws(() => parseClusterFlags(["--kill", "D"]), /--kill must be ID@SECONDS/);
  assert.throws(
    () => parseClusterFlags(["--min-interval", "2", "--max-interval", "1"]),
    UsageError,
  );
});
