/**
 * The benchmark's configurations: which server, which load. Pure data, so the matrix is easy to
 * read and test.
 *
 * @module
 */

import type { LoadMode, LoadProtocol } from "./load_generator.ts";

/** The server a case runs against. */
export type ServerSpec =
  | {
    readonly kind: "likes";
    readonly fsync: "always" | "never";
    readonly workers: "default" | 1;
    /** Run with `OTEL_DENO=true`, exporting to a receiver on loopback. */
    readonly otel?: true;
  }
  | { readonly kind: "redis"; readonly persistence: "always" | "off" }
  /**
   * Our server(s) with `--store redis` over one Redis at `appendfsync always`; or, with `ha`, over
   * a master with two replicas (all at `appendfsync always`) and three Sentinels, reached directly
   * with `?wait=1`, or through the Sentinels without or with `wait=1`.
   */
  | {
    readonly kind: "likes-redis";
    readonly primaries: 1 | 2;
    readonly ha?: RedisHa;
  }
  | { readonly kind: "ideal" }
  /** The floor: a Deno server that only writes `ACK` per line, with our Workers (`floor_server.ts`). */
  | { readonly kind: "floor" };

/** How the likes' Redis is made highly available in a case (see {@linkcode ServerSpec}). */
export type RedisHa = "wait-1" | "sentinel" | "sentinel-wait-1";

const HA_LABEL: Readonly<Record<RedisHa, string>> = {
  "wait-1": "likes over Redis, WAIT 1",
  sentinel: "likes over Sentinel",
  "sentinel-wait-1": "likes over Sentinel, WAIT 1",
};

/** One benchmark case. */
export interface BenchCase {
  /** Unique id, e.g. `persistent-100/likes-always`. */
  readonly id: string;
  /** The load, in words, e.g. `persistent, 100 clients`. */
  readonly load: string;
  readonly server: ServerSpec;
  /** Which load generator drives it. */
  readonly driver: "deno" | "likesload";
  readonly mode: LoadMode | "idle";
  readonly clients: number;
  readonly depth?: number;
  readonly protocol: LoadProtocol;
}

/** The server's label in the table. */
export function serverLabel(server: ServerSpec): string {
  switch (server.kind) {
    case "likes":
      return `likes fsync ${server.fsync}${server.workers === 1 ? ", 1 worker" : ""}${
        server.otel ? ", OTel on" : ""
      }`;
    case "redis":
      return server.persistence === "always" ? "Redis appendfsync always" : "Redis no persistence";
    case "ideal":
      return "idealsrv (C)";
    case "floor":
      return "Deno floor (ACK only)";
    case "likes-redis":
      return `${server.ha ? HA_LABEL[server.ha] : "likes over Redis"}${
        server.primaries === 2 ? ", 2 primaries" : ""
      }`;
  }
}

function loadLabel(
  mode: BenchCase["mode"],
  clients: number,
  depth?: number,
  protocol?: LoadProtocol,
): string {
  const keyed = protocol === "keyed" ? ", keyed" : "";
  switch (mode) {
    case "per-message":
      return `per-message, ${clients} clients${keyed}`;
    case "persistent":
      return `persistent, ${clients} clients${keyed}`;
    case "pipeline":
      return `pipelined ${depth}, ${clients} clients${keyed}`;
    case "idle":
      return `${clients} idle connections`;
  }
}

function makeCase(
  mode: BenchCase["mode"],
  clients: number,
  server: ServerSpec,
  extra: { depth?: number; protocol?: LoadProtocol; driver?: "deno" | "likesload" } = {},
): BenchCase {
  const protocol = server.kind === "redis" ? "redis" : extra.protocol ?? "classic";
  const driver = extra.driver ?? "deno";
  const load = loadLabel(mode, clients, extra.depth, protocol);
  const name = server.kind === "likes"
    ? `likes-${server.fsync}${server.workers === 1 ? "-w1" : ""}${server.otel ? "-otel" : ""}`
    : server.kind === "redis"
    ? `redis-${server.persistence}`
    : server.kind === "likes-redis"
    ? `likes-redis-p${server.primaries}${server.ha ? `-${server.ha}` : ""}`
    : server.kind === "floor"
    ? "floor"
    : "ideal";
  return {
    id: `${mode}${extra.depth ? extra.depth : ""}-${clients}${
      protocol === "keyed" ? "-keyed" : ""
    }/${name}/${driver}`,
    load,
    server,
    driver,
    mode,
    clients,
    ...(extra.depth ? { depth: extra.depth } : {}),
    protocol,
  };
}

const safe: ServerSpec = { kind: "likes", fsync: "always", workers: "default" };
const fast: ServerSpec = { kind: "likes", fsync: "never", workers: "default" };
/** The durable server with telemetry on: its cost is its ratio to `safe` in the same run. */
const safeOtel: ServerSpec = { kind: "likes", fsync: "always", workers: "default", otel: true };
const redisAlways: ServerSpec = { kind: "redis", persistence: "always" };
const redisOff: ServerSpec = { kind: "redis", persistence: "off" };
const floor: ServerSpec = { kind: "floor" };

/** Options for {@linkcode benchCases}. */
export interface CaseOptions {
  /** The short set (CI). */
  readonly quick: boolean;
  /** Include Redis cases. */
  readonly redis: boolean;
  /** Include idealsrv and likesload cases (only two in the short set). */
  readonly reference: boolean;
}

