/**
 * Failure detection for a node's links, as pure logic on an injected clock: every neighbour is
 * sent a heartbeat (a `ping` the neighbour answers) every `heartbeatMs`, and a heartbeat that
 * fails is retried at once on a new connection; one not heard from for `downAfterMs` is marked
 * **down** — a crashed, stopped, partitioned or half-open peer alike, since only an answer
 * counts — and then probed with backoff (from half a heartbeat, doubling, to `maxProbeMs`) until
 * it answers, when it is **up** again. The node's driver
 * (`node/peer_monitor.ts`) sends what {@linkcode PeerHealth.tick} says and reports each outcome.
 *
 * @module
 */

/** Time between heartbeats to each neighbour when not given, in ms. */
export const DEFAULT_HEARTBEAT_MS = 500;
/** Silence after which a neighbour is marked down when not given, in ms (the stated bound). */
export const DEFAULT_DOWN_AFTER_MS = 2000;
/** Longest wait between two probes of a neighbour that is down when not given, in ms. */
export const DEFAULT_MAX_PROBE_MS = 1000;
/** How often the health is looked at ({@linkcode PeerHealth.tick}) when not given, in ms. */
export const DEFAULT_TICK_MS = 50;

/** Whether a neighbour answers. */
export type PeerState = "up" | "down";

/** What a node knows of one neighbour's health. */
export interface PeerStatus {
  readonly state: PeerState;
  /** When it entered that state (ms since the epoch, by this node's clock). */
  readonly since: number;
  /** When it last answered, or null if it never has. */
  readonly lastHeard: number | null;
  /** How many times it has been marked down. */
  readonly downs: number;
}

/** Options for {@linkcode PeerHealth}. */
export interface PeerHealthOptions {
  readonly peers: readonly string[];
  /** @default {500} */
  readonly heartbeatMs?: number;
  /** @default {2000} */
  readonly downAfterMs?: number;
  /** @default {1000} */
  readonly maxProbeMs?: number;
  /** How often {@linkcode PeerHealth.tick} is called. @default {50} */
  readonly tickMs?: number;
  /** When watching starts: a neighbour gets `downAfterMs` from then to answer first. */
  readonly now: number;
}

/** What to do after a {@linkcode PeerHealth.tick}. */
export interface HealthTick {
  /** Neighbours to send a heartbeat (or a probe) now; report each with answered/failed. */
  readonly ask: string[];
  /** Neighbours just marked down (drop their connections: they may be half-open). */
  readonly down: string[];
}

interface Tracked {
  state: PeerState;
  since: number;
  lastHeard: number | null;
  downs: number;
  asking: boolean;
  nextAsk: number;
  backoff: number;
  /** Silence is counted from here at the earliest: the node's own last stall. */
  graceFrom: number;
}

/**
 * The health of a node's neighbours.
 *
 * @example
 * ```ts
 * import { PeerHealth } from "./peer_health.ts";
 * import assert from "node:assert/strict";
 * const health = new PeerHealth({ peers: ["B"], now: 0 });
 * assert.deepEqual(health.tick(0), { ask: ["B"], down: [] });
 * health.answered("B", 10);
 * let at = 10;
 * while (health.tick(at).down.length === 0) at += 100; // ticks come often
 * assert.equal(at, 2110); // silent for more than 2 s: down (and probed)
 * health.answered("B", at + 5);
 * assert.equal(health.status("B").state, "up");
 * ```
 */
export class PeerHealth {
  readonly #peers = new Map<string, Tracked>();
  readonly #heartbeatMs: number;
  readonly #downAfterMs: number;
  readonly #maxProbeMs: number;
  /** A gap between ticks longer than this is a stall of this node's own. */
  readonly #stallMs: number;
  #lastTick: number;

