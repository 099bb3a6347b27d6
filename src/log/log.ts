/**
 * LogTape set-up for the entry points and Workers. Library files never configure logging; they
 * call `getLogger(["likes", …])`. Files get complete plain-text lines; the console (stderr) gets
 * short human lines for lifecycle events only.
 *
 * @module
 */

import {
  configure,
  dispose,
  getLogger,
  type LogRecord,
  type Sink,
  withFilter,
} from "@logtape/logtape";
import { getBufferedFileSink } from "./buffered_file_sink.ts";
import { lineStart } from "../base/terminal_line.ts";

let lastStamp = -1;
let lastIso = "";

/** `new Date(ms).toISOString()`, computed once per millisecond (hot log lines share it). */
function isoTime(ms: number): string {
  if (ms !== lastStamp) {
    lastStamp = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/** Formats a record as one file line: `ISO-time LEVEL category message`. */
export function fileLine(record: LogRecord): string {
  return `${isoTime(record.timestamp)} ${record.level.toUpperCase()} ${record.category.join(".")} ${
    renderMessage(record)
  }\n`;
}

/** Formats a record as a short console line: `HH:MM:SS message` (with the level if not info). */
export function consoleLine(record: LogRecord): string {
  const time = new Date(record.timestamp).toISOString().slice(11, 19);
  const level = record.level === "info" ? "" : `${record.level.toUpperCase()} `;
  return `${time} ${level}${renderMessage(record)}\n`;
}

function renderMessage(record: LogRecord): string {
  let text = "";
  for (let i = 0; i < record.message.length; i++) {
    const part = record.message[i];
    text += i % 2 === 0 ? String(part) : typeof part === "string" ? part : JSON.stringify(part);
  }
  return text;
}

const encoder = new TextEncoder();

/**
 * A sink that writes short lines to stderr, so stdout stays free for data; on a terminal each
 * line first erases a progress line drawn there (`terminal_line.ts`).
 */
export function getStderrSink(): Sink {
  const start = lineStart(Deno.stderr);
  return (record) => {
    Deno.stderr.writeSync(encoder.encode(`${start}${consoleLine(record)}`));
  };
}

/** Options for {@linkcode setupLogging}. */
export interface SetupLoggingOptions {
  /** The log file (appended to; created if missing, its directory must exist). */
  readonly file: string;
  /** Category whose records go to the file, e.g. `["likes"]`. @default {["likes"]} */
  readonly category?: readonly string[];
  /**
   * Categories (and their children) whose info records also go to stderr as short lines.
   * Errors from any category always go to stderr.
   * @default {[]}
   */
  readonly consoleCategories?: readonly (readonly string[])[];
}

function isUnder(category: readonly string[], prefix: readonly string[]): boolean {
  return prefix.every((part, i) => category[i] === part);
}

/** Logging as configured by {@linkcode setupLogging}, for the one thread that set it up. */
export interface Logging {
  /**
   * A logger for one very frequent category (a line per message the server counts). Its lines
   * are exactly what LogTape would write for the category, into the same file, but they skip
   * LogTape's dispatch (about 3 µs a line; this takes under 1). They go to the file only, never
   * to the console.
   */
  hotLogger(category: readonly string[]): InfoLog;
  /** Flushes and closes every sink; await it before the process or Worker ends. */
  shutdown(): Promise<void>;
}

/** A logger with only `info`, which is all a hot path needs. */
export interface InfoLog {
  /** Logs one message at info level. */
  info(message: string): void;
}

/** An {@linkcode InfoLog} through LogTape: what library code uses unless given a faster one. */
export function infoLog(category: readonly string[]): InfoLog {
  const logger = getLogger([...category]);
  return { info: (message) => logger.info(message) };
}

/**
 * Configures LogTape for this process or Worker (entry points and Worker entries only: library
 * code never calls it): a buffered, asynchronous file sink (see `buffered_file_sink.ts`) and a
 * stderr sink. Call `shutdown()` on the result before exiting so that every buffered line is
 * written.
 *
 * @throws {Deno.errors.NotCapable} If the file is outside the granted write permission.
 * @throws {Deno.errors.NotFound} If the file's directory does not exist.
 */
export async function setupLogging(options: SetupLoggingOptions): Promise<Logging> {
  const { file, category = ["likes"], consoleCategories = [] } = options;
  const fileSink = getBufferedFileSink(file, { formatter: fileLine });
  const toConsole = (record: LogRecord) =>
    record.level === "error" || record.level === "fatal" || record.category[0] === "logtape" ||
    (record.level !== "debug" && record.level !== "trace" &&
      consoleCategories.some((c) => isUnder(record.category, c)));
  await configure({
    reset: true,
    sinks: { file: fileSink, console: withFilter(getStderrSink(), toConsole) },
    loggers: [
      { category: [...category], lowestLevel: "debug", sinks: ["file", "console"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["console"] },
    ],
  });
  let open = true;
  return {
    hotLogger(hotCategory) {
      const prefix = ` INFO ${hotCategory.join(".")} `;
      const fallback = infoLog(hotCategory);
      return {
        info(message: string) {
          if (open) fileSink.writeLine(`${isoTime(Date.now())}${prefix}${message}\n`);
          else fallback.info(message);
        },
      };
    },
    async shutdown() {
      open = false;
      await dispose();
    },
  };
}

/**
 * Flushes and closes every sink; await it before the process or Worker ends (for an entry point
 * that kept no {@linkcode Logging} handle, or whose set-up failed half-way).
 */
export async function shutdownLogging(): Promise<void> {
  await dispose();
}
