/**
 * Starting the entry points as real processes with their narrow permissions — for the demo, the
 * tests and (later) the benchmark and chaos runs. Knows the entry points' flags, not their code.
 *
 * @module
 */

import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { forEachText, grantList, serviceEnv, spawnDeno } from "./child_process.ts";
import { LOG_FILES, logPath } from "../log/log_paths.ts";
import { StartError } from "../cli/flags.ts";

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/** Absolute paths of the project's entry points and config. */
export const PROJECT = {
  config: root("deno.json"),
  server: root("server.ts"),
  parent: root("parent.ts"),
  likesServer: root("likes_server.ts"),
  demo: root("demo.ts"),
  chaos: root("chaos.ts"),
  node: root("node.ts"),
  query: root("query.ts"),
  src: root("src"),
} as const;

/** Options for {@linkcode startServer}. */
export interface StartServerOptions {
  /** Directory for PrimaryLikesLog (must exist). */
  readonly logDir: string;
  /** Port; 0 picks a free one. @default {0} */
  readonly port?: number;
  /** Connection Workers. @default {2} */
  readonly workers?: number;
  /** More server flags, e.g. `["--idle-timeout=0.5"]`. @default {[]} */
  readonly args?: readonly string[];
  /** Its data directory. @default {`${logDir}/data`} */
  readonly dataDir?: string;
  /** What the server may write. @default {`${logDir}/PrimaryLikesLog,${dataDir}`} */
  readonly allowWrite?: string;
  /** More permission flags, e.g. `["--allow-env=REDIS_DEBUG_MAINTENANCE"]`. @default {[]} */
  readonly grants?: readonly string[];
  /** Give up waiting for `listening on` after this many ms. @default {15000} */
  readonly readyTimeoutMs?: number;
  /**
   * Run it in its own session, so that a Ctrl-C in the terminal reaches the caller but not the
   * server, and the caller stops it once its clients are done. @default {false}
   */
  readonly detached?: boolean;
  /** More environment variables, e.g. `OTEL_DENO=true`. @default {none} */
  readonly env?: Readonly<Record<string, string>>;
}

/** A server process that printed `listening on HOST:PORT`. */
export interface ServerProcess extends ListeningProcess {
  /** Its log file. */
  readonly logFile: string;
}

/** The `deno` arguments for a server with the narrowest permissions that work. */
export function serverArgs(options: StartServerOptions): string[] {
  const { logDir, port = 0, workers = 2, args = [] } = options;
  const dataDir = options.dataDir ?? `${logDir}/data`;
  const allowWrite = options.allowWrite ?? grantList([logPath(logDir, LOG_FILES.server), dataDir]);
  return [
    "run",
    "--no-prompt",
    "--unstable-npm-lazy-caching", // fetch only the npm packages it imports
    `--config=${PROJECT.config}`,
    port === 0 ? "--allow-net=127.0.0.1" : `--allow-net=127.0.0.1:${port}`,
    // The data directory's parent too: a new data directory's entry is flushed there.
    `--allow-read=${grantList([PROJECT.src, dataDir, dirname(dataDir)])}`,
    `--allow-write=${allowWrite}`,
    ...(options.grants ?? []),
    PROJECT.server,
    `--port=${port}`,
    `--workers=${workers}`,
    `--log-dir=${logDir}`,
    `--data-dir=${dataDir}`,
    ...args,
  ];
}

/** A process that printed `listening on HOST:PORT`. */
export interface ListeningProcess extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  /** Resolves when it exits. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Everything it wrote to stdout and stderr so far. */
  output(): { stdout: string; stderr: string };
  /** Sends `signal` (default SIGTERM) and waits for the exit; SIGKILL after `graceMs`. */
  stop(signal?: Deno.Signal, graceMs?: number): Promise<Deno.CommandStatus>;
  /** Sends `signal` and returns at once (e.g. SIGSTOP, SIGCONT); false if it already exited. */
  signal(signal: Deno.Signal): boolean;
}

/**
 * The last `error: …` line a program printed, without the prefix (our programs explain a
 * failure in one such line), or its last line of any kind; `null` if it printed nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lastError } from "./processes.ts";
 * assert.equal(lastError("Check x.ts\nerror: Cannot listen on 127.0.0.1:4353: in use\n"), "Cannot listen on 127.0.0.1:4353: in use");
 * assert.equal(lastError("panic\n  at x\n"), "at x");
 * assert.equal(lastError(" \n"), null);
 * ```
 */
