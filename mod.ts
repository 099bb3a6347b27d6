/**
 * The likes suite as a library: the wire protocol (parse and format, framing, `STATS`), a line
 * client, the shared-memory likes table, and `serveLikes()`, the PrimaryLikesServer as a call.
 * The overlay: `parseClusterConfig()`, `startNode()` (one node of A–E as a call) and `askNode()`
 * (its query client), both authenticated with a `ClusterSecret` (`readSecretFile()`), with the
 * replica and the shared-memory cache they are built on. With
 * `OTEL_DENO=true` both record OpenTelemetry metrics and spans; a program that runs them should
 * end with `exitWith()` rather than `Deno.exit()` (README, Observability).
 * The entry points (`server.ts`, `parent.ts`, `likes_server.ts`, `demo.ts`, `node.ts`, `query.ts`,
 * `cluster.ts`, `otel.ts`) are not exported.
 *
 * @example A server with two Workers, one client
 * ```ts
 * import { LineClient, serveLikes } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const logDir = await Deno.makeTempDir({ dir: "/tmp" });
 * {
 *   await using server = await serveLikes({ logFile: `${logDir}/PrimaryLikesLog`, workers: 2 });
 *   using client = await LineClient.connect({ port: server.port });
 *   assert.equal(await client.request("LikesServer1 5"), "ACK");
 *   assert.equal(await client.request("LIKE edge-1 1 3"), "ACK seq=1 client=3 total=8");
 *   assert.equal(await client.request("LIKE edge-1 1 3"), "ACK seq=1 client=3 total=8 dup");
 *   assert.deepEqual(server.table?.snapshot(), { total: 8, clients: { LikesServer1: 5, "edge-1": 3 } });
 * }
 * await Deno.remove(logDir, { recursive: true });
 * ```
 *
 * @module
 */

export {
  CLASSIC_ACK,
  type ClassicRequest,
  decodeFrame,
  DEFAULT_MAX_LIKES,
  formatClassic,
  formatError,
  formatKeyed,
  formatKeyedAck,
  type KeyedAck,
  type KeyedRequest,
  MAX_CLIENT_ID_LENGTH,
  MAX_SEQ,
  type ParseOptions,
  parseReply,
  parseRequest,
  preview,
  ProtocolError,
  type Reply,
  type Request,
  type StatsRequest,
} from "./src/protocol/grammar.ts";
export {
  DEFAULT_MAX_LINE_BYTES,
  type Frame,
  FrameDecoder,
  type FrameDecoderOptions,
  type Terminator,
} from "./src/protocol/framing.ts";
export { formatStats, parseStats, type Stats } from "./src/protocol/stats.ts";
export {
  LineClient,
  type LineClientOptions,
  ReplyTimeoutError,
  requestOnce,
} from "./src/protocol/line_client.ts";
export { fetchStats } from "./src/protocol/stats_client.ts";
export { type EdgeReport, parseEdgeReport } from "./src/protocol/edge_report.ts";
export {
  LikesTable,
  type LikesTableOptions,
  MAX_NAME_BYTES,
} from "./src/store/embedded/likes_table.ts";
export {
  type ApplyResult,
  type LikesStore,
  NO_RECEIPT,
  type Receipt,
} from "./src/store/likes_store.ts";
export { EmbeddedStore } from "./src/store/embedded/embedded_store.ts";
export {
  type AttachedStore,
  attachStore,
  type OpenStore,
  openStore,
  type OpenStoreOptions,
  STORE_DEFAULTS,
  type StoreAttachment,
} from "./src/store/open_store.ts";
export {
  type Counter,
  type MessageTotals,
  messageTotals,
  type ServerCounters,
  SharedCounters,
} from "./src/server/server_counters.ts";
export {
  createResponder,
  type Reply as ReplyWithReceipt,
  type Responder,
  type ResponderOptions,
} from "./src/server/respond.ts";
export { type ByteConn, Connection, type ConnectionOptions } from "./src/server/connection.ts";
export {
  type LikesService,
  serveLikes,
  type ServeLikesOptions,
} from "./src/server/likes_service.ts";
export {
  type MessageReading,
  type ServerReadings,
  type ServerRecorder,
} from "./src/server/server_recorder.ts";
export { type Outgoing, PendingLikes, type PendingLikesOptions } from "./src/edge/pending_likes.ts";
export {
  type ClusterConfig,
  ClusterConfigError,
  formatClusterConfig,
  type NodeConfig,
  parseClusterConfig,
} from "./src/overlay/domain/cluster_config.ts";
export {
  type NodeStats,
  type OverlayNode,
  startNode,
  type StartNodeOptions,
} from "./src/overlay/node/node_service.ts";
export {
  askNode,
  type AskOptions,
  nodeStats,
  type QueryReply,
} from "./src/overlay/client/query_client.ts";
export { AuthError, ClusterSecret } from "./src/overlay/wire/link_auth.ts";
export { createSecretFile, readSecretFile, secretPath } from "./src/overlay/cli/secret_file.ts";
export { Replica, type ReplicaEntry } from "./src/overlay/domain/replica.ts";
export { type CacheHit, type CacheStats, SharedCache } from "./src/overlay/domain/shared_cache.ts";
export { formatTree, type Stage, type TimingTree } from "./src/overlay/domain/timing.ts";
export { exitWith } from "./src/cli/flags.ts";
