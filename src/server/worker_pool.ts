/**
 * Starts K connection Workers on one port and stops them all (with `startListeningWorkers`,
 * which an overlay node's query Workers share): every Worker listens on the port with
 * `reusePort`, so the kernel spreads connections across them.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { StoreAttachment } from "../store/open_store.ts";
import { startListeningWorkers, stopWorker } from "../threads/listening_workers.ts";
import type { FromWorker, ToWorker, WorkerSettings } from "./worker_messages.ts";
import { replayReplyTimes } from "./reply_times.ts";

/** Settings for the pool; `port` may be 0; the Workers time replies when there is `onReplied`. */
export type PoolSettings = Omit<WorkerSettings, "reusePort" | "timeReplies">;

/** The shared state every Worker attaches: its view of the store, and the server's counters. */
export interface WorkerMemory {
  readonly store: StoreAttachment;
  /** The buffer of the server's `SharedCounters`. */
  readonly counters: SharedArrayBuffer;
}

/** Options for {@linkcode WorkerPool.start}. */
export interface WorkerPoolOptions {
  /** Called once if a Worker dies of an uncaught error after start-up. */
  readonly onFatal?: (error: Error) => void;
  /** How long to wait for a Worker to stop before terminating it, in ms. @default {10000} */
  readonly stopTimeoutMs?: number;
  /**
   * The Worker module (tests pass one that speaks the same messages and fails on purpose).
   * @default {connection_worker.ts}
   */
  readonly workerUrl?: string;
  /**
   * Told, on this thread, how long messages waited for their replies (the Workers time them only
   * when this is given, and post the times in batches). @default {none: nothing is timed}
   */
  readonly onReplied?: (ms: number, messages: number) => void;
}

const WORKER_URL = new URL("./connection_worker.ts", import.meta.url).href;

/** A running set of connection Workers sharing one port. */
export class WorkerPool implements AsyncDisposable {
  readonly #workers: Worker[];
  /** Workers that died: nobody waits for them to stop. */
  readonly #dead: Set<Worker>;
  readonly #port: number;
  readonly #stopTimeoutMs: number;
  #stopping: Promise<void> | undefined;

  private constructor(workers: Worker[], dead: Set<Worker>, port: number, stopTimeoutMs: number) {
    this.#workers = workers;
    this.#dead = dead;
    this.#port = port;
    this.#stopTimeoutMs = stopTimeoutMs;
  }

  /**
   * Starts `settings.workers` Workers and resolves once all of them listen.
   *
   * @throws The first Worker's start-up error (for example `Deno.errors.AddrInUse` or
   *   `Deno.errors.NotCapable`), after stopping the Workers already started.
   */
  static async start(
    memory: WorkerMemory,
    settings: PoolSettings,
    options: WorkerPoolOptions = {},
  ): Promise<WorkerPool> {
    const { onFatal = () => {}, stopTimeoutMs = 10_000, workerUrl = WORKER_URL, onReplied } =
      options;
    const dead = new Set<Worker>();
    const { workers, port } = await startListeningWorkers({
      url: workerUrl,
      count: settings.workers,
      hostname: settings.hostname,
      port: settings.port,
      what: "connection worker",
      name: (index) => `connections-${index}`,
      startMessage: (index, port, reusePort): ToWorker => ({
        kind: "start",
        index,
        store: memory.store,
        counters: memory.counters,
        settings: { ...settings, port, reusePort, timeReplies: onReplied !== undefined },
      }),
      ...(onReplied
        ? {
          onMessage: (_index: number, event: MessageEvent<FromWorker>) => {
            if (event.data.kind === "replied") replayReplyTimes(event.data.times, onReplied);
          },
        }
        : {}),
      onDeath: (index, worker, event) => {
        dead.add(worker);
        if (dead.size > 1) return; // the server is stopping already
        const error = new Error(`connection worker ${index} died: ${event.message}`);
        getLogger(["likes", "server", "lifecycle"]).error(error.message);
        onFatal(error);
      },
    });
    return new WorkerPool(workers, dead, port, stopTimeoutMs);
  }

  /** The port every Worker listens on. */
  get port(): number {
    return this.#port;
  }

  /**
   * Asks every Worker to stop accepting, answer what it read and flush its logs; terminates a
   * Worker that does not finish in time. Safe to call more than once.
   */
  stop(): Promise<void> {
    this.#stopping ??= Promise.all(this.#workers.map((w) => this.#stopOne(w))).then(() => {});
    return this.#stopping;
  }

  async #stopOne(worker: Worker): Promise<void> {
    if (this.#dead.has(worker)) {
      // It will never answer: what it had read is lost with it, and the others must not wait.
      worker.terminate();
      return;
    }
    await stopWorker(worker, this.#stopTimeoutMs);
  }

  /** Same as {@linkcode WorkerPool.stop}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
