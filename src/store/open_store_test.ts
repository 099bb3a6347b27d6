import assert from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import {
  attachStore,
  DataDirError,
  isStoreStartError,
  openStore,
  type OpenStoreOptions,
  RedisSecretError,
  RedisSettingsRefused,
  STORE_DEFAULTS,
} from "./open_store.ts";

const options = (dataDir?: string): OpenStoreOptions => ({
  ...(dataDir === undefined ? {} : { dataDir }),
  fsync: "always",
  maxClients: 64,
  clientTtlMs: STORE_DEFAULTS.clientTtlMs,
  repair: false,
  log: getLogger(["likes", "test"]),
  onFatal: (error) => {
    throw error;
  },
});

Deno.test("openStore() without a data directory: every attached view counts into the one table", async () => {
  const store = await openStore(options());
  try {
    assert.equal(store.recovered, null);
    assert.equal(store.journalStats(), null);
    assert.equal(store.attachment.kind, "embedded");
    const [a, b] = [await attachStore(store.attachment), await attachStore(store.attachment)];
    await a.store.applyClassic("LikesServer1", 3);
    const keyed = await b.store.applyKeyed("edge-1", 1, 4);
    assert.equal(keyed.status, "applied");
    assert.equal(
      (await a.store.applyKeyed("edge-1", 1, 4)).status,
      "duplicate",
      "seen by the other view",
    );
    assert.equal(store.table!.total(), 7);
    assert.deepEqual(await b.store.countsOf(["LikesServer1", "edge-1"]), {
      LikesServer1: 3,
      "edge-1": 4,
    });
    await Promise.all([a.close(), b.close()]);
  } finally {
    await store.close();
  }
});

Deno.test("openStore() with a data directory journals what views count, and recovers it at the next open", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "likes-open-store-" });
  try {
    const first = await openStore(options(dir));
    const view = await attachStore(first.attachment);
    const result = await view.store.applyKeyed("edge-1", 1, 5);
    assert.equal(result.status, "applied");
    // An acknowledgement waits for the receipt: once settled, the record is on disk.
    if (result.status === "applied") await view.store.settled(result.receipt);
    await view.close();
    await first.close();

    const again = await openStore(options(dir));
    try {
      assert.equal(again.recovered?.total, 5);
      assert.equal(again.table!.total(), 5);
      await assert.rejects(openStore(options(dir)), DataDirError, "one server at a time");
    } finally {
      await again.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("isStoreStartError() is true for the store's own one-line start-up errors only", () => {
  assert.ok(isStoreStartError(new DataDirError("held")));
  assert.ok(isStoreStartError(new RedisSettingsRefused("evicts")));
  assert.ok(isStoreStartError(new RedisSecretError("cannot read")));
  assert.ok(!isStoreStartError(new Deno.errors.AddrInUse("port")));
  assert.ok(!isStoreStartError("text"));
});
