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

/**
 * Why a program could not open its log file, in one line that says what to do. Without a read
 * grant for the directory Deno cannot tell a missing directory from a forbidden one, so a missing
 * write grant also reminds that the directory must exist.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { explainLogFileError } from "./log_paths.ts";
 * assert.equal(
 *   explainLogFileError(new Deno.errors.NotFound("x"), "/missing/PrimaryLikesLog"),
 *   "Cannot write /missing/PrimaryLikesLog: the directory /missing does not exist",
 * );
 * assert.equal(
 *   explainLogFileError(new Deno.errors.NotCapable("x"), "/missing/PrimaryLikesLog"),
 *   "Cannot write /missing/PrimaryLikesLog: no permission; run deno with --allow-write=/missing/PrimaryLikesLog (the directory /missing must exist)",
 * );
 * ```
 */
export function explainLogFileError(error: unknown, logFile: string): string {
  const slash = logFile.lastIndexOf("/");
  const dir = slash < 0 ? "." : logFile.slice(0, slash) || "/";
  const why = error instanceof Deno.errors.NotCapable
    ? `no permission; run deno with --allow-write=${logFile} (the directory ${dir} must exist)`
    : error instanceof Deno.errors.NotFound
    ? `the directory ${dir} does not exist`
    : error instanceof Error
    ? error.message
    : String(error);
  return `Cannot write ${logFile}: ${why}`;
}
