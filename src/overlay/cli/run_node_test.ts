import assert from "node:assert/strict";
import { UsageError } from "../../cli/flags.ts";
import { formatClusterConfig, parseClusterConfig } from "../domain/cluster_config.ts";
import { parseNodeFlags } from "./node_flags.ts";
import type { NodeRunConfig } from "./node_flags.ts";
import { createSecretFile } from "./secret_file.ts";
import { explainNodeStartError, loadClusterConfig, runNode } from "./run_node.ts";
import { freePort } from "../../launch/free_port.ts";
import { recordingOutput } from "../../../tests/_helpers.ts";

/** A distinct free port for each name, with `fixed` ones given. */
function portsFor(fixed: Record<string, number> = {}): (name: string) => number {
  const ports = new Map(Object.entries(fixed));
  return (name) => {
    if (!ports.has(name)) ports.set(name, freePort());
    return ports.get(name)!;
  };
}

/** The project's cluster.json, every port moved to `ports` (A, B, …; likes ports after). */
async function writeCluster(dir: string, ports: (id: string) => number): Promise<string> {
  const config = await loadClusterConfig(
    new URL("../../../cluster.json", import.meta.url).pathname,
  );
  const nodes = [...config.nodes.values()].map((node) => ({
    ...node,
    port: ports(node.id),
    likesPort: node.likesPort === null ? null : ports(`${node.id}-likes`),
  }));
  const file = `${dir}/cluster.json`;
  await Deno.writeTextFile(
    file,
    formatClusterConfig({
      ...config,
      nodes: new Map(nodes.map((n) => [n.id, n])),
      secretFile: "cluster.key",
    }),
  );
  await createSecretFile(`${dir}/cluster.key`);
  return file;
}

function nodeRun(args: string[]): NodeRunConfig {
  const run = parseNodeFlags(args);
  assert.notEqual(run, "help");
  return run as NodeRunConfig;
}

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "likes-run-node-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("loadClusterConfig() reads the project's cluster.json, and names the file and the problem otherwise", async () => {
  await withDir(async (dir) => {
    const config = await loadClusterConfig("cluster.json");
    assert.deepEqual([...config.nodes.keys()], ["A", "B", "C", "D", "E"]);
    await assert.rejects(loadClusterConfig(`${dir}/none.json`), (error: Error) => {
      assert.ok(error instanceof UsageError);
      assert.equal(error.message, `${dir}/none.json: no such file`);
      return true;
    });
    await Deno.writeTextFile(`${dir}/bad.json`, JSON.stringify({ processes: { A: { port: 1 } } }));
    await assert.rejects(loadClusterConfig(`${dir}/bad.json`), (error: Error) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, new RegExp(`^${dir}/bad\\.json: .*A`));
      return true;
    });
  });
});

Deno.test("runNode(): an --id the config does not name is a usage error listing the ones it does", async () => {
  await withDir(async (dir) => {
    const file = await writeCluster(dir, portsFor());
    await assert.rejects(
      runNode(nodeRun(["--id=Z", `--config=${file}`, `--dir=${dir}/Z`])),
      (error: Error) => error instanceof UsageError && /names A, B, C, D, E/.test(error.message),
    );
  });
});

Deno.test("runNode(): a port in use is exit 1 with one line naming the port and what to check", async () => {
  await withDir(async (dir) => {
    using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (taken.addr as Deno.NetAddr).port;
    const ports = portsFor({ A: port });
    const file = await writeCluster(dir, ports);
    const run = nodeRun(["--id=A", `--config=${file}`, `--dir=${dir}/A`]);
    const errors = recordingOutput();
    assert.equal(await runNode(run, errors), 1);
    assert.deepEqual(errors.lines(), [
      `error: Cannot listen on 127.0.0.1:${port}: the address is already in use (is node A already running?)`,
    ]);
    const config = parseClusterConfig(await Deno.readTextFile(file));
    assert.equal(
      explainNodeStartError(new Deno.errors.AddrInUse("in use"), config, run),
      `Cannot listen on 127.0.0.1:${port}: the address is already in use (is node A already running?)`,
    );
    const data = nodeRun(["--id=B", `--config=${file}`, `--dir=${dir}/B`]);
    assert.match(
      explainNodeStartError(new Deno.errors.AddrInUse("in use"), config, data),
      new RegExp(
        `^Cannot listen on 127\\.0\\.0\\.1:${ports("B")} or 127\\.0\\.0\\.1:${ports("B-likes")}: `,
      ),
      "a data node names its likes port too",
    );
  });
});
