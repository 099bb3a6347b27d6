/**
 * Command-line flags for the entry points: `node:util` `parseArgs` in strict mode, a usage text
 * built from the same table, and value parsers with clear messages. Pure: no `Deno.args`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { describeError } from "../base/describe_error.ts";

/** One flag of an entry point. */
export interface Flag {
  /** Long name without dashes, e.g. `"port"`. */
  readonly name: string;
  /** `"string"` flags take a value; `"boolean"` flags do not. */
  readonly type: "string" | "boolean";
  /** The placeholder shown in the usage text, e.g. `"PORT"`. */
  readonly value?: string;
  /** Default value shown in the usage text (string flags only). */
  readonly default?: string;
  /** One line of help. */
  readonly help: string;
}

/** A command-line mistake; the entry point prints it with the usage line and exits 2. */
export class UsageError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}

/**
 * A program that could not start, for a reason one line tells (a port in use, a process that
 * exited before it listened): the entry point prints `error: LINE` and exits 1, with no stack.
 * The message may say more (the process's whole stderr); {@linkcode StartError.line} is what a
 * person reads.
 */
export class StartError extends Error {
  /** The one line to print. */
  readonly line: string;

  /** Creates the error; `message` defaults to `line`. */
  constructor(line: string, message: string = line, options?: ErrorOptions) {
    super(message, options);
    this.name = "StartError";
    this.line = line;
  }
}

/** The help flag every entry point has. */
export const HELP_FLAG: Flag = { name: "help", type: "boolean", help: "show this help and exit" };

/** The address a server listens on: loopback unless told otherwise. */
export const LISTEN_HOST_FLAG: Flag = {
  name: "host",
  type: "string",
  value: "HOST",
  default: "127.0.0.1",
  help: "address to listen on",
};

/**
 * Parses `args` against `flags` (plus `--help`), rejecting unknown flags and (unless
 * `options.positionals`) positional arguments. A
 * leading `--` is skipped: the README writes `deno task likes --id 3` (Deno 2 passes what
 * follows the task's name on), but `deno task likes -- --id 3` passes the `--` on too, and many
 * people type it.
 *
 * @returns The string values (defaults filled in) and boolean values by flag name.
 * @throws {UsageError} On an unknown flag, a missing value or a positional argument.
 */
export function parseFlags(
  args: readonly string[],
  flags: readonly Flag[],
  options: { readonly positionals?: boolean } = {},
): {
  strings: Record<string, string>;
  booleans: Record<string, boolean>;
  positionals: string[];
} {
  const table: Record<string, { type: "string" | "boolean"; default?: string }> = {};
  for (const flag of [...flags, HELP_FLAG]) {
    table[flag.name] = flag.default === undefined
      ? { type: flag.type }
      : { type: flag.type, default: flag.default };
  }
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    const rest = joinNegativeValues(args[0] === "--" ? args.slice(1) : [...args], table);
    ({ values, positionals } = parseArgs({
      args: rest,
      options: table,
      strict: true,
      allowPositionals: options.positionals ?? false,
    }));
  } catch (error) {
    throw new UsageError(describeError(error, "message"), { cause: error });
  }
  const strings: Record<string, string> = {};
  const booleans: Record<string, boolean> = {};
  for (const [name, value] of Object.entries(values)) {
    if (typeof value === "string") strings[name] = value;
    else if (typeof value === "boolean") booleans[name] = value;
  }
  return { strings, booleans, positionals };
}

/**
 * `--children -1` becomes `--children=-1`: `parseArgs` would take `-1` for a flag and refuse it
 * with a confusing message, where the value's own check explains the range.
 */
function joinNegativeValues(
  args: readonly string[],
  table: Readonly<Record<string, { type: "string" | "boolean" }>>,
): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const name = arg.startsWith("--") && !arg.includes("=") ? arg.slice(2) : null;
    const next = args[i + 1];
    if (name && table[name]?.type === "string" && next !== undefined && /^-\d/.test(next)) {
      joined.push(`${arg}=${next}`);
      i++;
    } else {
      joined.push(arg);
    }
  }
  return joined;
}

