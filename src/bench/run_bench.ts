/**
 * `deno task bench`: runs every case against a freshly started server, prints the table, and
 * optionally writes the results as JSON. Exit 0 only if every server's total equals the likes
 * its clients saw acknowledged.
 *
 * @module
 */

import {
  type Flag,
  formatUsage,
  parseFlags,
  parseSeconds,
  printUsage,
  UsageError,
} from "../cli/flags.ts";
import { ERASE_LINE } from "../base/terminal_line.ts";
import { forEachText } from "../launch/child_process.ts";
import { delay } from "../base/delay.ts";
import { type BenchCase, benchCases, serverLabel } from "./cases.ts";
import { generateLoad, holdIdleConnections } from "./load_generator.ts";
import { ensureReferenceTools, TOOLS_DIR } from "./reference_tools.ts";
import { redisMissing } from "../launch/redis_process.ts";
import { formatGoals } from "./goals.ts";
import { formatRedisHaCost } from "./redis_ha_cost.ts";
import { formatTelemetryCost } from "./telemetry_cost.ts";
import { formatFloorShare } from "./floor_share.ts";
import { defaultWorkers } from "../server/server_defaults.ts";
import { OtlpReceiver } from "../telemetry/otlp_receiver.ts";
import { type CaseResult, formatResults } from "./report.ts";
import { benchOverlay } from "./overlay_bench.ts";
import { formatOverlayResults, type OverlayResult } from "./overlay_report.ts";
import {
  startFloorTarget,
  startIdealTarget,
  startLikesRedisTarget,
  startLikesTarget,
  startRedisTarget,
  type Target,
} from "./targets.ts";

const FLAGS: Flag[] = [
  {
    name: "quick",
    type: "boolean",
    help: "the short set: fewer cases, 1.5 s each (under a minute)",
  },
  {
    name: "duration",
    type: "string",
    value: "SECONDS",
    help: "measured time per case (default 5, quick 1.5)",
  },
  { name: "json", type: "string", value: "FILE", help: "also write the results as JSON to FILE" },
  {
    name: "only",
    type: "string",
    value: "TEXT",
    help: "run only the cases whose id contains TEXT",
  },
  {
    name: "no-reference",
    type: "boolean",
    help: "skip the C reference tools (likesload, idealsrv; built into .tools/ with gcc)",
  },
  { name: "no-redis", type: "boolean", help: "skip Redis even if redis-server is installed" },
  {
    name: "overlay",
    type: "boolean",
    help:
      "instead, the overlay: five node processes at 10k, 100k and 1M keys (about 70 s; quick: 10k and 100k)",
  },
  {
    name: "keys",
    type: "string",
    value: "N,N,…",
    help: "with --overlay: the sizes to run (default 10000,100000,1000000)",
  },
];

/** The `--help` text. */
export function benchUsage(): string {
  return formatUsage(
    "deno task bench",
    "Measures the PrimaryLikesServer (and Redis, when redis-server is installed) under load from a\n" +
      "Deno load generator: messages/s, likes/s, latency percentiles, peak memory, and whether the\n" +
      "server's total equals the likes acknowledged. Each case gets a fresh server.",
    FLAGS,
  );
}

const encoder = new TextEncoder();

function progress(line: string): void {
  const tty = Deno.stderr.isTerminal();
  Deno.stderr.writeSync(encoder.encode(tty ? `${ERASE_LINE}${line}` : `${line}\n`));
}

/** Paths of the built reference tools, when the run uses them. */
type ToolPaths = { readonly likesload: string; readonly idealsrv: string } | undefined;

/** What starting a case's server needs besides the case. */
interface TargetContext {
  readonly dir: string;
  readonly tools: ToolPaths;
  /** Where the cases with telemetry on export to. */
  readonly otlp: OtlpReceiver;
}

async function startTarget(c: BenchCase, { dir, tools, otlp }: TargetContext): Promise<Target> {
  // "default" is the server's own default, so that the bench measures what a user runs.
  const workers = defaultWorkers(navigator.hardwareConcurrency || 1);
  switch (c.server.kind) {
    case "likes":
      return await startLikesTarget({
        dir,
        workers: c.server.workers === 1 ? 1 : workers,
        fsync: c.server.fsync,
        // Metrics every second, as an operator might collect them.
        ...(c.server.otel ? { env: otlp.env("likes-bench", 1000) } : {}),
      });
    case "redis":
      return await startRedisTarget({ dir, persistence: c.server.persistence });
    case "ideal":
      return await startIdealTarget(tools!.idealsrv);
    case "floor":
      return await startFloorTarget({ workers });
    case "likes-redis":
      return await startLikesRedisTarget({
        dir,
        workers,
        primaries: c.server.primaries,
        ...(c.server.ha ? { ha: c.server.ha } : {}),
      });
  }
}

