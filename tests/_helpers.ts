/**
 * Helpers for the process-level tests: temp directories, raw socket exchanges, STATS, log files.
 *
 * @module
 */

import { forEachText, spawnDeno } from "../src/launch/child_process.ts";
import { freePort } from "../src/launch/free_port.ts";
export { freePort };
import { parentArgs } from "../src/launch/processes.ts";
import { fetchStats } from "../src/protocol/stats_client.ts";
import { toolMissing, toolPath } from "./_tools.ts";

/** A fresh directory under /tmp (the tests' write grant), removed on dispose. */
export async function tempDir(prefix = "likes-test-"): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ dir: "/tmp", prefix });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Bytes of a string, or the bytes themselves. */
export function bytes(data: string | Uint8Array): Uint8Array {
  return typeof data === "string" ? encoder.encode(data) : data;
}

/** Options for {@linkcode exchange}. */
export interface ExchangeOptions {
  /** Half-close after sending, as `nc -N` does. @default {false} */
  readonly halfClose?: boolean;
  /** Stop reading once the reply holds this many bytes. */
  readonly expectBytes?: number;
  /** Stop reading after this long without the expected reply, in ms. @default {3000} */
  readonly timeoutMs?: number;
}

/**
 * Connects, sends `data`, and returns everything read until the expected byte count, EOF or the
 * timeout, as a string (NULs included).
 */
export async function exchange(
  port: number,
  data: string | Uint8Array,
  options: ExchangeOptions = {},
): Promise<string> {
  const { halfClose = false, expectBytes = Infinity, timeoutMs = 3000 } = options;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await writeAll(conn, bytes(data));
    if (halfClose) await conn.closeWrite();
    return await readUntil(conn, expectBytes, timeoutMs);
  } finally {
    closeQuietly(conn);
  }
}

/** Closes `conn`, ignoring that it may be closed already (for example by a read timeout). */
export function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Closed already.
  }
}

/** Writes all of `data`. */
export async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.length) written += await conn.write(data.subarray(written));
}

/** Reads until `expectBytes` arrived, EOF, or `timeoutMs` passed; returns the text. */
export async function readUntil(
  conn: Deno.Conn,
  expectBytes: number,
  timeoutMs: number,
): Promise<string> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buffer = new Uint8Array(65536);
  const timer = setTimeout(() => closeQuietly(conn), timeoutMs);
  try {
    while (total < expectBytes) {
      let n: number | null;
      try {
        n = await conn.read(buffer);
      } catch {
        break;
      }
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
      total += n;
    }
  } finally {
    clearTimeout(timer);
  }
  const all = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return decoder.decode(all);
}

