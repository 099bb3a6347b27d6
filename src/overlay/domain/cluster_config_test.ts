import assert from "node:assert/strict";
import {
  ClusterConfigError,
  formatClusterConfig,
  gossipPeers,
  parseClusterConfig,
} from "./cluster_config.ts";

const committed = await Deno.readTextFile(new URL("../../../cluster.json", import.meta.url));

Deno.test("parseClusterConfig() reads the committed cluster.json: A-E on 127.0.0.1, the seed's edges", () => {
  const config = parseClusterConfig(committed);
  assert.deepEqual([...config.nodes.keys()], ["A", "B", "C", "D", "E"]);
  assert.deepEqual(config.overlay, ["AB", "BC", "BD", "CE", "DE"]);
  assert.ok([...config.nodes.values()].every((n) => n.host === "127.0.0.1"));
  assert.equal(config.nodes.get("A")!.likesPort, null, "A is the portal: no likes");
  assert.ok(["B", "C", "D", "E"].every((id) => config.nodes.get(id)!.likesPort !== null));
  assert.deepEqual(config.nodes.get("B")!.connections, ["C", "D"]);
});

Deno.test("gossipPeers() names the neighbours along each edge, both directions", () => {
  const config = parseClusterConfig(committed);
  assert.deepEqual(gossipPeers(config, "A"), ["B"]);
  assert.deepEqual(gossipPeers(config, "B"), ["A", "C", "D"]);
  assert.deepEqual(gossipPeers(config, "E"), ["C", "D"]);
});

Deno.test("parseClusterConfig() allows a cycle", () => {
  const cycle = JSON.parse(committed);
  cycle.processes.E.connections = ["B"];
  cycle.overlay.push("EB");
  assert.deepEqual(parseClusterConfig(JSON.stringify(cycle)).nodes.get("E")!.connections, ["B"]);
});

Deno.test("parseClusterConfig() refuses a bad config in one line naming the field", async (t) => {
  /** The file as plain data, to break in one place. */
  type Raw = { processes?: Record<string, Record<string, unknown>>; overlay?: string[] };
  const edit = (change: (c: Raw, p: Record<string, Record<string, unknown>>) => void) => {
    const config: Raw = JSON.parse(committed);
    change(config, config.processes!);
    return JSON.stringify(config);
  };
  const cases: [string, string, string][] = [
    ["not JSON", "{", "config: not JSON"],
    ["no processes", edit((c) => delete c.processes), "processes: missing"],
    [
      "unknown neighbour",
      edit((_, p) => p.C!.connections = ["Z"]),
      'processes.C.connections: unknown process "Z"',
    ],
    [
      "an edge to itself",
      edit((_, p) => p.C!.connections = ["C"]),
      'processes.C.connections: "C" is an edge to itself',
    ],
    [
      "duplicate address",
      edit((_, p) => p.D!.port = 4353),
      "processes.D.port: address 127.0.0.1:4353 is also processes.C.port",
    ],
    [
      "a likes port on another node's address",
      edit((_, p) => p.E!.likes_port = 4351),
      "processes.E.likes_port: address 127.0.0.1:4351 is also processes.A.port",
    ],
    [
      "missing field",
      edit((_, p) => delete p.B!.data_subset),
      "processes.B.data_subset: missing",
    ],
    ["missing port", edit((_, p) => delete p.B!.port), "processes.B.port: missing"],
    [
      "bad port",
      edit((_, p) => p.B!.port = 70000),
      "processes.B.port: must be a port number",
    ],
    [
      "bad id",
      edit((_, p) => p.AB = p.A!),
      "processes.AB: a process id must be one letter",
    ],
    [
      "an overlay edge that no connection has",
      edit((c) => c.overlay!.push("EA")),
      'overlay: "EA" is not in processes.E.connections',
    ],
    [
      "a connection the overlay lacks",
      edit((c) => c.overlay = c.overlay!.filter((e) => e !== "CE")),
      'processes.C.connections: "E" (edge CE) is missing from overlay',
    ],
    ["no overlay", edit((c) => delete c.overlay), "overlay: missing"],
    [
      "a secret file that is not a string",
      edit((c) => (c as Record<string, unknown>).secret_file = 7),
      "secret_file: must be a string",
    ],
    [
      "a secret file with a comma (it could not be granted)",
      edit((c) => (c as Record<string, unknown>).secret_file = "a,b.key"),
      "secret_file: must be a file name without commas",
    ],
  ];
  for (const [name, source, message] of cases) {
    await t.step(name, () => {
      assert.throws(
        () => parseClusterConfig(source),
        (e) =>
          e instanceof ClusterConfigError && e.message.startsWith(message) &&
          !e.message.includes("\n"),
      );
    });
  }
});

Deno.test("formatClusterConfig() writes the seed's schema back, and it reads the same", async () => {
  const text = await Deno.readTextFile(new URL("../../../cluster.json", import.meta.url));
  const config = parseClusterConfig(text);
  const again = parseClusterConfig(formatClusterConfig(config));
  assert.deepEqual([...again.nodes.values()], [...config.nodes.values()]);
  assert.deepEqual(again.overlay, config.overlay);
  assert.equal(again.secretFile, "cluster.key");
  assert.deepEqual(JSON.parse(formatClusterConfig(config)), JSON.parse(text));
});