/** Samples a target's memory every 250 ms; `stop()` returns the peak. */
function sampleMemory(target: Target): { stop: () => Promise<number | null> } {
  let peak: number | null = null;
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const rss = await target.rss();
        if (rss !== null) peak = Math.max(peak ?? 0, rss);
      } catch {
        // A busy server may time out a sample; the next one counts.
      }
      await delay(250);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return peak;
    },
  };
}

async function runLikesload(c: BenchCase, port: number, durationMs: number, likesload: string) {
  const args = [
    "--port",
    String(port),
    "--mode",
    c.mode,
    "--clients",
    String(c.clients),
    "--duration",
    String(durationMs / 1000),
    "--likes",
    "random",
    ...(c.depth ? ["--depth", String(c.depth)] : []),
    // Redis the same way as our Deno driver drives it: INCRBY, and ":<total>" for an ACK.
    ...(c.protocol === "redis" ? ["--format", "INCRBY likes %l\\r\\n", "--ack-prefix", ":"] : []),
  ];
  const child = new Deno.Command(likesload, {
    args,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let out = "";
  const [status] = await Promise.all([child.status, forEachText(child.stdout, (t) => (out += t))]);
  const json = JSON.parse(out.trim().split("\n").at(-1) || "{}");
  if (!status.success && json.acked === undefined) {
    throw new Error(`likesload failed (exit ${status.code})`);
  }
  const l = json.latency_us ?? {};
  return {
    messagesPerSecond: Number(json.throughput_rps ?? 0),
    likesPerSecond: Number(json.acked_likes_sum ?? 0) /
      (Number(json.elapsed_s) || durationMs / 1000),
    latency: {
      count: Number(l.n ?? 0),
      mean: Number(l.mean ?? 0) / 1000,
      p50: Number(l.p50 ?? 0) / 1000,
      p99: Number(l.p99 ?? 0) / 1000,
      p999: Number(l.p999 ?? 0) / 1000,
      max: Number(l.max ?? 0) / 1000,
    },
    acknowledgedLikes: Number(json.acked_likes_sum ?? 0),
    failures: Number(json.failed ?? 0) + Number(json.timeouts ?? 0),
    errors: Number(json.err ?? 0),
  };
}

async function runCase(
  c: BenchCase,
  durationMs: number,
  warmupMs: number,
  tools: ToolPaths,
  otlp: OtlpReceiver,
): Promise<CaseResult> {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "likes-bench-" });
  const target = await startTarget(c, { dir, tools, otlp });
  try {
    if (c.mode === "idle") {
      const before = await target.rss();
      const held = await holdIdleConnections(target.port, c.clients);
      await delay(1000);
      const after = await target.rss();
      const answers = await target.total().then(() => true, () => false);
      held.release();
      const perConnection = before !== null && after !== null
        ? (after - before) / held.opened
        : null;
      return {
        case: c,
        messagesPerSecond: null,
        likesPerSecond: null,
        latency: null,
        peakRss: after,
        acknowledgedLikes: 0,
        serverTotal: 0,
        totalOk: answers && held.opened === c.clients,
        failures: c.clients - held.opened,
        errors: 0,
        note: answers ? null : "the server did not answer STATS with the connections open",
        rssPerConnection: perConnection,
      };
    }
    const memory = sampleMemory(target);
    const load = c.driver === "likesload"
      ? await runLikesload(c, target.port, durationMs, tools!.likesload)
      : await generateLoad({
        port: target.port,
        ...(target.ports ? { ports: target.ports } : {}),
        mode: c.mode,
        clients: c.clients,
        ...(c.depth ? { depth: c.depth } : {}),
        durationMs,
        warmupMs,
        protocol: c.protocol,
      });
    const peakRss = await memory.stop();
    const serverTotal = await target.total();
    const failed = load.failures > 0 || load.errors > 0;
    return {
      case: c,
      messagesPerSecond: load.messagesPerSecond,
      likesPerSecond: load.likesPerSecond,
      latency: load.latency,
      peakRss,
      acknowledgedLikes: load.acknowledgedLikes,
      serverTotal,
      totalOk: serverTotal === null || serverTotal === load.acknowledgedLikes,
      failures: load.failures,
      errors: load.errors,
      note: failed
        ? `${load.failures} client failure(s), ${load.errors} error repl(ies)${
          "firstFailure" in load && load.firstFailure ? `: ${load.firstFailure}` : ""
        }`
        : serverTotal === null || serverTotal === load.acknowledgedLikes
        ? null
        : `server total ${serverTotal} ≠ ${load.acknowledgedLikes} likes acknowledged`,
      rssPerConnection: null,
    };
  } finally {
    await target.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * The overlay's sizes from `--keys` (or the default set).
 *
 * @throws {UsageError} If a size is not a whole number from 4 to 4,000,000.
 */
export function overlaySizes(text: string | undefined, quick: boolean): number[] {
  if (text === undefined) return quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];
  return text.split(",").map((part) => {
    const keys = Number(part);
    if (!Number.isInteger(keys) || keys < 4 || keys > 4_000_000) {
      throw new UsageError(
        `--keys: ${JSON.stringify(part)} is not a whole number from 4 to 4000000`,
      );
    }
    return keys;
  });
}

/** `--overlay`: each size on a fresh cluster, then the table; exit 0 if every answer was complete. */
async function runOverlayBench(sizes: readonly number[], quick: boolean): Promise<number> {
  const started = Date.now();
  const results: OverlayResult[] = [];
  for (const keys of sizes) {
    const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "likes-bench-overlay-" });
    try {
      results.push(
        await benchOverlay(dir, {
          keys,
          seconds: quick ? 3 : 5,
          getAllRuns: keys >= 1_000_000 ? 3 : 5,
          progress,
        }),
      );
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }
  if (Deno.stderr.isTerminal()) Deno.stderr.writeSync(encoder.encode("\n"));
  const machine =
    `${navigator.hardwareConcurrency} CPU(s), Deno ${Deno.version.deno}, ${Deno.build.os}/${Deno.build.arch}`;
  Deno.stdout.writeSync(encoder.encode(formatOverlayResults(results)));
  Deno.stdout.writeSync(
    encoder.encode(`\n${machine}; ${((Date.now() - started) / 1000).toFixed(0)} s in all\n`),
  );
  return results.every((r) => r.note === null) ? 0 : 1;
}