/** A persistent test connection that sends lines and reads `\n`-terminated reply lines. */
export class LineConn implements Disposable {
  readonly #conn: Deno.Conn;
  #pending = "";

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Connects to the server on `port`. */
  static async open(port: number): Promise<LineConn> {
    return new LineConn(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Sends raw bytes. */
  async send(data: string | Uint8Array): Promise<void> {
    await writeAll(this.#conn, bytes(data));
  }

  /** Reads one reply line (without `\n`); throws after `timeoutMs` or at EOF. */
  async line(timeoutMs = 3000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#pending.includes("\n")) {
      const text = await readUntil(this.#conn, 1, Math.max(1, deadline - Date.now()));
      if (text === "") throw new Error(`no reply line (have ${JSON.stringify(this.#pending)})`);
      this.#pending += text;
    }
    const end = this.#pending.indexOf("\n");
    const line = this.#pending.slice(0, end);
    this.#pending = this.#pending.slice(end + 1);
    return line;
  }

  /** Sends `line` plus `\n` and returns the reply line. */
  async request(line: string): Promise<string> {
    await this.send(`${line}\n`);
    return await this.line();
  }

  /** Closes the connection. */
  close(): void {
    closeQuietly(this.#conn);
  }

  /** Same as {@linkcode LineConn.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** The server's totals via `STATS`. */
export function stats(port: number): ReturnType<typeof fetchStats> {
  return fetchStats({ port });
}

/**
 * Polls `check` every 50 ms until it is true.
 *
 * @throws {Error} Naming `what` if it is still false after `timeoutMs`.
 */
export async function until(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 8000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The lines of a text file. */
export async function readLines(path: string): Promise<string[]> {
  return (await Deno.readTextFile(path)).split("\n").filter((l) => l !== "");
}

/** What a finished `deno` run printed. */
export interface DenoRun {
  readonly code: number;
  readonly signal: Deno.Signal | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `deno` with `args` to the end, but never longer than `timeoutMs`: a run still going by then
 * is killed (SIGKILL), so a test that expected an exit fails instead of hanging.
 */
export async function runDeno(
  args: readonly string[],
  timeoutMs = 60_000,
  env: Readonly<Record<string, string>> = {},
): Promise<DenoRun> {
  const child = spawnDeno(args, { env });
  let stdout = "";
  let stderr = "";
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    const [status] = await Promise.all([
      child.status,
      forEachText(child.stdout, (t) => (stdout += t)),
      forEachText(child.stderr, (t) => (stderr += t)),
    ]);
    return { code: status.code, signal: status.signal, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

/** Reads stderr until `view at URL` appears; keeps draining the rest. */
export async function viewUrl(
  stderr: ReadableStream<Uint8Array>,
): Promise<{ url: string; rest: Promise<string> }> {
  const reader = stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/view at (\S+)/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the parent ended before serving the view: ${text}`);
    text += value;
  }
  const rest = (async () => {
    let more = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) more += r.value;
    return more;
  })();
  return { url: /view at (\S+)/.exec(text)![1]!, rest };
}

/** A parent process serving the live view, with its address and its output as it comes. */
export interface ParentWithView {
  readonly parent: Deno.ChildProcess;
  readonly url: string;
  /** Its stderr after the `view at` line. */
  readonly rest: Promise<string>;
  /** Its whole stdout (the report). */
  readonly stdout: Promise<string>;
}

/** Starts `parent.ts` with a live view on a free port and waits for its `view at` line. */
export async function startParentWithView(
  port: number,
  logDir: string,
  args: readonly string[],
): Promise<ParentWithView> {
  const parent = spawnDeno(parentArgs({ port, logDir, viewPort: freePort(), args }));
  const stdout = new Response(parent.stdout).text();
  const { url, rest } = await viewUrl(parent.stderr);
  return { parent, url, rest, stdout };
}

/**
 * A test's name that says why it is skipped, when it is: `name (skipped: reason)`. Deno prints
 * only "ignored" for an ignored test; this way the reason is in the output too.
 */
export function nameIfSkipped(name: string, skipReason: string | null): string {
  return skipReason === null ? name : `${name} (skipped: ${skipReason})`;
}

/** Why a test that needs util-linux `script(1)` (a pseudo-terminal) is skipped, or null. */
export const noScript: string | null = toolMissing("script", true);

/**
 * Runs `deno` with `args` on a pseudo-terminal (through `script`) and resolves to its
 * exit code and everything the terminal was sent (escapes included).
 */
export async function onTerminal(
  args: readonly string[],
): Promise<{ code: number; shown: string }> {
  const command = ["deno", ...args].map((word) => `'${word}'`).join(" ");
  const output = await new Deno.Command(toolPath("script")!, {
    args: ["-qec", command, "/dev/null"],
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: output.code, shown: new TextDecoder().decode(output.stdout) };
}

/** A `say()` output that keeps what it is given: `lines()` are the lines written, in order. */
export function recordingOutput(): { writeSync(bytes: Uint8Array): number; lines(): string[] } {
  let text = "";
  return {
    writeSync(bytes) {
      text += new TextDecoder().decode(bytes);
      return bytes.length;
    },
    lines: () => text.split("\n").filter((line) => line !== ""),
  };
}
