/**
 * `deno task test`: finds the optional tools the tests use through PATH, once, and runs
 * `deno test` granting exactly the ones found. A tool installed elsewhere than Debian puts it
 * (`/usr/local/bin`, Homebrew, Nix) is then used, not refused; a missing one is not granted at
 * all, so it costs no "failed to resolve" line per test file, and its tests are skipped with the
 * reason. The tests read where each tool is from `LIKES_TOOLS` (`tests/_tools.ts`). Arguments
 * are passed on to `deno test` (a file, `--filter`, …).
 *
 * @module
 */

/** The tools some tests need, by the name PATH finds them under. */
export const OPTIONAL_TOOLS = [
  "script", // a terminal for the progress-line tests (util-linux)
  "redis-server",
  "redis-cli",
  "ip", // network namespaces (iproute2), as root
  "python3", // the power-loss filesystem (with fusepy) and a socket that resets
  "fusermount3",
  "openssl", // a TLS certificate for Redis
  "chromium", // the live view in a browser
] as const;

/** A tool's name. */
export type ToolName = typeof OPTIONAL_TOOLS[number];

/** Where each tool found was, as absolute paths. */
export type FoundTools = Partial<Record<ToolName, string>>;

/** Tools that are also read as files (a test checks the file, or a browser loads from it). */
const READ: readonly ToolName[] = ["script", "chromium"];

/**
 * The `deno test` arguments granting exactly the tools in `found`, then `extra`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { testArgs } from "./run_tests.ts";
 * const args = testArgs({ "redis-server": "/opt/homebrew/bin/redis-server" }, []);
 * assert.ok(args.includes("--allow-run=deno,/opt/homebrew/bin/redis-server"));
 * ```
 */
export function testArgs(found: FoundTools, extra: readonly string[]): string[] {
  const paths = OPTIONAL_TOOLS.map((name) => found[name]).filter((p) => p !== undefined);
  const read = READ.map((name) => found[name]).filter((p) => p !== undefined);
  return [
    "test",
    "--doc",
    "--no-prompt",
    "--allow-env=REDIS_DEBUG_MAINTENANCE,LIKES_TOOLS",
    "--allow-net=127.0.0.1",
    `--allow-read=${[".", "/tmp", ...read].join(",")}`,
    "--allow-write=/tmp",
    `--allow-run=${["deno", ...paths].join(",")}`,
    ...extra,
  ];
}

/**
 * Reads `command -v` output lines (`NAME=PATH`, PATH empty when not found) into the tools found;
 * only absolute paths count (an alias or a shell function is not a program to grant).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseFound } from "./run_tests.ts";
 * assert.deepEqual(parseFound("script=/usr/bin/script\nredis-server=\nip=alias ip=x\n"), {
 *   script: "/usr/bin/script",
 * });
 * ```
 */
export function parseFound(text: string): FoundTools {
  const found: FoundTools = {};
  for (const line of text.split("\n")) {
    const at = line.indexOf("=");
    const name = line.slice(0, at) as ToolName;
    const path = line.slice(at + 1).trim();
    if (at > 0 && OPTIONAL_TOOLS.includes(name) && path.startsWith("/")) found[name] = path;
  }
  return found;
}

/** Asks a POSIX shell where PATH (this process's, or `path`) finds each tool. */
export async function findTools(path?: string): Promise<FoundTools> {
  const script = `for t in ${
    OPTIONAL_TOOLS.join(" ")
  }; do printf '%s=%s\\n' "$t" "$(command -v "$t")"; done`;
  const output = await new Deno.Command("sh", {
    // With `path`, the shell looks there (the shell itself is found through this process's PATH).
    args: [
      "-c",
      path === undefined ? script : `PATH="$1"; ${script}`,
      "sh",
      ...(path ? [path] : []),
    ],
    stderr: "null",
  }).output();
  return parseFound(new TextDecoder().decode(output.stdout));
}

if (import.meta.main) {
  const found = await findTools();
  const missing = OPTIONAL_TOOLS.filter((name) => found[name] === undefined);
  if (missing.length > 0) {
    Deno.stderr.writeSync(
      new TextEncoder().encode(
        `tests: not on PATH, their tests are skipped: ${missing.join(", ")}\n`,
      ),
    );
  }
  const child = new Deno.Command("deno", {
    args: testArgs(found, Deno.args),
    env: { LIKES_TOOLS: JSON.stringify(found) },
  }).spawn();
  // A stop signal goes on to the tests (a terminal's Ctrl-C reaches both; this waits for them).
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      try {
        child.kill(signal);
      } catch {
        // They ended already.
      }
    });
  }
  Deno.exit((await child.status).code);
}