/** Runs the benchmark with `args`; resolves to the exit code. */
export async function runBench(args: readonly string[]): Promise<number> {
  const { strings: s, booleans: b } = parseFlags(args, FLAGS);
  if (b.help) return await printUsage(benchUsage());
  const quick = b.quick ?? false;
  if (s.keys !== undefined && !b.overlay) throw new UsageError("--keys goes with --overlay");
  if (b.overlay) return await runOverlayBench(overlaySizes(s.keys, quick), quick);
  const durationMs = s.duration
    ? parseSeconds("duration", s.duration, { min: 0.2, max: 600 })
    : quick
    ? 1500
    : 5000;
  const warmupMs = quick ? 300 : 1000;
  const redis = !b["no-redis"] && redisMissing() === null;
  const reference = b["no-reference"] ? null : await ensureReferenceTools();
  const tools = reference?.ok ? reference : undefined;
  let cases = benchCases({ quick, redis, reference: tools !== undefined });
  if (s.only) cases = cases.filter((c) => c.id.includes(s.only!));
  const started = Date.now();
  progress(
    `bench: ${cases.length} case(s), ${durationMs / 1000} s each${
      redis ? ", with Redis" : ", Redis not installed"
    }${
      reference === null
        ? ""
        : reference.ok
        ? `, reference tools in ${TOOLS_DIR}`
        : `, reference tools skipped (${reference.reason})`
    }`,
  );
  if (Deno.stderr.isTerminal()) Deno.stderr.writeSync(encoder.encode("\n"));
  const results: CaseResult[] = [];
  await using otlp = OtlpReceiver.start({ keep: false });
  for (const [i, c] of cases.entries()) {
    progress(`bench [${i + 1}/${cases.length}] ${c.load} · ${serverLabel(c.server)} · ${c.driver}`);
    results.push(await runCase(c, durationMs, warmupMs, tools, otlp));
  }
  if (Deno.stderr.isTerminal()) Deno.stderr.writeSync(encoder.encode("\n"));
  const machine =
    `${navigator.hardwareConcurrency} CPU(s), Deno ${Deno.version.deno}, ${Deno.build.os}/${Deno.build.arch}`;
  Deno.stdout.writeSync(encoder.encode(formatResults(results)));
  Deno.stdout.writeSync(encoder.encode(`\n${formatGoals(results)}`));
  const floorShare = formatFloorShare(results);
  if (floorShare) Deno.stdout.writeSync(encoder.encode(`\n${floorShare}`));
  const cost = formatTelemetryCost(results, otlp.received.requests);
  if (cost) Deno.stdout.writeSync(encoder.encode(`\n${cost}`));
  const haCost = formatRedisHaCost(results);
  if (haCost) Deno.stdout.writeSync(encoder.encode(`\n${haCost}`));
  Deno.stdout.writeSync(
    encoder.encode(`\n${machine}; ${((Date.now() - started) / 1000).toFixed(0)} s in all\n`),
  );
  if (s.json) {
    await Deno.writeTextFile(
      s.json,
      `${
        JSON.stringify({ machine, date: new Date().toISOString(), durationMs, results }, null, 2)
      }\n`,
    );
  }
  return results.every((r) => r.totalOk) ? 0 : 1;
}
