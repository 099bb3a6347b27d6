/**
 * Runs one `deno task query`: finds the node to ask (the portal of the config by default), asks
 * it, prints the reply as a table or JSON, and maps the outcome to an exit code.
 *
 * @module
 */

import { UsageError } from "../cli.ts";
import { PeerError } from "./frame_conn.ts";
import { askNode, nodeStats } from "./query_client.ts";
import type { QueryRunConfig } from "./query_flags.ts";
import { formatReply } from "./query_report.ts";
import { loadClusterConfig } from "./run_node.ts";
import { readSecretFile, secretPath } from "./secret_file.ts";

const encoder = new TextEncoder();

/** Asks and prints; resolves to 0 (complete), 3 (partial) or 1 (failed or unreachable). */
export async function runQuery(run: QueryRunConfig): Promise<number> {
  let server = run.server;
  const config = run.server === null || run.secretFile === null
    ? await loadClusterConfig(run.configFile)
    : null;
  const secret = await readSecretFile(
    run.secretFile ?? secretPath(run.configFile, config!, run.secretFile),
  );
  if (server === null) {
    const nodes = [...config!.nodes.values()];
    const portal = nodes.find((n) => n.likesPort === null) ?? nodes[0]!;
    server = { host: portal.host, port: portal.port };
  }
  if (run.verb === "stats") {
    try {
      const stats = await nodeStats(server.host, server.port, secret, run.deadlineMs);
      delete stats.rid;
      delete stats.type;
      await Deno.stdout.write(encoder.encode(`${JSON.stringify(stats, null, 2)}\n`));
      return 0;
    } catch (error) {
      if (!(error instanceof PeerError)) throw error;
      await Deno.stderr.write(encoder.encode(`error: ${error.message}\n`));
      return 1;
    }
  }
  let reply;
  try {
    reply = await askNode({
      hostname: server.host,
      port: server.port,
      secret,
      verb: run.verb,
      params: run.params,
      consistency: run.consistency,
      deadlineMs: run.deadlineMs,
    });
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      throw new UsageError(
        `no permission to connect to ${server.host}:${server.port}; run deno with --allow-net=${server.host}:${server.port}`,
      );
    }
    if (!(error instanceof PeerError)) throw error;
    await Deno.stderr.write(encoder.encode(`error: ${error.message}\n`));
    return 1;
  }
  const text = run.json ? `${JSON.stringify(reply, null, 2)}\n` : formatReply(reply, run);
  await (reply.success || run.json ? Deno.stdout : Deno.stderr).write(encoder.encode(text));
  return !reply.success ? 1 : reply.partial ? 3 : 0;
}
