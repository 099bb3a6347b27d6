/**
 * The one rule for where a program's log file lives: the seed exercise's file name in a log
 * directory (`/tmp` by default, `--log-dir` to move it).
 *
 * @module
 */

/** Where the seed exercise's programs write their logs unless told otherwise (`--log-dir`). */
export const DEFAULT_LOG_DIR = "/tmp";

/** The seed exercise's log file names. */
export const LOG_FILES = Object.freeze({
  server: "PrimaryLikesLog",
  parent: "ParentProcessStatus",
  likesServer: (id: number): string => `LikesServer${id}`,
  node: "node.log",
});

/**
 * `name` inside `logDir` (a trailing slash or the root directory written either way).
 *
 * @example
 * ```ts
 * import { logPath, LOG_FILES } from "./log_paths.ts";
 * import assert from "node:assert/strict";
 * assert.equal(logPath("/tmp/", LOG_FILES.server), "/tmp/PrimaryLikesLog");
 * assert.equal(logPath("/", LOG_FILES.likesServer(3)), "/LikesServer3");
 * assert.equal(logPath("logs", LOG_FILES.parent), "logs/ParentProcessStatus");
 * ```
 */
export function logPath(logDir: string, name: string): string {
  const dir = logDir.replace(/\/+$/, "");
  return logDir.startsWith("/") && dir === "" ? `/${name}` : `${dir}/${name}`;
}
