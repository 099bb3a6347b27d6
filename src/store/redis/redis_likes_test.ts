import assert from "node:assert/strict";
import { redisMissing, startRedis, startRedisCluster } from "../../launch/redis_process.ts";
import { nameIfSkipped } from "../../../tests/_helpers.ts";
import { storeContract } from "../store_contract.ts";
import {
  ClientClosedError,
  ClientOfflineError,
  ErrorReply,
  SocketClosedUnexpectedlyError,
} from "redis";
import { StoreOutcomeUnknownError, StoreUnavailableError } from "../likes_store.ts";
import { bucketOf, BUCKETS, classifyFailure, RedisLikes } from "./redis_likes.ts";

const missing = redisMissing();
if (missing) Deno.stderr.writeSync(new TextEncoder().encode(`redis tests skipped: ${missing}\n`));

Deno.test("bucketOf() is stable and spreads names over every bucket", () => {
  assert.equal(bucketOf("LikesServer1"), bucketOf("LikesServer1"));
  const used = new Set(Array.from({ length: 400 }, (_, i) => bucketOf(`client-${i}`)));
  assert.equal(used.size, BUCKETS);
});

Deno.test("classifyFailure(): not sent or refused by Redis is definite; an answer lost is indefinite", () => {
  for (
    const error of [new ClientOfflineError(), new ClientClosedError(), new ErrorReply("READONLY")]
  ) {
    assert.ok(classifyFailure(error) instanceof StoreUnavailableError, error.message);
  }
  for (const error of [new SocketClosedUnexpectedlyError(), new Error("timeout"), "?"]) {
    const classified = classifyFailure(error);
    assert.ok(classified instanceof StoreOutcomeUnknownError, String(error));
    assert.match(classified.message, /^the answer was lost \(/);
  }
});

Deno.test({
  name: nameIfSkipped(
    "RedisLikes counts classic and keyed messages with the store's rules, in a real Redis",
    missing,
  ),
  ignore: missing !== null,
  async fn() {
    await using redis = await startRedis();
    await using likes = await RedisLikes.connect({ hostname: "127.0.0.1", port: redis.port });
    assert.deepEqual(await likes.applyClassic("LikesServer1", 3), {
      status: "applied",
      client: 3,
      total: 3,
      receipt: -1,
    });
    assert.deepEqual(await likes.applyKeyed("edge", 1, 5), {
      status: "applied",
      client: 5,
      total: 8,
      receipt: -1,
    });
    assert.equal((await likes.applyKeyed("edge", 1, 5)).status, "duplicate");
    assert.deepEqual(await likes.applyKeyed("edge", 1, 4), { status: "conflict", likes: 5 });
    assert.deepEqual(await likes.applyKeyed("edge", 3, 1), { status: "gap", expected: 2 });
    assert.equal((await likes.applyKeyed("edge", 2, 2)).status, "applied");
    for (let i = 0; i < 40; i++) await likes.applyClassic(`LikesServer${i}`, 1);
    assert.equal(await likes.total(), 3 + 7 + 40);
    assert.deepEqual(await likes.countsOf(["edge", "LikesServer1", "nobody"]), {
      edge: 7,
      LikesServer1: 4,
    });
    assert.deepEqual(Object.keys(await likes.topClients(2)), ["edge", "LikesServer1"]);
    assert.equal(await likes.clientCount(), 41);
  },
});

Deno.test({
  name: nameIfSkipped(
    "two primaries racing one client's retries over one Redis count each seq once",
    missing,
  ),
  ignore: missing !== null,
  async fn() {
    await using redis = await startRedis();
    await using a = await RedisLikes.connect({ hostname: "127.0.0.1", port: redis.port });
    await using b = await RedisLikes.connect({ hostname: "127.0.0.1", port: redis.port });
    // Both primaries receive the same client's messages (a retry went to the other one), and
    // each sends them as fast as it can: every seq is counted by exactly one of them.
    const send = async (likes: RedisLikes) => {
      let applied = 0;
      for (let seq = 1; seq <= 300; seq++) {
        let result = await likes.applyKeyed("racer", seq, seq % 7);
        while (result.status === "gap") {
          await new Promise((r) => setTimeout(r, 1));
          result = await likes.applyKeyed("racer", seq, seq % 7);
        }
        if (result.status === "applied") applied++;
      }
      return applied;
    };
    const [fromA, fromB] = await Promise.all([send(a), send(b)]);
    assert.equal(fromA + fromB, 300, "each seq applied once, by one primary or the other");
    let expected = 0;
    for (let seq = 1; seq <= 300; seq++) expected += seq % 7;
    assert.deepEqual(await a.countsOf(["racer"]), { racer: expected });
    assert.equal(await b.total(), expected);
  },
});

Deno.test({
  name: nameIfSkipped(
    "with appendfsync always, an acknowledged like survives Redis being killed",
    missing,
  ),
  ignore: missing !== null,
  async fn() {
    const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "likes-redis-" });
    try {
      let port: number;
      {
        const redis = await startRedis({ appendfsync: "always", dir });
        port = redis.port;
        const likes = await RedisLikes.connect({ hostname: "127.0.0.1", port });
        for (let seq = 1; seq <= 50; seq++) {
          assert.equal((await likes.applyKeyed("durable", seq, 2)).status, "applied");
        }
        await redis.stop("SIGKILL");
        await likes.close().catch(() => {});
      }
      await using again = await startRedis({ appendfsync: "always", dir, port });
      await using likes = await RedisLikes.connect({ hostname: "127.0.0.1", port: again.port });
      assert.deepEqual(await likes.countsOf(["durable"]), { durable: 100 });
      assert.equal((await likes.applyKeyed("durable", 50, 2)).status, "duplicate");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: nameIfSkipped("RedisLikes keeps the store contract", missing),
  ignore: missing !== null,
  async fn(t) {
    await storeContract(t, async () => {
      const redis = await startRedis();
      const store = await RedisLikes.connect({ hostname: "127.0.0.1", port: redis.port });
      return {
        store,
        async [Symbol.asyncDispose]() {
          await store.close();
          await redis[Symbol.asyncDispose]();
        },
      };
    });
  },
});

Deno.test({
  name: nameIfSkipped("RedisLikes keeps the store contract on a 3-master Redis Cluster", missing),
  ignore: missing !== null,
  async fn(t) {
    await using cluster = await startRedisCluster();
    await storeContract(t, async () => {
      await cluster.flush(); // every step starts from an empty store
      const store = await RedisLikes.connect({
        hostname: "127.0.0.1",
        port: cluster.port,
        cluster: true,
      });
      return { store, [Symbol.asyncDispose]: () => store.close() };
    });
  },
});
