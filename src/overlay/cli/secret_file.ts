/**
 * The cluster secret's file: where it is (a flag, else the config's `secret_file`, relative to
 * the config's directory), reading it with one-line errors, and creating a new one (mode 0600)
 * for a local run.
 *
 * @module
 */

import { dirname, isAbsolute, join } from "node:path";
import { UsageError } from "../../cli/flags.ts";
import type { ClusterConfig } from "../domain/cluster_config.ts";
import { ClusterSecret } from "../wire/link_auth.ts";
import { describeError } from "../../base/describe_error.ts";

/**
 * The secret's path: `flag` when given, else the config's `secret_file` resolved against the
 * directory of `configFile`.
 *
 * @throws {UsageError} If neither names one.
 *
 * @example
 * ```ts
 * import { parseClusterConfig } from "../domain/cluster_config.ts";
 * import { secretPath } from "./secret_file.ts";
 * import assert from "node:assert/strict";
 * const config = parseClusterConfig(JSON.stringify({
 *   processes: { A: { host: "127.0.0.1", port: 7001, connections: [], data_subset: "-" } },
 *   overlay: [],
 *   secret_file: "cluster.key",
 * }));
 * assert.equal(secretPath("conf/cluster.json", config, null), "conf/cluster.key");
 * assert.equal(secretPath("conf/cluster.json", config, "/etc/likes.key"), "/etc/likes.key");
 * ```
 */
export function secretPath(configFile: string, config: ClusterConfig, flag: string | null): string {
  if (flag !== null) return flag;
  if (config.secretFile === null) {
    throw new UsageError(
      `${configFile} names no secret_file and --secret-file was not given: every link of the overlay is authenticated with the cluster's secret (\`deno task cluster --new-secret FILE\` makes one)`,
    );
  }
  return isAbsolute(config.secretFile)
    ? config.secretFile
    : join(dirname(configFile), config.secretFile);
}

/**
 * Reads the cluster's secret from `path`.
 *
 * @throws {UsageError} With `PATH: problem` when it cannot be read or is too short.
 */
export async function readSecretFile(path: string): Promise<ClusterSecret> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "no such file: the cluster's secret must be on every machine that runs a node or asks one (`deno task cluster` creates it for a local run; copy it from there)"
      : error instanceof Deno.errors.NotCapable
      ? `no permission to read the cluster's secret; run deno with --allow-read=${path}`
      : String(error);
    throw new UsageError(`${path}: ${why}`);
  }
  try {
    return ClusterSecret.fromText(text);
  } catch (error) {
    throw new UsageError(`${path}: ${describeError(error, "message")}`);
  }
}

/**
 * Creates a new secret at `path` (readable by its owner only) unless a file is there already.
 *
 * @returns True if it created one.
 * @throws {UsageError} If it cannot be written.
 */
export async function createSecretFile(path: string): Promise<boolean> {
  try {
    await Deno.writeTextFile(path, ClusterSecret.generateText(), { createNew: true, mode: 0o600 });
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    const why = error instanceof Deno.errors.NotCapable
      ? `no permission to create the cluster's secret; run deno with --allow-write=${path}`
      : error instanceof Error
      ? error.message
      : String(error);
    throw new UsageError(`${path}: ${why}`);
  }
}
