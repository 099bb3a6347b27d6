import assert from "node:assert/strict";
import { clusterText, startNodes, writeCluster } from "../../../tests/_overlay.ts";
import { parseClusterConfig } from "../domain/cluster_config.ts";
import { parseQueryFlags, type QueryRunConfig } from "./query_flags.ts";
import { runQuery } from "./run_query.ts";

/** Outputs that keep what a query prints. */
function captured() {
  const text = { stdout: "", stderr: "" };
  const output = (name: "stdout" | "stderr") => ({
    write(bytes: Uint8Array) {
      text[name] += new TextDecoder().decode(bytes);
      return Promise.resolve(bytes.length);
    },
  });
  return { io: { stdout: output("stdout"), stderr: output("stderr") }, text };
}

function query(args: string[]): QueryRunConfig {
  const run = parseQueryFlags(args);
  assert.notEqual(run, "help");
  return run as QueryRunConfig;
}

Deno.test("runQuery(): exit 0 for a complete answer, 3 for a partial one (naming the node missing), 1 when the portal is away", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "likes-run-query-" });
  try {
    const text = clusterText();
    const file = await writeCluster(dir, text);
    const config = parseClusterConfig(text);
    const args = ["total", `--config=${file}`, "--deadline=1", "--max-age=0"];
    {
      await using cluster = await startNodes(config, `${dir}/nodes`, { queryWorkers: 1 });
      const complete = captured();
      assert.equal(await runQuery(query(args), complete.io), 0, complete.text.stderr);
      assert.match(complete.text.stdout, /answered A B C D E · missing none/);
      assert.equal(complete.text.stderr, "");

      await cluster.stop("C");
      const partial = captured();
      assert.equal(await runQuery(query(args), partial.io), 3, partial.text.stderr);
      assert.match(partial.text.stdout, /answered A B D E · MISSING C/);
      assert.match(partial.text.stdout, /^ {2}C: cannot reach 127\.0\.0\.1:\d+/m);

      const json = captured();
      assert.equal(await runQuery(query([...args, "--json"]), json.io), 3);
      const reply = JSON.parse(json.text.stdout);
      assert.deepEqual([reply.success, reply.partial], [true, true]);
    }
    const away = captured();
    assert.equal(await runQuery(query(args), away.io), 1);
    assert.match(away.text.stderr, /^error: cannot reach 127\.0\.0\.1:\d+/);
    assert.equal(away.text.stdout, "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