  /** Starts watching `peers`, every one up. */
  constructor(options: PeerHealthOptions) {
    this.#heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.#downAfterMs = options.downAfterMs ?? DEFAULT_DOWN_AFTER_MS;
    this.#maxProbeMs = options.maxProbeMs ?? DEFAULT_MAX_PROBE_MS;
    this.#stallMs = Math.max(this.#heartbeatMs, 4 * (options.tickMs ?? DEFAULT_TICK_MS));
    this.#lastTick = options.now;
    for (const peer of options.peers) {
      this.#peers.set(peer, {
        state: "up",
        since: options.now,
        lastHeard: null,
        downs: 0,
        asking: false,
        nextAsk: options.now,
        backoff: this.#heartbeatMs / 2,
        graceFrom: options.now,
      });
    }
  }

  /** How long silence lasts before a neighbour is marked down, in ms. */
  get downAfterMs(): number {
    return this.#downAfterMs;
  }

  /**
   * Marks down every neighbour silent for longer than `downAfterMs` at `now`, and says whom to
   * ask (each neighbour has at most one heartbeat in flight). Ticks are expected every `tickMs`:
   * a gap longer than a heartbeat (and than four ticks) means this node itself stalled (a busy
   * event loop cannot read answers), so silence is counted afresh from then, not blamed on the
   * neighbours.
   */
  tick(now: number): HealthTick {
    const ask: string[] = [], down: string[] = [];
    const stalled = now - this.#lastTick > this.#stallMs;
    this.#lastTick = now;
    for (const [peer, tracked] of this.#peers) {
      if (stalled) tracked.graceFrom = now;
      const silentSince = Math.max(tracked.lastHeard ?? tracked.since, tracked.graceFrom);
      if (tracked.state === "up" && now - silentSince > this.#downAfterMs) {
        tracked.state = "down";
        tracked.since = now;
        tracked.downs++;
        tracked.backoff = this.#heartbeatMs / 2;
        tracked.asking = false; // the heartbeat in flight went on a connection given up
        tracked.nextAsk = now;
        down.push(peer);
      }
      if (!tracked.asking && now >= tracked.nextAsk) {
        tracked.asking = true;
        ask.push(peer);
      }
    }
    return { ask, down };
  }

  /** `peer` answered at `now`; true when that brings it back up. */
  answered(peer: string, now: number): boolean {
    const tracked = this.#tracked(peer);
    tracked.asking = false;
    tracked.lastHeard = now;
    tracked.nextAsk = now + this.#heartbeatMs;
    if (tracked.state === "up") return false;
    tracked.state = "up";
    tracked.since = now;
    return true;
  }

  /** How long to wait for the answer to one heartbeat: half the silence that marks down. */
  get pingTimeoutMs(): number {
    return this.#downAfterMs / 2;
  }

  /**
   * A heartbeat or probe to `peer` failed at `now` (no answer in time, or no connection). A
   * neighbour still up is asked again soon, on a new connection (the old one may be half-open,
   * or stuck behind a busy thread of the neighbour): it is marked down only when that fails too.
   */
  failed(peer: string, now: number): void {
    const tracked = this.#tracked(peer);
    tracked.asking = false;
    if (tracked.state === "up") {
      tracked.nextAsk = now + this.#heartbeatMs / 5;
      return;
    }
    tracked.nextAsk = now + tracked.backoff;
    tracked.backoff = Math.min(this.#maxProbeMs, tracked.backoff * 2);
  }

  /** What is known of `peer` now. */
  status(peer: string): PeerStatus {
    const { state, since, lastHeard, downs } = this.#tracked(peer);
    return { state, since, lastHeard, downs };
  }

  /** Every neighbour's status, by id. */
  statuses(): Map<string, PeerStatus> {
    return new Map([...this.#peers.keys()].map((peer) => [peer, this.status(peer)]));
  }

  #tracked(peer: string): Tracked {
    const tracked = this.#peers.get(peer);
    if (!tracked) throw new RangeError(`${JSON.stringify(peer)} is not a watched neighbour`);
    return tracked;
  }
}

/**
 * How a query or a log line names a neighbour that is down: when, and when it last answered.
 *
 * @example
 * ```ts
 * import { describeDown } from "./peer_health.ts";
 * import assert from "node:assert/strict";
 * const status = { state: "down", since: 1_700_000_002_000, lastHeard: 1_700_000_000_400, downs: 1 } as const;
 * assert.equal(
 *   describeDown(status, 1_700_000_003_000),
 *   "down since 2023-11-14T22:13:22.000Z (last heard 2.6 s ago)",
 * );
 * ```
 */
export function describeDown(status: PeerStatus, now: number): string {
  const heard = status.lastHeard === null
    ? "never heard"
    : `last heard ${((now - status.lastHeard) / 1000).toFixed(1)} s ago`;
  return `down since ${new Date(status.since).toISOString()} (${heard})`;
}

/**
 * A node's neighbours in one line, as the live view shows them: each one's state and when it
 * last answered.
 *
 * @example
 * ```ts
 * import { describeNeighbours } from "./peer_health.ts";
 * import assert from "node:assert/strict";
 * const up = { state: "up", since: 0, lastHeard: 9_800, downs: 0 } as const;
 * assert.equal(describeNeighbours({ C: up }, 10_000), "C up (heard 0.2 s ago)");
 * ```
 */
export function describeNeighbours(
  statuses: Readonly<Record<string, PeerStatus>>,
  now: number,
): string {
  return Object.entries(statuses).sort(([a], [b]) => a < b ? -1 : 1).map(([id, status]) =>
    status.state === "down"
      ? `${id} ${describeDown(status, now)}`
      : `${id} up (${
        status.lastHeard === null
          ? "not heard yet"
          : `heard ${((now - status.lastHeard) / 1000).toFixed(1)} s ago`
      })`
  ).join(" · ");
}
