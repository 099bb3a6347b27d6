/**
 * Runs one `deno task query`: finds the node to ask (the portal of the config by default), asks
 * it, prints the reply as a table or JSON (a long answer's rows as they come), and maps the
 * outcome to an exit code.
 *
 * @module
 */

import { UsageError } from "../../cli/flags.ts";
import { PeerError } from "../wire/frame_conn.ts";
import type { Row } from "../domain/query.ts";
import { askNode, nodeStats, type QueryReply } from "../client/query_client.ts";
import type { QueryRunConfig } from "./query_flags.ts";
import {
  type ColumnWidths,
  columnWidths,
  formatJsonRows,
  formatJsonTail,
  formatReply,
  formatSummary,
  formatTableHead,
  formatTableRows,
  STREAMED_JSON_HEAD,
} from "./query_report.ts";
import { loadClusterConfig } from "./run_node.ts";
import { readSecretFile, secretPath } from "./secret_file.ts";

const encoder = new TextEncoder();

/** Something a query's output is written to (`Deno.stdout`, `Deno.stderr`). */
export interface Output {
  write(bytes: Uint8Array): Promise<number>;
}

/** Where a query prints: its answer, and its errors. */
export interface QueryOutputs {
  readonly stdout: Output;
  readonly stderr: Output;
}

/**
 * Asks and prints (to `io`, the process's stdout and stderr by default); resolves to 0
 * (complete), 3 (partial) or 1 (failed or unreachable).
 */
export async function runQuery(
  run: QueryRunConfig,
  io: QueryOutputs = { stdout: Deno.stdout, stderr: Deno.stderr },
): Promise<number> {
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
      await writeAll(io.stdout, `${JSON.stringify(stats, null, 2)}\n`);
      return 0;
    } catch (error) {
      if (!(error instanceof PeerError)) throw error;
      await writeAll(io.stderr, `error: ${error.message}\n`);
      return 1;
    }
  }
  const printer = new StreamPrinter(run.json, io);
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
      ...(run.maxAgeMs === null ? {} : { maxAgeMs: run.maxAgeMs }),
      onRows: (rows) => printer.rows(rows),
      keepRows: false,
    });
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      throw new UsageError(
        `no permission to connect to ${server.host}:${server.port}; run deno with --allow-net=${server.host}:${server.port}`,
      );
    }
    if (!(error instanceof PeerError)) throw error;
    await writeAll(io.stderr, `error: ${error.message}\n`);
    return 1;
  }
  if (printer.started) await printer.end(reply, run);
  else {
    const text = run.json ? `${JSON.stringify(reply, null, 2)}\n` : formatReply(reply, run);
    await writeAll(reply.success || run.json ? io.stdout : io.stderr, text);
  }
  return !reply.success ? 1 : reply.partial ? 3 : 0;
}

async function writeAll(to: Output, text: string): Promise<void> {
  const bytes = encoder.encode(text);
  for (let at = 0; at < bytes.length;) at += await to.write(bytes.subarray(at));
}

/**
 * Prints a streamed answer's rows as they come: table lines (the widths fit the first part), or
 * with `--json` the members of `results`, whose document {@linkcode StreamPrinter.end} closes.
 */
class StreamPrinter {
  readonly #json: boolean;
  readonly #io: QueryOutputs;
  #widths: ColumnWidths | null = null;

  constructor(json: boolean, io: QueryOutputs) {
    this.#json = json;
    this.#io = io;
  }

  /** True once some rows were printed. */
  get started(): boolean {
    return this.#widths !== null;
  }

  /** Prints `rows`; the next part is read once they are written. */
  rows(rows: readonly Row[]): Promise<void> {
    let text = "";
    const first = this.#widths === null;
    if (first) {
      this.#widths = columnWidths(rows);
      text = this.#json ? STREAMED_JSON_HEAD : formatTableHead(this.#widths);
    }
    text += this.#json ? formatJsonRows(rows, first) : formatTableRows(rows, this.#widths!);
    return writeAll(this.#io.stdout, text);
  }

  /** Prints what follows the rows: the summary (a failure to stderr), or the JSON's end. */
  async end(reply: QueryReply, options: { readonly timing: boolean }): Promise<void> {
    const { stdout, stderr } = this.#io;
    if (this.#json) return await writeAll(stdout, formatJsonTail(reply, true));
    if (reply.success) await writeAll(stdout, formatTableRows(reply.results, this.#widths!));
    await writeAll(reply.success ? stdout : stderr, formatSummary(reply, options));
  }
}
