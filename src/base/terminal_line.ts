/**
 * Lines on a terminal that a progress line shares. A progress line is drawn without a newline
 * and redrawn in place (`\r`, erase, text), often by another process on the same terminal (the
 * parent under the demo or chaos). A line printed next would be glued to its end, so every line
 * printed for a person to a terminal starts by erasing whatever partial line is there; the
 * progress line is drawn again on its next tick.
 *
 * @module
 */

/** Back to the start of the line and erase it (`\r`, then ANSI "erase in line", whole line). */
export const ERASE_LINE = "\r\u001b[2K";

/** Something written to that may be a terminal (`Deno.stderr`, `Deno.stdout`). */
export interface MaybeTerminal {
  isTerminal?(): boolean;
}

/**
 * What a line for `output` starts with: {@linkcode ERASE_LINE} on a terminal, nothing otherwise
 * (a file or a pipe gets the plain line).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ERASE_LINE, lineStart } from "./terminal_line.ts";
 * assert.equal(lineStart({ isTerminal: () => true }), ERASE_LINE);
 * assert.equal(lineStart({ isTerminal: () => false }), "");
 * assert.equal(lineStart({}), "");
 * ```
 */
export function lineStart(output: MaybeTerminal): string {
  return output.isTerminal?.() ? ERASE_LINE : "";
}
