/**
 * A real `redis-server` for tests: on a free loopback port, in a temp directory, stopped by its
 * PID. Tests that need it are skipped (with the reason) where Debian's redis-server is missing;
 * `.ci/run` installs it.
 *
 * @module
 */

import { freePort } from "./_helpers.ts";

/** Why Redis tests cannot run here, or null. */
export function redisMissing(): string | null {
  try {
    const status = new Deno.Command("redis-server", { args: ["--version"], stdout: "null" })
      .outputSync();
    return status.success ? null : "redis-server --version failed";
  } catch (error) {
    return `redis-server not found (${error instanceof Error ? error.message : error})`;
  }
}

/** A running redis-server. */
export interface RedisProcess extends AsyncDisposable {
  readonly port: number;
  readonly pid: number;
  readonly dir: string;
  /** Sends `signal` and waits for the exit. */
  stop(signal?: Deno.Signal): Promise<void>;
}

/** Starts redis-server (in `dir`, or a fresh temp directory) and waits until it answers. */
export async function startRedis(
  options: {
    readonly appendfsync?: "always" | "no";
    readonly dir?: string;
    readonly port?: number;
  } = {},
): Promise<RedisProcess> {
  const dir = options.dir ?? await Deno.makeTempDir({ dir: "/tmp", prefix: "likes-redis-" });
  const port = options.port ?? freePort();
  const persistence = options.appendfsync === "always"
    ? ["--appendonly", "yes", "--appendfsync", "always"]
    : ["--appendonly", "no"];
  const child = new Deno.Command("redis-server", {
    args: [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--dir",
      dir,
      ...persistence,
    ],
    stdout: "null",
    stderr: "null",
    stdin: "null",
  }).spawn();
  const deadline = Date.now() + 10_000;
  while (true) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(new TextEncoder().encode("PING\r\n"));
      const buffer = new Uint8Array(16);
      const n = await conn.read(buffer);
      conn.close();
      if (n && new TextDecoder().decode(buffer.subarray(0, n)).startsWith("+PONG")) break;
    } catch {
      // Not up yet.
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      await child.status;
      throw new Error(`redis-server on port ${port} did not answer within 10 s`);
    }
    await new Promise((r) => setTimeout(r, 30));
  }
  let stopped: Promise<void> | undefined;
  const stop = (signal: Deno.Signal = "SIGTERM") =>
    stopped ??= (async () => {
      try {
        child.kill(signal);
      } catch {
        // Exited already.
      }
      await child.status;
    })();
  return {
    port,
    pid: child.pid,
    dir,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
      if (options.dir === undefined) await Deno.remove(dir, { recursive: true });
    },
  };
}