export function lastError(stderr: string): string | null {
  const lines = stderr.split("\n").map((line) => line.trim()).filter((line) => line !== "");
  const explained = lines.findLast((line) => line.startsWith("error: "));
  return explained?.slice("error: ".length) ?? lines.at(-1) ?? null;
}

/**
 * Spawns `deno args` and resolves once it prints `listening on HOST:PORT` (the server and the
 * overlay nodes do).
 *
 * @param what Names the process in errors, e.g. `"server"`, `"node B"`.
 * @throws {StartError} If it exits or stays silent first: its `line` says why in one line (the
 *   program's own `error:` line), its message holds the whole stderr.
 */
export async function startListening(
  what: string,
  args: readonly string[],
  options: {
    readonly detached?: boolean;
    readonly readyTimeoutMs?: number;
    /** A command that runs deno for us (see `spawnDeno`). */
    readonly via?: readonly string[];
    /** More environment variables. @default {none} */
    readonly env?: Readonly<Record<string, string>>;
  } = {},
): Promise<ListeningProcess> {
  const { readyTimeoutMs = 15_000 } = options;
  const child = spawnDeno(args, {
    detached: options.detached ?? false,
    ...(options.via ? { via: options.via } : {}),
    ...(options.env ? { env: options.env } : {}),
  });
  let stdout = "";
  let stderr = "";
  const listening = Promise.withResolvers<[string, number]>();
  const pipes = Promise.all([
    forEachText(child.stdout, (text) => {
      stdout += text;
      const match = /listening on (\S+):(\d+)/.exec(stdout);
      if (match) listening.resolve([match[1]!, Number(match[2])]);
    }),
    forEachText(child.stderr, (text) => (stderr += text)),
  ]);
  const status = Promise.all([child.status, pipes]).then(([s]) => s);
  status.then((s) =>
    listening.reject(
      new StartError(
        `${what} could not start: ${lastError(stderr) ?? `it exited with code ${s.code}`}`,
        `${what} exited (code ${s.code}) before listening: ${stderr.trim()}`,
      ),
    )
  );
  const timer = setTimeout(
    () =>
      listening.reject(
        new StartError(
          `${what} did not start listening within ${readyTimeoutMs / 1000} s${
            lastError(stderr) ? `: ${lastError(stderr)}` : ""
          }`,
          `${what} not listening after ${readyTimeoutMs} ms: ${stderr.trim()}`,
        ),
      ),
    readyTimeoutMs,
  );
  let host: string, port: number;
  try {
    [host, port] = await listening.promise;
  } catch (error) {
    try {
      child.kill("SIGKILL");
    } catch {
      // It exited by itself: `error` says how.
    }
    await status.catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
  const stop = async (signal: Deno.Signal = "SIGTERM", graceMs = 10_000) => {
    try {
      child.kill(signal);
    } catch {
      // Already exited.
    }
    let killer: ReturnType<typeof setTimeout> | undefined;
    const forced = new Promise<void>((resolve) => {
      killer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // Exited meanwhile.
        }
        resolve();
      }, graceMs);
    });
    const result = await Promise.race([status, forced.then(() => status)]);
    clearTimeout(killer);
    return result;
  };
  return {
    host,
    port,
    pid: child.pid,
    status,
    output: () => ({ stdout, stderr }),
    stop,
    signal(signal) {
      try {
        child.kill(signal);
        return true;
      } catch {
        return false;
      }
    },
    [Symbol.asyncDispose]: async () => {
      await stop();
    },
  };
}

/**
 * Starts `server.ts` and resolves once it prints `listening on HOST:PORT`.
 *
 * @throws {StartError} If it exits or stays silent first: its `line` says why in one line (the
 *   program's own `error:` line), its message holds the whole stderr.
 */
export async function startServer(options: StartServerOptions): Promise<ServerProcess> {
  const started = await startListening("server", serverArgs(options), {
    ...options,
    env: { ...serviceEnv("likes-primary"), ...options.env },
  });
  return Object.assign(started, { logFile: logPath(options.logDir, LOG_FILES.server) });
}

