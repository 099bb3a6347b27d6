/**
 * Load for the power-loss tests: keyed and classic clients that send likes one at a time over
 * their own connections, remember exactly what was acknowledged (and when), reconnect after the
 * server dies, and can be parked while the test cuts the power and checks the counts.
 *
 * Keyed client `n` sends seq `s` with {@linkcode keyedLikes}`(n, s)` likes (1–9, so a count
 * tells which seqs were counted); classic client `n` sends `LikesServer<n> <likes>`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { LineClient } from "../src/protocol/line_client.ts";
import { fetchStats } from "../src/protocol/stats_client.ts";

/** The likes keyed seq `seq` of keyed client number `index` carries: 1 to 9. */
export function keyedLikes(index: number, seq: number): number {
  return 1 + (seq * 7 + index) % 9;
}

/** The likes of seqs 1..`seq` of keyed client `index`. */
export function keyedPrefix(index: number, seq: number): number {
  let sum = 0;
  for (let s = 1; s <= seq; s++) sum += keyedLikes(index, s);
  return sum;
}

/** The seq whose prefix equals `count`, or -1 when no prefix does (a seq counted twice or half). */
export function seqOfCount(index: number, count: number): number {
  let sum = 0;
  for (let s = 0;; s++) {
    if (sum === count) return s;
    if (sum > count) return -1;
    sum += keyedLikes(index, s + 1);
  }
}

/** How a client's run stands, read while it is parked. */
interface Gate {
  paused: boolean;
  stopped: boolean;
  resume: Promise<void>;
}

abstract class LoadClient {
  readonly name: string;
  readonly index: number;
  /** Replies that were neither an ACK nor expected. */
  readonly surprises: string[] = [];
  parked = true;
  protected readonly gate: Gate;
  readonly #port: number;

  constructor(name: string, index: number, port: number, gate: Gate) {
    this.name = name;
    this.index = index;
    this.#port = port;
    this.gate = gate;
  }

  /** The next request line. */
  protected abstract nextLine(): string;
  /** Handles the reply to the line sent; false ends the client. */
  protected abstract onReply(reply: string): boolean;

  async run(): Promise<void> {
    while (!this.gate.stopped) {
      if (this.gate.paused) {
        this.parked = true;
        await this.gate.resume;
        continue;
      }
      this.parked = false;
      let client: LineClient;
      try {
        client = await LineClient.connect({
          port: this.#port,
          connectTimeoutMs: 500,
          replyTimeoutMs: 5000,
        });
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      try {
        while (!this.gate.paused && !this.gate.stopped) {
          if (!this.onReply(await client.request(this.nextLine()))) return;
        }
      } catch {
        // The server died: reconnect (after the test let us).
      } finally {
        client.close();
      }
    }
    this.parked = true;
  }
}

/** A keyed client: resends its first unacknowledged seq after every failure. */
export class KeyedClient extends LoadClient {
  /** The highest seq acknowledged (all before it were). */
  acked = 0;
  /** The highest seq sent. */
  sent = 0;
  /** When each seq was acknowledged (performance.now()). */
  readonly ackedAt: number[] = [];

  protected nextLine(): string {
    const seq = this.acked + 1;
    this.sent = Math.max(this.sent, seq);
    return `LIKE ${this.name} ${seq} ${keyedLikes(this.index, seq)}`;
  }

  protected onReply(reply: string): boolean {
    const seq = this.acked + 1;
    if (reply.startsWith(`ACK seq=${seq} `)) {
      this.acked = seq;
      this.ackedAt[seq] = performance.now();
      return true;
    }
    this.surprises.push(reply);
    return false;
  }

  /** The server durably holds seqs 1..`seq`: continue from there (after a loss, or a dup). */
  rewindTo(seq: number): void {
    this.acked = seq;
    this.sent = seq;
  }
}

/** A classic client: one like message after another; a failed one is not resent. */
export class ClassicClient extends LoadClient {
  /** Likes acknowledged, and likes sent (acknowledged or not). */
  acked = 0;
  sent = 0;
  #likes = 0;

  protected nextLine(): string {
    this.#likes = 1 + (this.sent + this.index) % 5;
    this.sent += this.#likes;
    return `${this.name} ${this.#likes}`;
  }

