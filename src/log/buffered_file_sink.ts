/**
 * A LogTape sink that appends formatted lines to a file in batches, asynchronously, without
 * `fsync`. Logging never blocks the caller; lines reach the file within `flushIntervalMs` (or
 * sooner when the buffer fills), in order, each batch as one `write` (so several processes or
 * Workers appending to one file never interleave inside a line). Dispose it to write the rest.
 *
 * Why not `@logtape/file`: its sink flushes the file to disk after almost every line, which here
 * doubled the disk flushes and slowed the journal's group commit several times over. The journal
 * is what must be durable; the log needs only to be complete after a clean stop.
 *
 * @module
 */

import type { LogRecord, Sink } from "@logtape/logtape";

/** The sink, which also takes ready-made lines. */
export type BufferedFileSink = Sink & AsyncDisposable & {
  /** Appends one finished line (with its `\n`), as a record's formatted line would be. */
  writeLine(line: string): void;
};

/** Options for {@linkcode getBufferedFileSink}. */
export interface BufferedFileSinkOptions {
  /** Turns a record into one line (with its `\n`). */
  readonly formatter: (record: LogRecord) => string;
  /** Longest a line waits in memory, in ms. @default {100} */
  readonly flushIntervalMs?: number;
  /** Write at once when this many characters are buffered. @default {65536} */
  readonly maxBufferChars?: number;
}

const encoder = new TextEncoder();

/**
 * Opens `path` for appending (creating it) and returns the sink.
 *
 * @throws {Deno.errors.NotFound} If the directory does not exist.
 * @throws {Deno.errors.NotCapable} If the process may not write `path`.
 */
export function getBufferedFileSink(
  path: string,
  options: BufferedFileSinkOptions,
): BufferedFileSink {
  const { formatter, flushIntervalMs = 100, maxBufferChars = 65536 } = options;
  const file = Deno.openSync(path, { write: true, append: true, create: true });
  let lines: string[] = [];
  let chars = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let writing: Promise<void> = Promise.resolve();
  let failed = false;

  const flush = (): Promise<void> => {
    clearTimeout(timer);
    timer = undefined;
    if (lines.length > 0) {
      const data = encoder.encode(lines.join(""));
      lines = [];
      chars = 0;
      writing = writing.then(async () => {
        for (let written = 0; written < data.length;) {
          written += await file.write(data.subarray(written));
        }
      }).catch((error) => {
        if (!failed) Deno.stderr.writeSync(encoder.encode(`log file ${path} failed: ${error}\n`));
        failed = true;
      });
    }
    return writing;
  };

  const writeLine = (line: string) => {
    lines.push(line);
    chars += line.length;
    if (chars >= maxBufferChars) flush();
    else timer ??= setTimeout(flush, flushIntervalMs);
  };
  const sink = (record: LogRecord) => writeLine(formatter(record));
  return Object.assign(sink, {
    writeLine,
    [Symbol.asyncDispose]: async () => {
      await flush();
      file.close();
    },
  });
}
