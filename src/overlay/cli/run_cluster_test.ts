import assert from "node:assert/strict";
import { parseNodeFlags } from "./node_flags.ts";
import type { NodeRunConfig } from "./node_flags.ts";
import { loadClusterConfig } from "./run_node.ts";
import { nodeCommands } from "./run_cluster.ts";

/** Splits a command line as a POSIX shell would, for the quoting `shellQuote()` writes. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === " ") {
      if (word !== null) words.push(word);
      word = null;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      assert.ok(end > i, `an unclosed quote in ${line}`);
      word = (word ?? "") + line.slice(i + 1, end);
      i = end;
    } else if (c === "\\") {
      word = (word ?? "") + line[++i];
    } else word = (word ?? "") + c;
  }
  if (word !== null) words.push(word);
  return words;
}

Deno.test("nodeCommands(): one command per node, each with narrow grants and the flags node.ts reads back", async () => {
  const config = await loadClusterConfig("cluster.json");
  const secret = "/etc/likes/my cluster.key";
  const lines = nodeCommands(config, "cluster.json", secret, {
    listen: "0.0.0.0",
    dir: "/var/likes",
  });
  assert.equal(lines.length, 1 + config.nodes.size);
  assert.ok(lines[0]!.startsWith("# "), "first a comment on where the secret goes");
  assert.ok(
    lines[0]!.includes(`scp -p '${secret}' 'HOST:${secret}'`),
    `the copy command is quoted: ${lines[0]}`,
  );
  for (const [index, id] of [...config.nodes.keys()].entries()) {
    const words = shellWords(lines[index + 1]!);
    assert.deepEqual(words.slice(0, 3), ["deno", "run", "--no-prompt"]);
    assert.ok(!words.some((w) => w === "-A" || w.startsWith("--allow-all")), "never -A");
    const entry = words.indexOf("node.ts");
    const run = parseNodeFlags(words.slice(entry + 1)) as NodeRunConfig;
    assert.deepEqual(
      [run.id, run.configFile, run.secretFile, run.dir, run.listen],
      [id, "cluster.json", secret, `/var/likes/${id}`, "0.0.0.0"],
    );
    const grant = (name: string) => {
      const flag = words.slice(0, entry).find((w) => w.startsWith(`--allow-${name}=`));
      return flag?.slice(`--allow-${name}=`.length).split(",");
    };
    const me = config.nodes.get(id)!;
    const net = grant("net")!;
    assert.ok(net.includes(`0.0.0.0:${me.port}`), `${id} may listen on its port: ${net}`);
    if (me.likesPort !== null) assert.ok(net.includes(`0.0.0.0:${me.likesPort}`));
    for (const peer of me.connections) {
      assert.ok(net.includes(`${config.nodes.get(peer)!.host}:${config.nodes.get(peer)!.port}`));
    }
    assert.deepEqual(grant("write"), [`/var/likes/${id}`], "writes only its own directory");
    assert.ok(grant("read")!.includes(secret), "reads the secret");
  }
});

Deno.test("nodeCommands(): without --listen or --dir a node listens where the config says, in its own /tmp folder", async () => {
  const config = await loadClusterConfig("cluster.json");
  const [, first] = nodeCommands(config, "cluster.json", "cluster.key");
  const words = shellWords(first!);
  const run = parseNodeFlags(words.slice(words.indexOf("node.ts") + 1)) as NodeRunConfig;
  assert.equal(run.listen, null);
  assert.equal(run.dir, "/tmp/likes-node-A");
  assert.equal(run.secretFile, "cluster.key");
});
