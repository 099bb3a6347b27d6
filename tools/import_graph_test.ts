import assert from "node:assert/strict";
import {
  importCycles,
  layerViolations,
  reachableFrom,
  readImportGraph,
  resolvePath,
  specifiersOf,
  wingOf,
} from "./import_graph.ts";

const graph = (edges: Record<string, string[]>) =>
  new Map(Object.entries(edges).map(([from, to]) => [from, new Set(to)]));

Deno.test("the code keeps the layer rule: no import sideways or up, none past the store's doors, no cycle", async () => {
  const tree = await readImportGraph(new URL("../", import.meta.url));
  assert.ok(tree.size > 100, `the whole tree was read (${tree.size} modules)`);
  assert.ok(tree.get("src/server/likes_service.ts")?.has("src/store/open_store.ts"));
  assert.deepEqual(layerViolations(tree), []);
  assert.deepEqual(importCycles(tree), []);
});

Deno.test("a server, its Workers and a node's query Workers do not load the Redis client unless the store is in Redis", async () => {
  // Loaded with the program: static imports only (the door loads the Redis store with import()).
  const loaded = await readImportGraph(new URL("../", import.meta.url), false);
  for (
    const module of [
      "server.ts",
      "node.ts",
      "src/server/connection_worker.ts",
      "src/overlay/node/query_worker.ts",
    ]
  ) {
    const reached = reachableFrom(loaded, module);
    assert.ok(reached.has("src/store/embedded/likes_table.ts"), `${module} reaches the table`);
    assert.ok(!reached.has("src/store/redis/redis_likes.ts"), `${module} loads the Redis client`);
  }
  // ... but the door can load it.
  const all = await readImportGraph(new URL("../", import.meta.url));
  assert.ok(reachableFrom(all, "src/store/open_store.ts").has("src/store/redis/redis_likes.ts"));
});

Deno.test("layerViolations() names an import into a higher or a sibling wing, past a door, of telemetry by the server, or from a loose file", () => {
  assert.deepEqual(
    layerViolations(graph({
      "src/store/embedded/likes_table.ts": ["src/server/server_counters.ts"], // up
      "src/overlay/cli/run_cluster.ts": ["src/parent/run_report.ts"], // beside
      "src/server/connection_worker.ts": [
        "src/store/redis/redis_likes.ts", // past the doors
        "src/store/open_store.ts", // through a door
        "src/protocol/grammar.ts", // down
        "src/server/respond.ts", // its own wing
      ],
      "src/server/likes_service.ts": ["src/telemetry/server_telemetry.ts"], // handed a recorder
      "src/overlay/node/node_service.ts": ["src/telemetry/server_telemetry.ts"], // may hand one
      "src/cli.ts": ["src/base/delay.ts"], // a loose file
      "server.ts": ["src/store/embedded/likes_table.ts", "likes_server.ts"], // an entry point may
    })),
    [
      "src/cli.ts is in no wing",
      "src/overlay/cli/run_cluster.ts (overlay/cli, layer 6) imports src/parent/run_report.ts (parent, layer 6)",
      "src/server/connection_worker.ts imports src/store/redis/redis_likes.ts, past the doors of store/ (src/store/likes_store.ts,src/store/open_store.ts,src/store/embedded/likes_table.ts)",
      "src/server/likes_service.ts imports src/telemetry/server_telemetry.ts: server/ is handed a recorder, it imports no telemetry",
      "src/store/embedded/likes_table.ts (store, layer 2) imports src/server/server_counters.ts (server, layer 3)",
    ],
  );
});

Deno.test("importCycles() finds each cycle once, however long, and nothing in a tree", () => {
  assert.deepEqual(
    importCycles(graph({
      "src/edge/sender.ts": ["src/edge/classic_sender.ts", "src/edge/keyed_sender.ts"],
      "src/edge/classic_sender.ts": ["src/edge/sender.ts"],
      "src/edge/keyed_sender.ts": ["src/edge/sender.ts", "src/protocol/grammar.ts"],
      "src/a.ts": ["src/a.ts"],
      "src/protocol/grammar.ts": [],
    })),
    [
      ["src/a.ts"],
      ["src/edge/classic_sender.ts", "src/edge/keyed_sender.ts", "src/edge/sender.ts"],
    ],
  );
  assert.deepEqual(importCycles(graph({ "a.ts": ["b.ts", "c.ts"], "b.ts": ["c.ts"] })), []);
});

Deno.test("specifiersOf() reads imports, re-exports and Worker URLs, not JSDoc examples", () => {
  const text = [
    'import { a } from "./a.ts";',
    "import {",
    "  b,",
    '} from "../b.ts";',
    'export type { C } from "./c.ts";',
    'import "./side_effect.ts";',
    'const worker = new URL("./worker.ts", import.meta.url);',
    "/**",
    ' * import { example } from "./example.ts";',
    " */",
    'import assert from "node:assert/strict";',
  ].join("\n");
  assert.deepEqual(specifiersOf(text).sort(), [
    "../b.ts",
    "./a.ts",
    "./c.ts",
    "./side_effect.ts",
    "./worker.ts",
  ]);
  assert.equal(resolvePath("src/server/x.ts", "../store/open_store.ts"), "src/store/open_store.ts");
  assert.equal(resolvePath("src/x.ts", "../../out.ts"), null);
  assert.deepEqual(
    ["mod.ts", "src/log/log.ts", "src/overlay/wire/frame.ts", "src/store/redis/r.ts", "src/x.ts"]
      .map(wingOf),
    ["entry", "log", "overlay/wire", "store", null],
  );
});