  protected onReply(reply: string): boolean {
    if (reply === "ACK") {
      this.acked += this.#likes;
      return true;
    }
    this.surprises.push(reply);
    return false;
  }

  /** The server holds `count` likes of this client: continue from there. */
  resetTo(count: number): void {
    this.acked = count;
    this.sent = count;
  }
}

/** Many clients against one port, parked together while the test works on the server. */
export class Load {
  readonly keyed: KeyedClient[] = [];
  readonly classic: ClassicClient[] = [];
  readonly #gate: Gate;
  #open: () => void = () => {};
  readonly #runs: Promise<void>[];

  /** Starts `keyed` keyed and `classic` classic clients against `port`, parked. */
  constructor(port: number, options: { keyed: number; classic: number; tag: string }) {
    this.#gate = { paused: true, stopped: false, resume: Promise.resolve() };
    this.#close();
    for (let i = 0; i < options.keyed; i++) {
      this.keyed.push(new KeyedClient(`${options.tag}-k${i}`, i, port, this.#gate));
    }
    for (let i = 0; i < options.classic; i++) {
      this.classic.push(new ClassicClient(`LikesServer${900 + i}`, i, port, this.#gate));
    }
    this.#runs = [...this.keyed, ...this.classic].map((c) => c.run());
  }

  #close(): void {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#gate.resume = promise;
    this.#open = resolve;
  }

  /** Every client's name. */
  get names(): string[] {
    return [...this.keyed, ...this.classic].map((c) => c.name);
  }

  /** Lets the clients send. */
  resume(): void {
    this.#gate.paused = false;
    this.#open();
  }

  /** Stops the clients after the request each has in flight; resolves once all are parked. */
  async pause(timeoutMs = 10_000): Promise<void> {
    if (!this.#gate.paused) {
      this.#gate.paused = true;
      this.#close();
    }
    const deadline = Date.now() + timeoutMs;
    while (![...this.keyed, ...this.classic].every((c) => c.parked)) {
      if (Date.now() > deadline) throw new Error("load clients did not park");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /**
   * Compares a (restarted) server's counts with what the parked clients saw, then resyncs the
   * clients to those counts. Fails on a keyed count that is no sum of whole seqs (a seq counted
   * twice or in part) and on any count above what was sent; returns what was lost of what was
   * acknowledged, and for each lost keyed seq how long before `killedAt` it was acknowledged.
   */
  async check(
    port: number,
    killedAt: number,
    what: string,
  ): Promise<{ lostLikes: number; lostAckAgesMs: number[] }> {
    const counts = (await fetchStats({ port }, this.names)).clients;
    let lostLikes = 0;
    const lostAckAgesMs: number[] = [];
    for (const client of this.keyed) {
      const count = counts[client.name] ?? 0;
      const seq = seqOfCount(client.index, count);
      assert.notEqual(seq, -1, `${what}: ${client.name} counted ${count}: no sum of whole seqs`);
      assert.ok(seq <= client.sent, `${what}: ${client.name} counted seq ${seq} of ${client.sent}`);
      for (let lost = seq + 1; lost <= client.acked; lost++) {
        lostLikes += keyedLikes(client.index, lost);
        lostAckAgesMs.push(killedAt - client.ackedAt[lost]!);
      }
      client.rewindTo(seq);
    }
    for (const client of this.classic) {
      const count = counts[client.name] ?? 0;
      assert.ok(count <= client.sent, `${what}: ${client.name} counted ${count} of ${client.sent}`);
      lostLikes += Math.max(0, client.acked - count);
      client.resetTo(count);
    }
    return { lostLikes, lostAckAgesMs };
  }

  /** Likes acknowledged so far, over every client. */
  get acknowledged(): number {
    return this.keyed.reduce((sum, c) => sum + keyedPrefix(c.index, c.acked), 0) +
      this.classic.reduce((sum, c) => sum + c.acked, 0);
  }

  /** Ends every client (parked ones at once). */
  async stop(): Promise<void> {
    this.#gate.stopped = true;
    this.#open();
    await Promise.all(this.#runs);
  }
}