/** The cases to run, in order. */
export function benchCases(options: CaseOptions): BenchCase[] {
  const cases: BenchCase[] = [];
  const withRedis = (mode: "persistent" | "pipeline", clients: number, depth?: number) => {
    const extra = depth ? { depth } : {};
    cases.push(makeCase(mode, clients, safe, extra));
    // Right after its twin without telemetry, so that the two see the same machine.
    if (!options.quick || clients === 100) cases.push(makeCase(mode, clients, safeOtel, extra));
    if (!options.quick || clients === 100) cases.push(makeCase(mode, clients, fast, extra));
    // Deno's own floor for this load, right after ours without persistence.
    if (!options.quick || clients === 100) cases.push(makeCase(mode, clients, floor, extra));
    if (options.redis) {
      cases.push(makeCase(mode, clients, redisAlways, extra));
      if (!options.quick || clients === 100) cases.push(makeCase(mode, clients, redisOff, extra));
    }
  };
  cases.push(makeCase("per-message", 10, safe));
  if (!options.quick) cases.push(makeCase("per-message", 100, safe));
  withRedis("persistent", 10);
  withRedis("persistent", 100);
  if (!options.quick) withRedis("persistent", 1000);
  withRedis("pipeline", 10, 16);
  cases.push(makeCase("persistent", 100, { kind: "likes", fsync: "always", workers: 1 }));
  if (!options.quick) {
    cases.push(makeCase("persistent", 100, { kind: "likes", fsync: "never", workers: 1 }));
  }
  if (!options.quick) cases.push(makeCase("persistent", 100, safe, { protocol: "keyed" }));
  if (options.redis) {
    // Stateless primaries over Redis (appendfsync always), beside the embedded journal above.
    cases.push(makeCase("persistent", 100, { kind: "likes-redis", primaries: 1 }));
    if (!options.quick) {
      cases.push(makeCase("persistent", 100, { kind: "likes-redis", primaries: 2 }));
    }
    // What high availability costs, beside the plain store above (quick: the whole of it only).
    const ha: RedisHa[] = options.quick
      ? ["sentinel-wait-1"]
      : ["wait-1", "sentinel", "sentinel-wait-1"];
    for (const how of ha) {
      cases.push(makeCase("persistent", 100, { kind: "likes-redis", primaries: 1, ha: how }));
    }
  }
  const idle = options.quick ? 1000 : 10_000;
  cases.push(makeCase("idle", idle, safe));
  if (options.redis && !options.quick) cases.push(makeCase("idle", idle, redisOff));
  // The goals are judged with likesload where it runs: ours and Redis under the same C client.
  const likesload = (
    mode: "persistent" | "pipeline",
    clients: number,
    servers: readonly ServerSpec[],
    depth?: number,
  ) => {
    for (const server of servers) {
      if (server.kind === "redis" && !options.redis) continue;
      cases.push(
        makeCase(mode, clients, server, { driver: "likesload", ...(depth ? { depth } : {}) }),
      );
    }
  };
  if (options.reference && options.quick) {
    likesload("persistent", 100, [safe, redisAlways, floor]);
    cases.push(makeCase("persistent", 100, { kind: "ideal" }, { driver: "likesload" }));
  } else if (options.reference) {
    cases.push(makeCase("persistent", 10, { kind: "ideal" }));
    cases.push(makeCase("persistent", 100, { kind: "ideal" }));
    cases.push(makeCase("pipeline", 10, { kind: "ideal" }, { depth: 16 }));
    likesload("persistent", 10, [safe, redisAlways, fast, floor]);
    likesload("persistent", 100, [safe, redisAlways, fast, redisOff, floor]);
    likesload("pipeline", 10, [safe, redisAlways, fast, redisOff, floor], 16);
    cases.push(makeCase("persistent", 100, { kind: "ideal" }, { driver: "likesload" }));
    cases.push(makeCase("pipeline", 10, { kind: "ideal" }, { depth: 16, driver: "likesload" }));
  }
  return cases;
}

/**
 * The Redis case to compare a likes case with (same load; fsync always ↔ appendfsync always,
 * never ↔ no persistence), if there is one.
 */
export function redisTwin(c: BenchCase, all: readonly BenchCase[]): BenchCase | undefined {
  const overRedis = c.server.kind === "likes-redis";
  if (
    !overRedis && (c.server.kind !== "likes" || c.server.workers === 1 || c.protocol === "keyed")
  ) {
    return undefined;
  }
  // Over Redis the durable twin is Redis alone at appendfsync always.
  const persistence = overRedis || (c.server.kind === "likes" && c.server.fsync === "always")
    ? "always"
    : "off";
  return all.find((o) =>
    o.server.kind === "redis" && o.server.persistence === persistence && o.mode === c.mode &&
    o.clients === c.clients && o.depth === c.depth && o.driver === c.driver
  );
}

/**
 * The floor case with the same load and client as `c` (for a case of ours with the classic
 * protocol), if it ran.
 */
export function floorTwin(c: BenchCase, all: readonly BenchCase[]): BenchCase | undefined {
  // The floor runs with the default Workers: a 1-Worker case of ours has no twin.
  if (
    c.server.kind !== "likes" || c.protocol !== "classic" || c.server.otel || c.server.workers === 1
  ) {
    return undefined;
  }
  return all.find((o) =>
    o.server.kind === "floor" && o.mode === c.mode && o.clients === c.clients &&
    o.depth === c.depth && o.driver === c.driver
  );
}
