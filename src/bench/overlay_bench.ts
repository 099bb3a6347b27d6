/**
 * `deno task bench --overlay`: the overlay at 10k, 100k and 1M keys, as five real node
 * processes. For each size: feed the keys (a quarter to each of B–E, as classic likes), time
 * until every replica holds them, measure gossip bytes at rest and with one like per second,
 * how long each of those likes takes to reach every replica, `get_all` through A, and each
 * node's peak memory. Printed by `overlay_report.ts`; nothing here is asserted.
 *
 * @module
 */

import { delay } from "../base/delay.ts";
import { PeerLink } from "../overlay/wire/frame_conn.ts";
import { askNode, nodeStats } from "../overlay/client/query_client.ts";
import type { NodeStats } from "../overlay/domain/messages.ts";
import {
  DATA_NODES,
  feedNewKeys,
  type OverlayCluster,
  startOverlayCluster,
} from "./overlay_cluster.ts";
import type { OverlayResult } from "./overlay_report.ts";

/** What one size's run does. */
export interface OverlayBenchOptions {
  /** Keys in all, spread evenly over B–E. */
  readonly keys: number;
  /** How long to measure gossip at rest, and how many likes (one a second) to send. */
  readonly seconds: number;
  /** How many times to ask `get_all`. */
  readonly getAllRuns: number;
  /** Called with a line saying what the run is doing. */
  readonly progress?: (line: string) => void;
}

/** The key of the `i`-th like fed to data node `n`: distinct across the cluster. */
export function benchKey(n: number, i: number): string {
  return `LikesServer${n * 10_000_000 + i}`;
}

/** Every node's `stats`. */
async function allStats(cluster: OverlayCluster): Promise<Map<string, NodeStats>> {
  const ids = [...cluster.config.nodes.keys()];
  const stats = await Promise.all(
    ids.map((id) => nodeStats("127.0.0.1", cluster.port(id), cluster.secret, 10_000)),
  );
  return new Map(ids.map((id, i) => [id, stats[i]!]));
}

/** Gossip bytes sent by every node together so far. */
async function gossipBytes(cluster: OverlayCluster): Promise<number> {
  let sum = 0;
  for (const stats of (await allStats(cluster)).values()) {
    sum += stats.gossip.bytesSent;
  }
  return sum;
}

/** The number of undirected links (gossip flows both ways on each). */
function linkCount(cluster: OverlayCluster): number {
  let edges = 0;
  for (const node of cluster.config.nodes.values()) edges += node.connections.length;
  return edges;
}

/** Polls every node until its replica holds `entries` rows and `total` likes; the time taken. */
async function untilConverged(
  cluster: OverlayCluster,
  entries: number,
  total: number,
  timeoutMs: number,
): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    const polledAt = performance.now();
    const all = await allStats(cluster);
    const done = [...all.values()].every(({ replica }) =>
      replica.entries === entries && replica.total === total
    );
    if (done) return performance.now() - started;
    // stats cost a pass over the replica (~40 ms at a million keys): leave the nodes at least
    // as long as a poll takes, so that polling does not slow what it measures.
    await delay(Math.max(20, performance.now() - polledAt));
  }
  throw new Error(`the replicas did not converge on ${entries} keys within ${timeoutMs} ms`);
}

/** Asks each node's replica (`local`) for `key` of `owner` until every one says `likes`. */
async function untilEveryReplicaHas(
  links: readonly PeerLink[],
  owner: string,
  key: string,
  likes: number,
  timeoutMs: number,
): Promise<number> {
  const started = performance.now();
  const pending = new Set(links);
  while (pending.size > 0) {
    if (performance.now() - started > timeoutMs) {
      throw new Error(`a like did not reach every replica within ${timeoutMs} ms`);
    }
    await Promise.all([...pending].map(async (link) => {
      const reply = await link.request({
        type: "query",
        verb: "get_by_key",
        params: [key],
        consistency: "local",
      }, 2000);
      const rows = (reply.results ?? []) as { key: string; node: string; likes: number }[];
      if (rows.some((row) => row.node === owner && row.likes === likes)) pending.delete(link);
    }));
  }
  return performance.now() - started;
}

/** One classic like for `key` to `port`, resolved once acknowledged. */
async function sendLike(port: number, key: string): Promise<void> {
  await feedNewKeys(port, 1, () => key);
}

