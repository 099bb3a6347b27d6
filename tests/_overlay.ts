/**
 * Helpers for the overlay tests: the committed five-node shape (A→B, B→C, B→D, C→E, D→E) on
 * free ports, and starting its nodes in this process.
 *
 * @module
 */

import { OVERLAY_EDGES, overlayConfigText } from "../src/bench/overlay_cluster.ts";
import { type ClusterConfig, parseClusterConfig } from "../src/overlay/domain/cluster_config.ts";
import { decodeJson, encodeFrame, frameBody, FrameReader } from "../src/overlay/wire/frame.ts";
import {
  ClusterSecret,
  FrameTagger,
  handshakeProof,
  newNonce,
} from "../src/overlay/wire/link_auth.ts";
import {
  type OverlayNode,
  startNode,
  type StartNodeOptions,
} from "../src/overlay/node/node_service.ts";

/** The secret of the tests' clusters (its file is written beside each config). */
export const TEST_SECRET_TEXT = "test-cluster-secret-0123456789abcdefghijklmnop\n";
/** {@linkcode TEST_SECRET_TEXT} as a secret. */
export const TEST_SECRET: ClusterSecret = ClusterSecret.fromText(TEST_SECRET_TEXT);

/** The config text of the five-node overlay on `host`, every port free right now. */
export function clusterText(host = "127.0.0.1", hosts: Record<string, string> = {}): string {
  return overlayConfigText(
    Object.fromEntries(Object.keys(OVERLAY_EDGES).map((id) => [id, hosts[id] ?? host])),
  );
}

/**
 * Writes `text` (the five-node overlay by default) to `DIR/cluster.json` and the tests' secret
 * to `DIR/cluster.key`, beside it; returns the config's path.
 */
export async function writeCluster(dir: string, text = clusterText()): Promise<string> {
  await Deno.writeTextFile(`${dir}/cluster.key`, TEST_SECRET_TEXT, { mode: 0o600 });
  await Deno.writeTextFile(`${dir}/cluster.json`, text);
  return `${dir}/cluster.json`;
}

/** The five-node overlay on free ports of 127.0.0.1. */
export function testCluster(): ClusterConfig {
  return parseClusterConfig(clusterText());
}

/** Nodes started in this process, stopped together. */
export interface RunningNodes extends AsyncDisposable {
  readonly nodes: Map<string, OverlayNode>;
  /** Stops one node (it stays stopped when the rest are disposed). */
  stop(id: string): Promise<void>;
}

/** Starts `ids` (all nodes by default) of `config`, logging under `logDir`. */
export async function startNodes(
  config: ClusterConfig,
  logDir: string,
  extra: Partial<StartNodeOptions> = {},
  ids: readonly string[] = [...config.nodes.keys()],
): Promise<RunningNodes> {
  const nodes = new Map<string, OverlayNode>();
  const stopAll = async () => {
    for (const node of nodes.values()) await node.stop();
    nodes.clear();
  };
  try {
    for (const id of ids) {
      nodes.set(
        id,
        await startNode({
          config,
          id,
          logDir,
          secret: TEST_SECRET,
          gossipIntervalMs: 100,
          ...extra,
        }),
      );
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  return {
    nodes,
    async stop(id) {
      await nodes.get(id)?.stop();
      nodes.delete(id);
    },
    [Symbol.asyncDispose]: stopAll,
  };
}

/**
 * A raw connection to a node's port, for tests that misbehave: it reads the node's hello, and
 * can then send frames unauthenticated (`sendPlain`), or complete the handshake with a secret
 * and send tagged bodies of any bytes (`sendTagged`), reading the node's values back.
 */
export class RawNodeClient implements Disposable {
  readonly tcp: Deno.TcpConn;
  readonly hello: Record<string, unknown>;
  readonly #reader = new FrameReader();
  readonly #buffer = new Uint8Array(65536);
  readonly #pending: Uint8Array[] = [];
  #incoming: FrameTagger | null = null;
  #outgoing: FrameTagger | null = null;

  private constructor(tcp: Deno.TcpConn, hello: Record<string, unknown>) {
    this.tcp = tcp;
    this.hello = hello;
  }

  /** Connects to `port` on 127.0.0.1 and reads the hello. */
  static async connect(port: number): Promise<RawNodeClient> {
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
    const client = new RawNodeClient(tcp, {});
    const hello = await client.#nextBody();
    return new RawNodeClient(tcp, decodeJson(hello!) as Record<string, unknown>);
  }

  async #nextBody(): Promise<Uint8Array | null> {
    while (this.#pending.length === 0) {
      const n = await this.tcp.read(this.#buffer).catch(() => null);
      if (n === null) return null;
      this.#pending.push(...this.#reader.push(this.#buffer.subarray(0, n)));
    }
    return this.#pending.shift()!;
  }

  /** Completes the handshake with `secret` (the tests' by default). */
  async authenticate(secret: ClusterSecret = TEST_SECRET): Promise<void> {
    const serverNonce = String(this.hello.nonce);
    const clientNonce = newNonce();
    await this.sendPlain({
      type: "auth",
      nonce: clientNonce,
      proof: handshakeProof(secret, "client", serverNonce, clientNonce),
    });
    const welcome = await this.next();
    if ((welcome as Record<string, unknown> | null)?.type !== "welcome") {
      throw new Error(`not welcomed: ${JSON.stringify(welcome)}`);
    }
    this.#incoming = new FrameTagger(secret, "s2c", serverNonce, clientNonce);
    this.#outgoing = new FrameTagger(secret, "c2s", serverNonce, clientNonce);
  }

  /** Writes `value` as an untagged frame. */
  async sendPlain(value: unknown): Promise<void> {
    await this.write(encodeFrame(value));
  }

  /** Writes `json` (any bytes, or a value's JSON) as a tagged frame. */
  async sendTagged(json: Uint8Array | unknown): Promise<void> {
    const bytes = json instanceof Uint8Array
      ? json
      : new TextEncoder().encode(JSON.stringify(json));
    await this.write(frameBody(this.#outgoing!.seal(bytes)));
  }

  /** Writes raw bytes. */
  async write(bytes: Uint8Array): Promise<void> {
    for (let at = 0; at < bytes.length;) at += await this.tcp.write(bytes.subarray(at));
  }

  /** The next value from the node (its tag checked once authenticated), or null at the end. */
  async next(): Promise<unknown> {
    const body = await this.#nextBody();
    if (body === null) return null;
    return decodeJson(this.#incoming ? this.#incoming.open(body) : body);
  }

  /** Closes the connection. */
  [Symbol.dispose](): void {
    try {
      this.tcp.close();
    } catch {
      // Closed by the node.
    }
  }
}
