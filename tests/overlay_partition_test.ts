/**
 * The overlay under real network faults: A and B in one network namespace, C, D and E each in
 * their own, joined by a bridge (`_netns.ts`); faults are nftables rules that **drop** packets
 * (connections stay half-open, nothing is refused) or SIGSTOP. With the default heartbeats and
 * gossip interval:
 *
 * - a partition {A, B} | {C, D, E}: queries at A answer within their deadline naming C, D and E
 *   missing ("down since …" once detected), `local` answers go on with growing staleness, and
 *   likes are counted on both sides; after the heal every replica converges by itself;
 * - a SIGSTOPped D is marked down, and up again after SIGCONT;
 * - one direction: B's replies to A dropped: A marks B down while B still hears A;
 * - C alone cut off: only C is missing; E answers through D.
 *
 * Detection and heal-to-converge times are printed (BENCHMARKS.md records them). Needs root,
 * `ip` and `nft`: elsewhere it is skipped with the reason printed.
 */

import assert from "node:assert/strict";
import { type ListeningProcess, startListening } from "../src/launch/processes.ts";
import { nodeArgs } from "../src/launch/node_command.ts";
import type { NodeStats } from "../src/overlay/domain/messages.ts";
import type { QueryReply } from "../src/overlay/client/query_client.ts";
import { nameIfSkipped, tempDir, until } from "./_helpers.ts";
import {
  addressOf,
  likesServerIn,
  makeSites,
  nft,
  type Probe,
  startProbe,
  whyNoNamespaces,
  writeSpreadCluster,
} from "./_netns.ts";

const reason = await whyNoNamespaces({ nft: true });
if (reason) {
  Deno.stderr.writeSync(new TextEncoder().encode(`overlay_partition_test skipped: ${reason}\n`));
}

type Site = "L" | "C" | "D" | "E";
const SITE_OF: Record<string, Site> = { A: "L", B: "L", C: "C", D: "D", E: "E" };
const ADDRESS: Record<Site, string> = {
  L: addressOf(1),
  C: addressOf(2),
  D: addressOf(3),
  E: addressOf(4),
};
const OWNERS = ["B", "C", "D", "E"];
const TABLE = "likes_fault";

/** An nftables table that drops packets coming in (`input`) or going out (`output`) that match. */
function dropping(rules: { input?: readonly string[]; output?: readonly string[] }): string {
  const chain = (hook: "input" | "output") =>
    [
      `  chain ${hook} {`,
      `    type filter hook ${hook} priority 0; policy accept;`,
      ...(rules[hook] ?? []).map((rule) => `    ${rule} drop`),
      "  }",
    ].join("\n");
  return `table inet ${TABLE} {\n${chain("input")}\n${chain("output")}\n}\n`;
}

/** Drops everything on `link`, both ways: a partition that leaves connections half-open. */
const cutOff = (link: string) =>
  dropping({ input: [`iifname "${link}"`], output: [`oifname "${link}"`] });

const say = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(`  ${line}\n`));

