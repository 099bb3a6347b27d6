/**
 * Checking up front that a program was granted what it will need later (a connection it makes
 * only at the end, a program it starts), so that it fails at once with one line saying what to
 * grant instead of after its whole run.
 *
 * @module
 */

/** A permission a program needs: what for, and the flag that grants it. */
export interface Need {
  /** What is asked of Deno's permissions. */
  readonly permission: Deno.PermissionDescriptor;
  /** The `deno run` flag that grants it, e.g. `--allow-net=127.0.0.1:4243`. */
  readonly flag: string;
  /** What it is for, as in "no permission to {what}". */
  readonly what: string;
}

/** Connecting to (or listening on) `host:port`. */
export function netNeed(host: string, port: number, what: string): Need {
  const where = `${host}:${port}`;
  return { permission: { name: "net", host: where }, flag: `--allow-net=${where}`, what };
}

/** Writing `path` (a file, or a directory and everything in it). */
export function writeNeed(path: string, what: string): Need {
  return { permission: { name: "write", path }, flag: `--allow-write=${path}`, what };
}

/** Running `command`. */
export function runNeed(command: string, what: string): Need {
  return { permission: { name: "run", command }, flag: `--allow-run=${command}`, what };
}

/**
 * The one line that says which of `needs` are not granted and how to grant them, or `null`
 * when all are (nothing is prompted for).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { missingGrants, netNeed } from "./grants.ts";
 * // 192.0.2.1 (an address for documentation) is granted to no one here: the line names it.
 * const line = await missingGrants([netNeed("192.0.2.1", 9, "reach the server at 192.0.2.1:9")]);
 * assert.equal(line, "no permission to reach the server at 192.0.2.1:9; run deno with --allow-net=192.0.2.1:9");
 * ```
 */
export async function missingGrants(needs: readonly Need[]): Promise<string | null> {
  const missing: Need[] = [];
  for (const need of needs) {
    const status = await Deno.permissions.query(need.permission);
    if (status.state !== "granted") missing.push(need);
  }
  if (missing.length === 0) return null;
  return `no permission to ${missing.map((n) => n.what).join(" or ")}; run deno with ${
    missing.map((n) => n.flag).join(" ")
  }`;
}
