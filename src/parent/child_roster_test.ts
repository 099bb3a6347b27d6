import assert from "node:assert/strict";
import { childSeed } from "../base/random.ts";
import { childClientId, childName, childSpec } from "./child_roster.ts";
import { type ParentConfig, parseParentConfig } from "./parent_config.ts";

function config(args: string[]): ParentConfig {
  const parsed = parseParentConfig(args, 7);
  assert.notEqual(parsed, "help");
  return parsed as ParentConfig;
}

Deno.test("childClientId() is the seed's name for classic children, unique per run for keyed ones", () => {
  assert.equal(childName(3), "LikesServer3");
  assert.equal(childClientId(config(["--protocol", "classic"]), 3, "r1"), "LikesServer3");
  assert.equal(childClientId(config(["--protocol", "keyed"]), 3, "r1"), "LikesServer3-r1");
});

Deno.test("childSpec() turns the servers so that children start on different ones, each with its own seed", () => {
  const run = config([
    "--servers",
    "127.0.0.1:4242,127.0.0.1:4243,127.0.0.1:4244",
    "--duration",
    "2",
    "--protocol",
    "keyed",
  ]);
  const ports = (id: number) => childSpec(run, id, "r", "/tmp/x").servers.map((s) => s.port);
  assert.deepEqual([ports(0), ports(1), ports(2), ports(3)], [
    [4242, 4243, 4244],
    [4243, 4244, 4242],
    [4244, 4242, 4243],
    [4242, 4243, 4244],
  ]);
  const spec = childSpec(run, 4, "r", "/tmp/x");
  assert.equal(spec.clientId, "LikesServer4-r");
  assert.equal(spec.seed, childSeed(7, 4));
  assert.notEqual(spec.seed, childSpec(run, 5, "r", "/tmp/x").seed);
  assert.equal(spec.durationMs, 2000);
  assert.equal(spec.logDir, "/tmp/x");
});
