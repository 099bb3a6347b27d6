/**
 * The LikesServers of one parent run: what each is asked to do ({@linkcode childSpec}, pure), the
 * processes started so far, how each ended, and stopping them all (SIGTERM, then SIGKILL).
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import { delay } from "../base/delay.ts";
import { childSeed } from "../base/random.ts";
import type { ChildOutcome } from "../protocol/parent_report.ts";
import type { ChildSnapshot } from "../view/run_snapshot.ts";
import type { ParentConfig } from "./parent_config.ts";
import { type ChildSpec, type RunningChild, spawnChild } from "./spawn.ts";

/** `LikesServer<N>`, as the seed exercise numbers them (from 0). */
export function childName(id: number): string {
  return `LikesServer${id}`;
}

/**
 * The key the server counts child `id` under: its name, made unique per run for the keyed
 * protocol (whose sequence numbers start again at 1 in every run).
 */
export function childClientId(
  config: Pick<ParentConfig, "protocol">,
  id: number,
  runId: string,
): string {
  return config.protocol === "keyed" ? `${childName(id)}-${runId}` : childName(id);
}

/**
 * What child `id` is asked to do: its own seed, and the servers turned so that children start on
 * different servers when there are several (the load is split; each fails over to the others).
 */
export function childSpec(
  config: ParentConfig,
  id: number,
  runId: string,
  logDir: string,
): ChildSpec {
  return {
    id,
    clientId: childClientId(config, id, runId),
    servers: config.servers.map((_, i) => config.servers[(id + i) % config.servers.length]!),
    logDir,
    durationMs: config.durationMs,
    minIntervalMs: config.minIntervalMs,
    maxIntervalMs: config.maxIntervalMs,
    maxLikes: config.maxLikes,
    seed: childSeed(config.seed, id),
    protocol: config.protocol,
    ack: config.ack,
    connection: config.connection,
    retry: config.retry,
    replyTimeoutMs: config.replyTimeoutMs,
    drainMs: config.drainMs,
  };
}

/** The children of one run, started one by one. */
export class ChildRoster {
  readonly #config: ParentConfig;
  readonly #runId: string;
  readonly #logDir: string;
  readonly #log: Logger;
  readonly #spawn: (spec: ChildSpec) => RunningChild;
  readonly #children = new Map<number, RunningChild>();
  readonly #outcomes = new Map<number, ChildOutcome>();
  readonly #ended: Promise<void>[] = [];
  #exited = 0;

  /** `spawn` starts one child (a real process unless a test passes its own). */
  constructor(
    config: ParentConfig,
    run: { readonly runId: string; readonly logDir: string; readonly log: Logger },
    spawn: (spec: ChildSpec) => RunningChild = spawnChild,
  ) {
    this.#config = config;
    this.#runId = run.runId;
    this.#logDir = run.logDir;
    this.#log = run.log;
    this.#spawn = spawn;
  }

  /** The client id of every child of the run (the server is asked for these by name). */
  get clientIds(): string[] {
    return Array.from(
      { length: this.#config.children },
      (_, id) => childClientId(this.#config, id, this.#runId),
    );
  }

  /** Starts child `id`; one that cannot be started is recorded as never started. */
  start(id: number): void {
    const name = childName(id);
    const spec = childSpec(this.#config, id, this.#runId, this.#logDir);
    let child: RunningChild;
    try {
      child = this.#spawn(spec);
    } catch (error) {
      this.#log.error(`${name} could not be started: ${error}`);
      this.#outcomes.set(id, {
        name,
        clientId: spec.clientId,
        pid: null,
        exitCode: null,
        signal: null,
        generated: 0,
        acknowledged: 0,
        unanswered: 0,
        counted: null,
        runtimeMs: 0,
      });
      return;
    }
    this.#children.set(id, child);
    this.#log.info(`${name} started: pid ${child.pid}, client id ${spec.clientId}`);
    this.#ended.push(child.status.then((status) => this.#recordEnd(id, child, status)));
  }

  #recordEnd(id: number, child: RunningChild, status: Deno.CommandStatus): void {
    const name = childName(id);
    this.#exited++;
    const runtimeMs = Date.now() - child.startedAt;
    const how = status.signal
      ? `killed by ${status.signal} (exit code ${status.code})`
      : `exit code ${status.code}`;
    this.#log.info(
      `${name} ended: pid ${child.pid}, ${how}, ran ${(runtimeMs / 1000).toFixed(1)} s`,
    );
    if (status.code !== 0 && child.stderrTail().trim()) {
      this.#log.warn(`${name} stderr: ${child.stderrTail().trim()}`);
    }
    this.#outcomes.set(id, {
      name,
      clientId: child.spec.clientId,
      pid: child.pid,
      exitCode: status.code,
      signal: status.signal,
      generated: child.latest?.generated ?? 0,
      acknowledged: child.latest?.acknowledged ?? 0,
      unanswered: child.latest?.unanswered ?? 0,
      counted: null,
      runtimeMs,
    });
  }

  /** Children started, still running, and the likes they generated and had acknowledged. */
  totals(): { started: number; alive: number; generated: number; acknowledged: number } {
    let generated = 0, acknowledged = 0;
    for (const child of this.#children.values()) {
      generated += child.latest?.generated ?? 0;
      acknowledged += child.latest?.acknowledged ?? 0;
    }
    const started = this.#children.size;
    return { started, alive: started - this.#exited, generated, acknowledged };
  }

  /** Every child of the run as the live view shows it, started or not. */
  snapshots(): ChildSnapshot[] {
    return Array.from({ length: this.#config.children }, (_, id) => {
      const child = this.#children.get(id);
      const outcome = this.#outcomes.get(id);
      return {
        name: childName(id),
        clientId: childClientId(this.#config, id, this.#runId),
        pid: child?.pid ?? null,
        state: outcome ? "exited" : child ? "alive" : "waiting",
        exitCode: outcome?.exitCode ?? null,
        generated: child?.latest?.generated ?? 0,
        acknowledged: child?.latest?.acknowledged ?? 0,
        unanswered: child?.latest?.unanswered ?? 0,
      };
    });
  }

  /** How each child that was started (or failed to start) ended, by number. */
  outcomes(): ChildOutcome[] {
    return [...this.#outcomes.entries()].sort(([a], [b]) => a - b).map(([, o]) => o);
  }

  /** Resolves once every child started so far has ended. */
  allEnded(): Promise<void> {
    return Promise.all(this.#ended).then(() => {});
  }

  /**
   * Sends SIGTERM to every child, then SIGKILL to those still running `graceMs` later; resolves
   * once all have ended.
   */
  async stop(graceMs: number): Promise<void> {
    for (const child of this.#children.values()) child.kill("SIGTERM");
    const patience = new AbortController();
    const inTime = await Promise.race([
      this.allEnded().then(() => true),
      delay(graceMs, patience.signal).then(() => false),
    ]);
    patience.abort();
    if (!inTime) {
      this.#log.warn(
        `LikesServers still running ${graceMs / 1000} s after SIGTERM: sending SIGKILL`,
      );
      for (const child of this.#children.values()) child.kill("SIGKILL");
    }
    await this.allEnded();
  }
}
