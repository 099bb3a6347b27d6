/**
 * The query engine in memory: five engines (A–E of the committed shape) joined by in-memory
 * links that call the next engine's `answerQuery` directly, passing its `rows` frames back
 * through the caller's handler as a socket would. No sockets, no Workers.
 */

import assert from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { parseClusterConfig } from "./cluster_config.ts";
import { NodeShared } from "./node_shared.ts";
import { type Row, ROWS_PER_FRAME } from "./query.ts";
import { answerQuery, type QueryContext, type QueryLink } from "./query_engine.ts";
import type { ReplicaEntry } from "./replica.ts";
import type { PeerStatus } from "./peer_health.ts";

const EDGES: Record<string, string[]> = { A: ["B"], B: ["C", "D"], C: ["E"], D: ["E"], E: [] };

const EDGES_IDS = Object.keys(EDGES);

const CONFIG = parseClusterConfig(JSON.stringify({
  processes: Object.fromEntries(
    Object.entries(EDGES).map(([id, connections], i) => [id, {
      host: "127.0.0.1",
      port: 7001 + i,
      connections,
      "data_subset": id,
      ...(id === "A" ? {} : { "likes_port": 7101 + i }),
    }]),
  ),
  overlay: ["AB", "BC", "BD", "CE", "DE"],
}));

/** `count` rows of `node`, keys `K<node>-0` …. */
function rowsOf(node: string, count: number, likes = 1): Row[] {
  return Array.from({ length: count }, (_, i) => ({ key: `K${node}-${i}`, node, likes }));
}

/** What a test changes about the links: edges that fail at once, edges that never answer. */
interface LinkFaults {
  readonly refused?: ReadonlySet<string>;
  readonly silent?: ReadonlySet<string>;
  /** Edges whose callee answers in full, but whose reply is lost on the way back. */
  readonly lostReply?: ReadonlySet<string>;
  /** What each node's heartbeats say of a neighbour, by edge (`"B→D"`); a test may change it. */
  readonly health?: ReadonlyMap<string, PeerStatus>;
}