/** Builds the `--help` text: a usage line, a summary, and one line per flag. */
export function formatUsage(command: string, summary: string, flags: readonly Flag[]): string {
  const rows = [...flags, HELP_FLAG].map((f) => {
    const left = `--${f.name}${f.value ? ` ${f.value}` : ""}`;
    const right = f.default === undefined ? f.help : `${f.help} (default ${f.default})`;
    return [left, right] as const;
  });
  const width = Math.max(...rows.map(([left]) => left.length));
  return [
    `Usage: ${command} [flags]`,
    "",
    summary,
    "",
    "Flags:",
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`),
    "",
  ].join("\n");
}

/** Bounds for {@linkcode parseInteger} and {@linkcode parseSeconds}. */
export interface Bounds {
  /** Smallest allowed value. */
  readonly min: number;
  /** Largest allowed value. @default {Number.MAX_SAFE_INTEGER} */
  readonly max?: number;
}

/**
 * Parses a flag value as a whole number within bounds.
 *
 * @throws {UsageError} If it is not one.
 */
export function parseInteger(flag: string, text: string, bounds: Bounds): number {
  const { min, max = Number.MAX_SAFE_INTEGER } = bounds;
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(
      `--${flag} must be a whole number from ${min} to ${max}: current value is ${
        JSON.stringify(text)
      }`,
    );
  }
  return value;
}

/**
 * Parses a flag value given in seconds (fractions allowed) and returns milliseconds.
 *
 * @throws {UsageError} If it is not a number of seconds within bounds (bounds in seconds).
 */
export function parseSeconds(flag: string, text: string, bounds: Bounds): number {
  const { min, max = 365 * 24 * 3600 } = bounds;
  const value = /^\d+(\.\d+)?$|^\.\d+$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) {
    throw new UsageError(
      `--${flag} must be a number of seconds from ${min} to ${max}: current value is ${
        JSON.stringify(text)
      }`,
    );
  }
  return Math.round(value * 1000);
}

/**
 * A duration in milliseconds as a flag value in seconds: what {@linkcode parseSeconds} reads
 * back (for a flag's default, or a child's command line).
 *
 * @example
 * ```ts
 * import { formatSeconds, parseSeconds } from "./flags.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatSeconds(50), "0.05");
 * assert.equal(parseSeconds("pause", formatSeconds(1500), { min: 0 }), 1500);
 * ```
 */
export function formatSeconds(ms: number): string {
  return String(ms / 1000);
}

/**
 * Checks a host flag: an IPv4 address or a host name (no port, no scheme).
 *
 * @throws {UsageError} If it is neither.
 */
export function parseHost(flag: string, text: string): string {
  if (!/^[A-Za-z0-9.-]{1,253}$/.test(text)) {
    throw new UsageError(
      `--${flag} must be an IPv4 address or host name: current value is ${JSON.stringify(text)}`,
    );
  }
  return text;
}

/**
 * Checks a directory flag whose value ends up in a permission grant (`--allow-write=A,B`): Deno's
 * grant lists are comma-separated, so a comma would split the path and widen the grant.
 *
 * @throws {UsageError} If it is empty or holds a comma.
 */
export function parsePath(flag: string, text: string): string {
  if (text === "" || text.includes(",")) {
    throw new UsageError(
      `--${flag} must be a path without commas (Deno's permission lists are comma-separated): current value is ${
        JSON.stringify(text)
      }`,
    );
  }
  return text;
}

/**
 * Parses `--min-interval` and `--max-interval` (seconds) into milliseconds, min ≤ max.
 *
 * @throws {UsageError} If either is invalid or min exceeds max.
 */
export function parseIntervals(
  minText: string,
  maxText: string,
): { minIntervalMs: number; maxIntervalMs: number } {
  const minIntervalMs = parseSeconds("min-interval", minText, { min: 0.001 });
  const maxIntervalMs = parseSeconds("max-interval", maxText, { min: 0.001 });
  if (minIntervalMs > maxIntervalMs) {
    throw new UsageError(
      `--min-interval must not exceed --max-interval: current values are ${minText} and ${maxText}`,
    );
  }
  return { minIntervalMs, maxIntervalMs };
}

/**
 * Checks that a flag value is one of `choices`.
 *
 * @throws {UsageError} If it is not.
 */
export function parseChoice<T extends string>(
  flag: string,
  text: string,
  choices: readonly T[],
): T {
  if (!(choices as readonly string[]).includes(text)) {
    throw new UsageError(
      `--${flag} must be ${choices.join(" or ")}: current value is ${JSON.stringify(text)}`,
    );
  }
  return text as T;
}

const encoder = new TextEncoder();

/**
 * Runs an entry point's body and maps a {@linkcode UsageError} to a message on stderr and exit
 * code 2; any other error propagates.
 */
export async function runCommand(body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof StartError) {
      await Deno.stderr.write(encoder.encode(`error: ${error.line}\n`));
      return 1;
    }
    if (!(error instanceof UsageError)) throw error;
    await Deno.stderr.write(
      encoder.encode(`error: ${error.message}\nRun with --help for usage.\n`),
    );
    return 2;
  }
}

/** Prints a `--help` text to stdout and returns exit code 0. */
export async function printUsage(text: string): Promise<number> {
  await Deno.stdout.write(encoder.encode(text));
  return 0;
}

/** How long {@linkcode exitWith} lets the event loop run dry before it calls `Deno.exit()`. */
export const EXIT_GRACE_MS = 1000;

/**
 * Ends an entry point with `code` by letting the event loop run dry (`Deno.exitCode`), and calls
 * `Deno.exit(code)` only if something still holds the loop after `graceMs`. With
 * `OTEL_DENO=true`, `Deno.exit()` in a process that ran a Worker now and then hangs in Deno 2.9.6
 * while it flushes the telemetry (4 of 150 runs here; none of 230 that ended by running dry; see
 * denoland/deno#33157), which would also lose the final export.
 */
export function exitWith(code: number, graceMs: number = EXIT_GRACE_MS): void {
  Deno.exitCode = code;
  const timer = setTimeout(() => Deno.exit(code), graceMs);
  Deno.unrefTimer(timer);
}
