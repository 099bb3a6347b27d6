/**
 * The power-loss filesystem as a test fixture: mounts `fixtures/power_cut_fs.py` (FUSE) over a
 * fresh backing directory and drives it — power cuts (plain or torn), injected `ENOSPC` on writes
 * and `EIO` on flushes — through its command line on stdin. Needs root, `/dev/fuse`, fuse3 and
 * Debian's python3-fusepy; {@linkcode powerCutSkipReason} says why not where they are missing.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { forEachLine } from "../src/launch/child_process.ts";
import { toolPath } from "./_tools.ts";

const SCRIPT = fileURLToPath(new URL("./fixtures/power_cut_fs.py", import.meta.url));
/** The `python3` on PATH must have fusepy (Debian's python3-fusepy; a pyenv one may lack it). */
const PYTHON = toolPath("python3") ?? "python3";
const FUSERMOUNT = toolPath("fusermount3") ?? "fusermount3";

/**
 * Why the power-loss tests cannot run here, or `null` when they can: it mounts the filesystem
 * once and unmounts it.
 */
export async function powerCutSkipReason(): Promise<string | null> {
  try {
    await using fs = await PowerCutFs.mount();
    await Deno.writeTextFile(`${fs.mountPoint}/probe`, "probe");
  } catch (error) {
    return `cannot mount the power-loss filesystem (needs root, /dev/fuse, fuse3 and python3-fusepy): ${
      error instanceof Error ? error.message : String(error)
    }`;
  }
  return null;
}

/** A mounted power-loss filesystem; dispose to unmount it and remove its directories. */
export class PowerCutFs implements AsyncDisposable {
  /** Where the filesystem is mounted: put the data directory under it. */
  readonly mountPoint: string;
  readonly #root: string;
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: string[] = [];
  #wake: (() => void) | undefined;
  readonly #output: Promise<void>;
  #stderr = "";
  #ended = false;

  private constructor(root: string, child: Deno.ChildProcess) {
    this.#root = root;
    this.mountPoint = `${root}/mnt`;
    this.#child = child;
    this.#stdin = child.stdin.getWriter();
    this.#output = Promise.all([
      forEachLine(child.stdout, (line) => {
        this.#lines.push(line);
        this.#wake?.();
      }),
      new Response(child.stderr).text().then((text) => (this.#stderr = text)),
    ]).then(() => {
      this.#ended = true;
      this.#wake?.();
    });
  }

  /** Mounts a fresh filesystem under /tmp and waits until it serves. */
  static async mount(): Promise<PowerCutFs> {
    const root = await Deno.makeTempDir({ dir: "/tmp", prefix: "likes-power-" });
    for (const dir of ["backing", "trash", "mnt"]) await Deno.mkdir(`${root}/${dir}`);
    const child = new Deno.Command(PYTHON, {
      args: [SCRIPT, `${root}/backing`, `${root}/trash`, `${root}/mnt`],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const fs = new PowerCutFs(root, child);
    try {
      const first = await fs.#nextLine(10_000);
      if (first !== "ready") throw new Error(`expected "ready", got ${JSON.stringify(first)}`);
    } catch (error) {
      await fs[Symbol.asyncDispose]();
      throw error;
    }
    return fs;
  }

  async #nextLine(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.#lines.length === 0) {
      if (this.#ended) {
        throw new Error(`the power-loss filesystem exited: ${this.#stderr.trim() || "no output"}`);
      }
      if (Date.now() > deadline) throw new Error("the power-loss filesystem did not answer");
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, 100);
      });
      clearTimeout(timer);
    }
    return this.#lines.shift()!;
  }

  async #command(line: string): Promise<string> {
    await this.#stdin.write(new TextEncoder().encode(`${line}\n`));
    const reply = await this.#nextLine(10_000);
    if (!reply.startsWith("ok")) throw new Error(`power-loss filesystem: ${line}: ${reply}`);
    return reply.slice(3);
  }

  /**
   * Cuts the power: every write not yet flushed is dropped, and every namespace change whose
   * directory was not flushed is undone. Returns what it did, e.g. `kept=0 dropped=96 …`.
   */
  cut(): Promise<string> {
    return this.#command("cut");
  }

  /**
   * Cuts the power of a disk that wrote part of its cache: a random prefix (by `seed`) of the
   * unflushed writes is kept, the last of them cut at a 512-byte boundary; the rest is dropped.
   */
  tornCut(seed: number): Promise<string> {
    return this.#command(`torn ${seed >>> 0}`);
  }

  /** Writes to paths containing `pattern` (`*`: every path) fail with ENOSPC until healed. */
  async failWrites(pattern = "*"): Promise<void> {
    await this.#command(`enospc ${pattern}`);
  }

  /** Flushes of paths containing `pattern` (`*`: every path) fail with EIO until healed. */
  async failFlushes(pattern = "*"): Promise<void> {
    await this.#command(`eio ${pattern}`);
  }

  /** Ends every injected failure. */
  async heal(): Promise<void> {
    await this.#command("heal");
  }

  /** Bytes and files not yet flushed, and namespace changes not yet durable. */
  stats(): Promise<string> {
    return this.#command("stats");
  }

  /** Each file (path inside the mount, from `/`) with writes not yet flushed, and their bytes. */
  async unsynced(): Promise<Map<string, number>> {
    const reply = await this.#command("unsynced");
    const files = new Map<string, number>();
    for (const entry of reply.split(" ").filter((e) => e !== "")) {
      const at = entry.lastIndexOf("=");
      files.set(entry.slice(0, at), Number(entry.slice(at + 1)));
    }
    return files;
  }

  /** Unmounts (the filesystem process exits) and removes the backing files. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#ended) {
      await this.#stdin.write(new TextEncoder().encode("quit\n")).catch(() => {});
    }
    await this.#stdin.close().catch(() => {});
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // Exited meanwhile.
      }
    }, 10_000);
    await this.#child.status;
    clearTimeout(timer);
    await this.#output;
    // After a kill the mount would be left behind, "not connected": take it down lazily.
    await new Deno.Command(FUSERMOUNT, {
      args: ["-u", "-z", this.mountPoint],
      stdout: "null",
      stderr: "null",
    }).output().catch(() => {});
    await Deno.remove(this.#root, { recursive: true });
  }
}