/** Five engines joined by in-memory links. */
function memoryCluster(own: Record<string, Row[]>, faults: LinkFaults = {}) {
  /** The wall clock of every engine's cache: a test moves it. */
  const clock = { ms: 1_000_000 };
  const contexts = new Map<string, QueryContext>();
  /** Every call along an edge, as `"B→D"`. */
  const calls: string[] = [];
  /** `rows` frames each engine emitted. */
  const emitted = new Map<string, number>();
  /** Keys each `local` replica read was asked for (undefined: every row). */
  const replicaReads: (readonly string[] | undefined)[] = [];
  let rid = 1;
  const link = (from: string, to: string): QueryLink => ({
    request(message, timeoutMs, onRows, signal) {
      const edge = `${from}→${to}`;
      calls.push(edge);
      if (faults.refused?.has(edge)) {
        return Promise.reject(new Error(`cannot reach ${to}: Connection refused`));
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no reply from ${to} within ${timeoutMs} ms`)),
          timeoutMs,
        );
        signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(signal.reason);
        });
      });
      if (faults.silent?.has(edge)) return late;
      // As over a socket: the caller reads the next frame only once it has taken the last.
      let delivered: Promise<unknown> = Promise.resolve();
      const answer = answerQuery(contexts.get(to)!, { ...message, rid: rid++ }, (frame) => {
        emitted.set(to, (emitted.get(to) ?? 0) + 1);
        return delivered = delivered.then(() => onRows?.(frame));
      });
      // The reply comes after the frames sent before it, as on a socket.
      const replied = answer.then(async (reply) => {
        await delivered;
        if (faults.lostReply?.has(edge)) throw new Error(`the link to ${to} was reset`);
        return JSON.parse(JSON.stringify(reply)); // as it would arrive
      });
      return Promise.race([replied, late]).finally(() => clearTimeout(timer));
    },
  });
  for (const id of CONFIG.nodes.keys()) {
    contexts.set(id, {
      id,
      config: CONFIG,
      shared: NodeShared.create({ ttlMs: 10_000, capacityBytes: 1 << 20 }, [...EDGES_IDS]),
      deadlineMs: 2000,
      now: () => clock.ms,
      log: getLogger(["likes", "test"]),
      ownRows: () => own[id] ?? [],
      replica: (keys) => {
        replicaReads.push(keys);
        const entries: ReplicaEntry[] = Object.values(own).flat()
          .filter((row) => keys === undefined || keys.includes(row.key));
        return Promise.resolve({ entries, staleMs: {} });
      },
      link: (next) => link(id, next),
      ...(faults.health
        ? { peerStatus: (next: string) => faults.health!.get(`${id}→${next}`) ?? null }
        : {}),
    });
  }
  return {
    contexts,
    clock,
    calls,
    emitted,
    replicaReads,
    /** A client's query at `id`; its `rows` frames go to `onRows`. */
    ask: (
      id: string,
      message: Record<string, unknown>,
      onRows: (frame: Record<string, unknown>) => void | Promise<unknown> = () => {},
    ) => answerQuery(contexts.get(id)!, { type: "query", rid: 0, ...message }, onRows),
  };
}

const SMALL = {
  B: rowsOf("B", 2, 3),
  C: rowsOf("C", 2, 5),
  D: rowsOf("D", 1, 7),
  E: rowsOf("E", 3),
};

Deno.test("the diamond: E is asked by C and by D, answers both, and every row comes once", async () => {
  const cluster = memoryCluster(SMALL);
  const reply = await cluster.ask("A", { verb: "get_all" });
  assert.equal(reply.success, true);
  assert.equal(reply.partial, false);
  assert.deepEqual(reply.answered, ["A", "B", "C", "D", "E"]);
  assert.deepEqual(reply.missing, []);
  const results = reply.results as Row[];
  assert.equal(results.length, 8);
  assert.equal(new Set(results.map((r) => `${r.node}/${r.key}`)).size, 8);
  assert.equal(reply.total, 2 * 3 + 2 * 5 + 7 + 3);
  assert.deepEqual(cluster.calls.sort(), ["A→B", "B→C", "B→D", "C→E", "D→E"]);
  assert.equal(cluster.contexts.get("E")!.shared.count("repeats"), 1, "the second path counted");
});

Deno.test("the diamond is redundancy: the first path to E fails after E answered it, and E's rows come by the other", async () => {
  const cluster = memoryCluster(SMALL, { lostReply: new Set(["B→C"]) });
  const reply = await cluster.ask("A", { verb: "get_all" });
  assert.ok(cluster.calls.indexOf("C→E") < cluster.calls.indexOf("D→E"), "C reached E first");
  assert.deepEqual(reply.missing, ["C"]);
  assert.match((reply.problems as Record<string, string>).C!, /reset/);
  assert.deepEqual(reply.answered, ["A", "B", "D", "E"], "E through D");
  assert.deepEqual(
    (reply.results as Row[]).filter((row) => row.node === "E"),
    SMALL.E,
    "E's rows, once",
  );
  assert.equal(reply.total, 2 * 3 + 7 + 3);
});

Deno.test("the diamond, streamed: E's rows cut off on the first path are not passed as whole", async () => {
  const big = { ...SMALL, E: rowsOf("E", ROWS_PER_FRAME * 2) };
  const cluster = memoryCluster(big, { lostReply: new Set(["B→C"]) });
  const reply = await cluster.ask("A", { verb: "get_all" });
  assert.deepEqual(reply.missing, ["C", "E"]);
  assert.match(
    (reply.problems as Record<string, string>).E!,
    /^its rows came by way of C, which failed partway/,
  );
});

Deno.test("a query does not go back along its path, and a path through the node itself is refused", async () => {
  const cluster = memoryCluster(SMALL);
  const reply = await answerQuery(cluster.contexts.get("B")!, {
    type: "query",
    hop: true,
    verb: "get_all",
    path: ["A", "C"],
  });
  assert.equal(reply.success, true);
  assert.deepEqual(cluster.calls.sort(), ["B→D", "D→E"], "C is on the path: not asked");
  const loop = await answerQuery(cluster.contexts.get("B")!, {
    type: "query",
    hop: true,
    verb: "get_all",
    path: ["A", "B"],
  });
  assert.equal(loop.success, false);
  assert.match(String(loop.message), /already passed through B: a loop/);
  const long = await answerQuery(cluster.contexts.get("B")!, {
    type: "query",
    hop: true,
    verb: "get_all",
    path: Array.from({ length: 17 }, (_, i) => `N${i}`),
  });
  assert.match(String(long.message), /hop limit \(16\)/);
});

Deno.test("a refused edge names its node missing with the reason; E still answers through C", async () => {
  const cluster = memoryCluster(SMALL, { refused: new Set(["B→D"]) });
  const reply = await cluster.ask("A", { verb: "get_all" });
  assert.equal(reply.success, true);
  assert.equal(reply.partial, true);
  assert.deepEqual(reply.missing, ["D"]);
  assert.match((reply.problems as Record<string, string>).D!, /Connection refused/);
  assert.match(String(reply.message), /^PARTIAL: 4 of 5 nodes answered/);
  assert.ok((reply.results as Row[]).every((row) => row.node !== "D"));
  assert.ok((reply.results as Row[]).some((row) => row.node === "E"));
});

Deno.test("a silent edge runs out of time within the deadline, and the rest still comes back", async () => {
  const cluster = memoryCluster(SMALL, { silent: new Set(["B→C"]) });
  const started = performance.now();
  const reply = await cluster.ask("A", { verb: "get_all", "deadline_ms": 300 });
  assert.ok(performance.now() - started < 300, "answered before the client's deadline");
  assert.deepEqual(reply.missing, ["C"]);
  assert.match((reply.problems as Record<string, string>).C!, /^no reply from C within/);
  assert.deepEqual(reply.answered, ["A", "B", "D", "E"], "E through D");
});

Deno.test("a neighbour the heartbeats marked down is not asked: named missing at once, with since when", async () => {
  const health = new Map<string, PeerStatus>();
  const cluster = memoryCluster(SMALL, { silent: new Set(["B→D"]), health });
  const since = cluster.clock.ms - 500;
  health.set("B→D", { state: "down", since, lastHeard: since - 1500, downs: 1 });
  const reply = await cluster.ask("A", { verb: "get_all", "deadline_ms": 5000 });
  assert.deepEqual(reply.missing, ["D"]);
  assert.equal(
    (reply.problems as Record<string, string>).D,
    `down since ${new Date(since).toISOString()} (last heard 2.0 s ago)`,
  );
  assert.ok(!cluster.calls.includes("B→D"), "the silent D was not waited for");
  assert.deepEqual(reply.answered, ["A", "B", "C", "E"], "E through C");
});

Deno.test("a call in flight to a neighbour marked down meanwhile fails then, not at the deadline", async () => {
  const up: PeerStatus = { state: "up", since: 0, lastHeard: 999_900, downs: 0 };
  const health = new Map<string, PeerStatus>([["B→D", up]]);
  const cluster = memoryCluster(SMALL, { silent: new Set(["B→D"]), health });
  const asked = cluster.ask("A", { verb: "get_all", "deadline_ms": 5000 });
  await new Promise((resolve) => setTimeout(resolve, 100));
  health.set("B→D", { ...up, state: "down", since: cluster.clock.ms, downs: 1 });
  const reply = await asked;
  assert.deepEqual(reply.missing, ["D"]);
  assert.match(
    (reply.problems as Record<string, string>).D!,
    /^down since .* \(last heard 0\.1 s ago\)$/,
  );
});

Deno.test("a complete answer serves within the TTL while counts change; max_age_ms asks for fresher", async () => {
  const own = structuredClone(SMALL);
  const cluster = memoryCluster(own);
  const ask = (extra: Record<string, unknown> = {}) =>
    cluster.ask("A", { verb: "get_by_prefix", params: ["KB"], ...extra });
  const first = await ask();
  assert.equal(first.cached, false);
  const calls = cluster.calls.length;
  own.B[0] = { ...own.B[0]!, likes: own.B[0]!.likes + 10 }; // a like on B: A's answer is behind
  cluster.clock.ms += 4000;
  const again = await ask();
  assert.equal(again.cached, true, "within A's TTL (10 s) the entry serves, counts or not");
  assert.equal(again.cache_age_ms, 4000);
  assert.match(String(again.message), /from the cache \(4000 ms old\)/);
  assert.equal(cluster.calls.length, calls, "a hit asks no neighbour");
  assert.equal(again.total, first.total, "bounded staleness: the like is not in it yet");

  // Fresher than 3 s: every entry on the way is 4 s old, so every node reads its rows again.
  const fresher = await ask({ "max_age_ms": 3000 });
  assert.equal(fresher.cached, false);
  assert.equal(fresher.total, (first.total as number) + 10);
  assert.equal(cluster.calls.length, 2 * calls, "the max age travels with the query");
  assert.equal(cluster.contexts.get("A")!.shared.cacheStats().tooOld, 1);
  // 0: nothing from any cache, though every entry is fresh now.
  const none = await ask({ "max_age_ms": 0 });
  assert.equal(none.cached, false);
  assert.equal(cluster.calls.length, 3 * calls);

  // Past the TTL the entry expires.
  cluster.clock.ms += 10_001;
  own.B[0] = { ...own.B[0]!, likes: own.B[0]!.likes + 1 };
  const later = await ask();
  assert.equal(later.cached, false);
  assert.equal(later.total, (first.total as number) + 11);
  assert.ok(cluster.contexts.get("A")!.shared.cacheStats().expired >= 1);
});

Deno.test("an answer built from a neighbour's cached part is as old as that part", async () => {
  const cluster = memoryCluster(SMALL);
  await cluster.ask("B", { verb: "get_all" }); // B (and C, D, E) cache their answers
  cluster.clock.ms += 3000;
  const atA = await cluster.ask("A", { verb: "get_all" });
  assert.equal(atA.cached, true, "B's part came from its cache");
  assert.equal(atA.cache_age_ms, 3000);
  assert.match(String(atA.message), /cached parts up to 3000 ms old/);
  // A cached it 3 s old: with A's TTL of 10 s it serves 7 s more, not 10.
  cluster.clock.ms += 6999;
  assert.equal((await cluster.ask("A", { verb: "get_all" })).cache_age_ms, 9999);
  cluster.clock.ms += 2;
  const expired = await cluster.ask("A", { verb: "get_all" });
  assert.equal(expired.cached, false, "expired at A, and at B (stored 10 001 ms ago)");
});

Deno.test("local get_by_key reads only its keys from the replica, and asks no neighbour", async () => {
  const cluster = memoryCluster(SMALL);
  const reply = await cluster.ask("A", {
    verb: "get_by_key",
    params: ["KE-1", "KC-0"],
    consistency: "local",
  });
  assert.deepEqual(cluster.replicaReads, [["KE-1", "KC-0"]]);
  assert.deepEqual(cluster.calls, []);
  assert.deepEqual(reply.answered, ["A"]);
  assert.deepEqual((reply.results as Row[]).map((r) => `${r.node}/${r.key}`), ["C/KC-0", "E/KE-1"]);
});

Deno.test("a long answer streams in frames of at most ROWS_PER_FRAME, every row once, and each hop waits for its caller", async () => {
  const big = { ...SMALL, E: rowsOf("E", 8 * ROWS_PER_FRAME), C: rowsOf("C", ROWS_PER_FRAME + 1) };
  const cluster = memoryCluster(big);
  const seen = new Set<string>();
  let frames = 0;
  let takenFrames = 0;
  let mostWaiting = 0;
  let taken: Promise<unknown> = Promise.resolve();
  const reply = await cluster.ask("A", { verb: "get_all", "deadline_ms": 20_000 }, (frame) => {
    frames++;
    const rows = frame.rows as [string, number][];
    assert.ok(rows.length <= ROWS_PER_FRAME);
    for (const [key] of rows) seen.add(`${frame.owner}/${key}`);
    // Frames handed to the client that it has not taken yet: what the hops pushed ahead.
    mostWaiting = Math.max(mostWaiting, frames - takenFrames);
    // A slow client: each frame is taken only on a later turn of the event loop.
    return taken = new Promise((resolve) =>
      setTimeout(() => {
        takenFrames++;
        resolve(undefined);
      }, 0)
    );
  });
  await taken; // the answer may be ready before the client took the last frame
  const expected = Object.values(big).reduce((n, rows) => n + rows.length, 0);
  assert.equal(reply.success, true, String(reply.message));
  assert.equal(reply.partial, false);
  assert.equal(reply.streamed, expected);
  assert.equal(seen.size + (reply.results as Row[]).length, expected, "every row once");
  assert.ok(frames >= expected / ROWS_PER_FRAME, `${frames} frames`);
  assert.ok(
    mostWaiting <= 2,
    `the hops pushed at most a frame per path ahead of the client (${mostWaiting}), not all`,
  );
  assert.equal(cluster.contexts.get("A")!.shared.cacheStats().entries, 0, "streamed: not cached");
});
