/**
 * Starting `deno` child processes with piped output, and reading that output as text or lines.
 *
 * @module
 */

/**
 * Spawns `deno` (from PATH: what `--allow-run=deno` permits) with `args` (or through `via`), no stdin, piped stdout
 * and stderr, and `NO_COLOR=1` so that logs stay plain. With `detached`, the child gets its own
 * session, so a Ctrl-C in the terminal does not reach it: the caller must stop it.
 *
 * @throws {Deno.errors.NotFound} If `deno` is not on PATH.
 * @throws {Deno.errors.NotCapable} If this process may not run `deno`.
 */
export function spawnDeno(
  args: readonly string[],
  options: {
    readonly detached?: boolean;
    readonly env?: Readonly<Record<string, string>>;
    /**
     * A command that runs `deno` for us, e.g. `["ip", "netns", "exec", "ns1"]` (it must exec
     * deno, so that the child's pid is deno's). @default {none}
     */
    readonly via?: readonly string[];
  } = {},
): Deno.ChildProcess {
  const [command, ...prefix] = options.via?.length ? [...options.via, "deno"] : ["deno"];
  return new Deno.Command(command!, {
    args: [...prefix, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
    detached: options.detached ?? false,
  }).spawn();
}

/**
 * Joins paths into one permission list (`--allow-write=A,B`).
 *
 * @throws {RangeError} If a path holds a comma, which would split it and widen the grant.
 *
 * @example
 * ```ts
 * import { grantList } from "./child_process.ts";
 * import assert from "node:assert/strict";
 * assert.equal(grantList(["/tmp/a", "/tmp/b"]), "/tmp/a,/tmp/b");
 * assert.throws(() => grantList(["/tmp/a,/etc"]), RangeError);
 * ```
 */
export function grantList(paths: readonly string[]): string {
  for (const path of paths) {
    if (path.includes(",")) {
      throw new RangeError(
        `Cannot grant access to ${JSON.stringify(path)} as a permission list is comma-separated`,
      );
    }
  }
  return paths.join(",");
}

/**
 * The environment that names a child in the telemetry it exports (with `OTEL_DENO=true`), so
 * that each of the suite's processes shows as its own service, e.g. `likes-node-B`.
 */
export function serviceEnv(service: string): Record<string, string> {
  return { OTEL_SERVICE_NAME: service };
}

/** Calls `onText` with each decoded chunk of `stream` until it ends. */
export async function forEachText(
  stream: ReadableStream<Uint8Array>,
  onText: (text: string) => void,
): Promise<void> {
  for await (const text of stream.pipeThrough(new TextDecoderStream())) onText(text);
}

/** Calls `onLine` with each line of `stream` (without `\n`) until it ends. */
export async function forEachLine(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let rest = "";
  await forEachText(stream, (text) => {
    const lines = (rest + text).split("\n");
    rest = lines.pop()!;
    for (const line of lines) onLine(line);
  });
  if (rest) onLine(rest);
}