/** Gets every row through A; the time taken, the rows and frames, and whether it was complete. */
async function getAll(cluster: OverlayCluster, keys: number) {
  let rows = 0;
  let frames = 0;
  const started = performance.now();
  const reply = await askNode({
    secret: cluster.secret,
    hostname: "127.0.0.1",
    port: cluster.port("A"),
    verb: "get_all",
    deadlineMs: 60_000,
    keepRows: false,
    onRows: (part) => {
      frames++;
      rows += part.length;
    },
  });
  const ms = performance.now() - started;
  rows += reply.results.length;
  const complete = reply.success && !reply.partial && rows === keys;
  return {
    ms,
    rows,
    frames,
    problem: complete ? null : `get_all: ${reply.message} (${rows} of ${keys} rows)`,
  };
}

/** Runs one size on a fresh cluster under `dir` (which it leaves for the caller to remove). */
export async function benchOverlay(
  dir: string,
  options: OverlayBenchOptions,
): Promise<OverlayResult> {
  const { keys, seconds, getAllRuns, progress = () => {} } = options;
  const perNode = Math.ceil(keys / DATA_NODES.length);
  await using cluster = await startOverlayCluster(dir, [`--max-clients=${perNode + 1000}`]);
  const links = linkCount(cluster);

  progress(`overlay ${keys} keys: feeding ${perNode} new keys to each of B–E`);
  const fedAt = performance.now();
  const counts = DATA_NODES.map((_, n) => Math.min(perNode, keys - n * perNode));
  await Promise.all(
    DATA_NODES.map((id, n) =>
      feedNewKeys(cluster.likesPort(id), counts[n]!, (i) => benchKey(n, i))
    ),
  );
  const feedMs = performance.now() - fedAt;
  progress(`overlay ${keys} keys: waiting for every replica`);
  const convergeMs = await untilConverged(cluster, keys, keys, 120_000);

  progress(`overlay ${keys} keys: gossip at rest for ${seconds} s`);
  await delay(1000); // the last deltas' acknowledgements
  const restFrom = await gossipBytes(cluster);
  const restAt = performance.now();
  await delay(seconds * 1000);
  const restBytes = await gossipBytes(cluster) - restFrom;
  const restSeconds = (performance.now() - restAt) / 1000;

  progress(`overlay ${keys} keys: one like a second for ${seconds} s`);
  // E is the farthest from A (E→C→B→A): its likes take the longest way.
  const e = DATA_NODES.indexOf("E");
  const key = benchKey(e, 0);
  const replicaLinks = [...cluster.config.nodes.keys()].map((id) =>
    new PeerLink({ hostname: "127.0.0.1", port: cluster.port(id), secret: cluster.secret })
  );
  const reachMs: number[] = [];
  let likeBytes = 0;
  let likeSeconds = 0;
  try {
    const likeFrom = await gossipBytes(cluster);
    const likeAt = performance.now();
    for (let like = 0; like < seconds; like++) {
      const sentAt = performance.now();
      await sendLike(cluster.likesPort("E"), key);
      reachMs.push(await untilEveryReplicaHas(replicaLinks, "E", key, 2 + like, 10_000));
      await delay(Math.max(0, 1000 - (performance.now() - sentAt)));
    }
    likeBytes = await gossipBytes(cluster) - likeFrom;
    likeSeconds = (performance.now() - likeAt) / 1000;
  } finally {
    for (const link of replicaLinks) link.close();
  }

  const getAllMs: number[] = [];
  let frames = 0;
  let note: string | null = null;
  for (let run = 0; run < getAllRuns; run++) {
    progress(`overlay ${keys} keys: get_all through A (${run + 1}/${getAllRuns})`);
    const got = await getAll(cluster, keys);
    getAllMs.push(got.ms);
    frames = got.frames;
    note ??= got.problem;
  }

  const peakRss: Record<string, number> = {};
  for (const [id, stats] of await allStats(cluster)) {
    peakRss[id] = stats.memory.peakRss;
  }
  return {
    keys,
    feedMs,
    convergeMs,
    getAllMs,
    frames,
    restBytesPerLinkSecond: restBytes / links / restSeconds,
    likeBytesPerLinkSecond: likeBytes / links / likeSeconds,
    reachMs,
    peakRss,
    note,
  };
}
