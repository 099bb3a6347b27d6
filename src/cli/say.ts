/**
 * Printing one line for a person, synchronously (so it is out before the program exits or the
 * next progress line is drawn).
 *
 * @module
 */

import { lineStart, type MaybeTerminal } from "../base/terminal_line.ts";

const encoder = new TextEncoder();

/** Where a line goes: standard output or standard error (or anything with `writeSync`). */
export interface LineOutput extends MaybeTerminal {
  writeSync(bytes: Uint8Array): number;
}

/**
 * Writes `line` and a newline to `output` (standard error by default), all of it. On a terminal
 * it first erases a progress line drawn there (by this process or another), so the two are never
 * glued together.
 *
 * @example
 * ```ts
 * import { say } from "./say.ts";
 * import assert from "node:assert/strict";
 * const written: string[] = [];
 * const output = { writeSync: (bytes: Uint8Array) => (written.push(new TextDecoder().decode(bytes)), bytes.length) };
 * say("listening on 127.0.0.1:4242", output);
 * assert.deepEqual(written, ["listening on 127.0.0.1:4242\n"]);
 * ```
 */
export function say(line: string, output: LineOutput = Deno.stderr): void {
  const bytes = encoder.encode(`${lineStart(output)}${line}\n`);
  let written = 0;
  while (written < bytes.length) written += output.writeSync(bytes.subarray(written));
}