Deno.test({
  name: nameIfSkipped(
    "partitions, a stopped node, one-way loss and an isolated node: detected, reported, healed",
    reason,
  ),
  ignore: reason !== null,
  async fn(t) {
    await using dir = await tempDir("likes-partition-");
    await using sites = await makeSites(ADDRESS);
    const ns = (id: string) => sites.namespace[SITE_OF[id]!];
    const { config, secretFile, paths } = await writeSpreadCluster(
      dir.path,
      (id) => ADDRESS[SITE_OF[id]!],
    );
    const node = (id: string) => config.nodes.get(id)!;
    const processes = new Map<string, ListeningProcess>();
    const hosts = Object.values(ADDRESS);
    await using left = startProbe(sites.namespace.L, hosts, secretFile);
    await using atD = startProbe(sites.namespace.D, hosts, secretFile);
    try {
      for (const id of config.nodes.keys()) {
        processes.set(
          id,
          await startListening(
            `node ${id}`,
            nodeArgs(config, id, paths, { dir: `${dir.path}/${id}` }),
            { via: ["ip", "netns", "exec", ns(id)] },
          ),
        );
      }

      const stats = async (id: string, probe: Probe = left) => {
        const reply = await probe.stats(node(id).host, node(id).port);
        return "error" in reply ? null : reply as unknown as NodeStats;
      };
      const peerState = async (id: string, peer: string, probe: Probe = left) =>
        (await stats(id, probe))?.peers[peer]?.state;
      const askA = async (options: Record<string, unknown>) => {
        const started = performance.now();
        const reply = await left.ask({
          hostname: node("A").host,
          port: node("A").port,
          verb: "get_all",
          maxAgeMs: 0,
          ...options,
        }) as unknown as QueryReply & { error?: string };
        assert.equal(reply.error, undefined);
        return { reply, ms: performance.now() - started };
      };
      /** Likes from one LikesServer per owner in `owners`, each in its node's namespace. */
      const sendLikes = (owners: readonly string[]) =>
        Promise.all(owners.map((id) => likesServerIn(ns(id), node(id), `${dir.path}/${id}`)));
      /** True when every replica holds each owner's own count. */
      const converged = async () => {
        const all = await Promise.all([...config.nodes.keys()].map((id) => stats(id)));
        if (all.some((s) => s === null)) return false;
        const owners = Object.fromEntries(all.map((s) => [s!.node, s!.likes]));
        return all.every((s) => OWNERS.every((o) => (s!.replica.byNode[o] ?? 0) === owners[o]));
      };
      /** Waits till `check` holds; returns how long that took from `since`, in ms. */
      const timeUntil = async (what: string, since: number, check: () => Promise<boolean>) => {
        await until(what, check, 15_000);
        return Math.round(performance.now() - since);
      };

      await sendLikes(OWNERS);
      await until("every replica holds every like", converged, 15_000);

      await t.step("a partition {A, B} | {C, D, E}, then its heal", async () => {
        await nft(
          sites.namespace.L,
          cutOff(sites.link.L),
        );
        const cutAt = performance.now();
        // Before the heartbeats notice: the query waits, but not past its deadline.
        const first = await askA({ deadlineMs: 2000 });
        assert.ok(first.ms < 3000, `answered in ${first.ms} ms with a 2000 ms deadline`);
        assert.deepEqual(first.reply.missing, ["C", "D", "E"], first.reply.message);
        const detected = await timeUntil(
          "B marks C and D down",
          cutAt,
          async () =>
            (await peerState("B", "C")) === "down" && (await peerState("B", "D")) === "down",
        );
        say(`partition: B marked C and D down ${detected} ms after the cut`);
        const { reply, ms } = await askA({ deadlineMs: 2000 });
        assert.deepEqual(reply.missing, ["C", "D", "E"], reply.message);
        assert.match(reply.problems.C!, /^down since /);
        assert.match(reply.problems.D!, /^down since /);
        assert.ok(ms < 1000, `with C and D known down the query did not wait: ${ms} ms`);
        // Local answers go on, staler and staler; likes are counted on both sides.
        const local = async () =>
          (await askA({ verb: "total", consistency: "local" })).reply.stale_ms!;
        const before = await local();
        const acknowledged = await sendLikes(OWNERS);
        const after = await local();
        assert.ok(acknowledged.every((n) => n > 0), `acknowledged ${acknowledged}`);
        assert.ok(after.C! > before.C! + 300, `C's part grows staler: ${before.C} → ${after.C}`);
        assert.equal(await converged(), false, "the right side's new likes are not seen at A");

        await nft(sites.namespace.L, `delete table inet ${TABLE}\n`);
        const healedAt = performance.now();
        const tookMs = await timeUntil(
          "every replica converges after the heal",
          healedAt,
          converged,
        );
        say(`partition: every replica converged ${tookMs} ms after the heal (goal < 3000 ms)`);
        const upMs = await timeUntil(
          "B marks C and D up",
          healedAt,
          async () => (await peerState("B", "C")) === "up" && (await peerState("B", "D")) === "up",
        );
        say(`partition: B marked C and D up ${upMs} ms after the heal (probes back off to 1 s)`);
        const whole = await askA({});
        assert.equal(whole.reply.partial, false, whole.reply.message);
      });

      await t.step("a SIGSTOPped D is marked down, and up after SIGCONT", async () => {
        const d = processes.get("D")!;
        assert.ok(d.signal("SIGSTOP"));
        const stoppedAt = performance.now();
        try {
          const detected = await timeUntil(
            "B marks D down",
            stoppedAt,
            async () => (await peerState("B", "D")) === "down",
          );
          say(`SIGSTOP: B marked D down ${detected} ms after the stop`);
          const { reply } = await askA({});
          assert.deepEqual(reply.missing, ["D"], reply.message);
          assert.match(reply.problems.D!, /^down since /);
          assert.deepEqual(reply.answered, ["A", "B", "C", "E"], "E through C");
        } finally {
          d.signal("SIGCONT");
        }
        const contAt = performance.now();
        const back = await timeUntil(
          "B marks D up",
          contAt,
          async () => (await peerState("B", "D")) === "up",
        );
        say(`SIGCONT: B marked D up ${back} ms after it went on`);
      });

      await t.step("one direction: B's replies to A are dropped", async () => {
        // A and B share a namespace: their traffic goes over its loopback.
        await nft(
          sites.namespace.L,
          dropping({ output: [`oifname "lo" tcp sport ${node("B").port}`] }),
        );
        try {
          await timeUntil(
            "A marks B down",
            performance.now(),
            async () => (await peerState("A", "B")) === "down",
          );
          // Asked from D's namespace (not over L's loopback), B still hears A.
          const b = await stats("B", atD);
          assert.equal(b?.peers.A?.state, "up");
          assert.ok(Date.now() - b!.peers.A!.lastHeard! < 2000, "B heard A lately");
          const { reply } = await askA({});
          assert.deepEqual(reply.missing, ["B", "C", "D", "E"], reply.message);
          assert.match(reply.problems.B!, /^down since /);
        } finally {
          await nft(sites.namespace.L, `delete table inet ${TABLE}\n`);
        }
        await timeUntil(
          "A marks B up",
          performance.now(),
          async () => (await peerState("A", "B")) === "up",
        );
      });

      await t.step("C alone cut off: only C is missing, E answers through D", async () => {
        await nft(
          sites.namespace.C,
          cutOff(sites.link.C),
        );
        try {
          await timeUntil(
            "B marks C down",
            performance.now(),
            async () => (await peerState("B", "C")) === "down",
          );
          const { reply } = await askA({});
          assert.deepEqual(reply.missing, ["C"], reply.message);
          assert.deepEqual(reply.answered, ["A", "B", "D", "E"]);
          assert.ok(reply.results.some((row) => row.node === "E"), "E's rows came through D");
        } finally {
          await nft(sites.namespace.C, `delete table inet ${TABLE}\n`);
        }
        await timeUntil("every replica converges again", performance.now(), converged);
      });
    } finally {
      for (const process of processes.values()) await process.stop("SIGTERM");
    } // the namespaces go next (`sites`), every table left in them with them
  },
});