/** Flags of a parent run, as `parent.ts` takes them (seconds may be fractional). */
export interface ParentRunOptions {
  /** The PrimaryLikesServer's address. @default {"127.0.0.1"} */
  readonly host?: string;
  readonly port: number;
  readonly logDir: string;
  /** Serve the live view on this port (granted too). @default {none} */
  readonly viewPort?: number;
  /** More parent flags, e.g. `["--children=3", "--duration=2"]`. @default {[]} */
  readonly args?: readonly string[];
}

/** The `deno` arguments for a parent with the narrowest permissions that work. */
export function parentArgs(options: ParentRunOptions): string[] {
  const { host = "127.0.0.1", port, logDir, args = [], viewPort } = options;
  const view = viewPort === undefined ? [] : [`--view-port=${viewPort}`];
  return [
    "run",
    "--no-prompt",
    "--unstable-npm-lazy-caching", // fetch only the npm packages it imports
    `--config=${PROJECT.config}`,
    `--allow-net=${host}:${port}${viewPort === undefined ? "" : `,127.0.0.1:${viewPort}`}`,
    "--allow-run=deno",
    `--allow-write=${grantList([logPath(logDir, LOG_FILES.parent)])}`,
    PROJECT.parent,
    `--host=${host}`,
    `--port=${port}`,
    `--log-dir=${logDir}`,
    ...view,
    ...args,
  ];
}

/** Flags of one LikesServer run by hand, by a test or by the parent, as `likes_server.ts` takes them. */
export interface LikesServerRunOptions {
  /** The primary it sends to, on 127.0.0.1 (or give `servers`). */
  readonly port?: number;
  /** The primaries it sends to, the preferred first (all of them granted). */
  readonly servers?: readonly { readonly host: string; readonly port: number }[];
  /** Where its log file goes. */
  readonly logDir: string;
  /** Its number: then only its own log file is granted, not the whole `logDir`. @default {none} */
  readonly id?: number;
  /** More flags, e.g. `["--duration=1"]`. @default {[]} */
  readonly args?: readonly string[];
}

/**
 * The `deno` arguments for one LikesServer with the narrowest permissions that work: the one
 * place its command line is built (the parent's children and the tests' LikesServers alike).
 *
 * @throws {RangeError} If neither `port` nor `servers` is given.
 */
export function likesServerArgs(options: LikesServerRunOptions): string[] {
  const { logDir, id, args = [] } = options;
  const servers = options.servers ??
    (options.port === undefined ? [] : [{ host: "127.0.0.1", port: options.port }]);
  if (servers.length === 0) {
    throw new RangeError("Cannot start a LikesServer as it has no server to send to");
  }
  const addresses = servers.map((a) => `${a.host}:${a.port}`).join(",");
  return [
    "run",
    "--no-prompt",
    "--unstable-npm-lazy-caching", // fetch only the npm packages it imports
    `--config=${PROJECT.config}`,
    `--allow-net=${addresses}`,
    `--allow-write=${
      grantList([id === undefined ? logDir : logPath(logDir, LOG_FILES.likesServer(id))])
    }`,
    PROJECT.likesServer,
    ...(id === undefined ? [] : [`--id=${id}`]),
    options.servers ? `--servers=${addresses}` : `--port=${servers[0]!.port}`,
    `--log-dir=${logDir}`,
    ...args,
  ];
}

/**
 * The `deno` arguments for `demo.ts` or `chaos.ts` with the grants of their tasks, writing into
 * `logDir` instead of all of /tmp.
 */
export function runnerArgs(
  entry: "demo" | "chaos",
  logDir: string,
  args: readonly string[],
): string[] {
  return [
    "run",
    "--no-prompt",
    "--unstable-npm-lazy-caching", // fetch only the npm packages it imports
    `--config=${PROJECT.config}`,
    "--allow-net=127.0.0.1",
    // By path: a tool that is not installed then costs no "failed to resolve" line.
    entry === "demo" ? "--allow-run=deno,/usr/bin/redis-server" : "--allow-run=deno",
    `--allow-write=${grantList([logDir])}`,
    PROJECT[entry],
    `--log-dir=${logDir}`,
    ...args,
  ];
}
