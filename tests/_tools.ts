/**
 * Where the optional tools the tests use are: as `deno task test` found them through PATH
 * (`tools/run_tests.ts`, passed in `LIKES_TOOLS`), or, for a `deno test` run by hand, where Debian
 * puts them. A test that needs a tool missing here is skipped, and says why.
 *
 * @module
 */

import type { FoundTools, ToolName } from "../tools/run_tests.ts";

/** Where Debian installs each tool (for a run without `deno task test`). */
const DEBIAN: Readonly<Record<ToolName, string>> = {
  script: "/usr/bin/script",
  "redis-server": "/usr/bin/redis-server",
  "redis-cli": "/usr/bin/redis-cli",
  ip: "/usr/bin/ip",
  python3: "/usr/bin/python3",
  fusermount3: "/usr/bin/fusermount3",
  openssl: "/usr/bin/openssl",
  chromium: "/usr/bin/chromium",
};

const FOUND: FoundTools | null = (() => {
  try {
    const text = Deno.env.get("LIKES_TOOLS");
    return text === undefined ? null : JSON.parse(text);
  } catch {
    return null; // not granted: run by hand
  }
})();

/** The tool's absolute path, or `null` when `deno task test` did not find it on PATH. */
export function toolPath(name: ToolName): string | null {
  return FOUND === null ? DEBIAN[name] : FOUND[name] ?? null;
}

/**
 * Why a test that needs `name` cannot run, or `null` when it can: not on PATH (as `deno task
 * test` saw it), or — checking the file, which needs a read grant for it — not installed.
 */
export function toolMissing(name: ToolName, check = false): string | null {
  const path = toolPath(name);
  if (path === null) return `${name} not found on PATH`;
  if (!check) return null;
  try {
    return Deno.statSync(path).isFile ? null : `${path} is not a file`;
  } catch {
    return `${path} not found`;
  }
}
