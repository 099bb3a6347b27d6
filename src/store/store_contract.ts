/**
 * The contract every {@linkcode LikesStore} must keep, as tests any store can run:
 * `await storeContract(t, () => makeStore())` inside a `Deno.test`. Each step gets a fresh,
 * empty store that can hold at least 2 clients and at most `maxClients`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type LikesStore, NO_RECEIPT } from "./likes_store.ts";

/** A fresh store for one step, and how to close it. */
export interface StoreUnderTest extends AsyncDisposable {
  readonly store: LikesStore;
}

/** Runs the contract as steps of `t`. */
export async function storeContract(
  t: Deno.TestContext,
  open: (maxClients: number) => Promise<StoreUnderTest>,
): Promise<void> {
  await t.step("classic messages count every time, per client and in the total", async () => {
    await using s = await open(8);
    const first = await s.store.applyClassic("LikesServer1", 3);
    const again = await s.store.applyClassic("LikesServer1", 3);
    const other = await s.store.applyClassic("LikesServer2", 0);
    assert.ok(first.status === "applied" && again.status === "applied");
    assert.deepEqual([first.client, first.total, again.client, again.total], [3, 3, 6, 6]);
    assert.equal(other.status, "applied");
    assert.equal(await s.store.total(), 6);
    assert.deepEqual(await s.store.countsOf(["LikesServer1", "LikesServer2", "nobody"]), {
      LikesServer1: 6,
      LikesServer2: 0,
    });
    assert.equal(await s.store.clientCount(), 2);
  });

  await t.step(
    "a keyed seq counts once: a repeat is a duplicate with the same counts",
    async () => {
      await using s = await open(8);
      const one = await s.store.applyKeyed("edge", 1, 5);
      const dup = await s.store.applyKeyed("edge", 1, 5);
      assert.ok(one.status === "applied" && dup.status === "duplicate");
      assert.deepEqual([dup.client, dup.total], [5, 5]);
      const two = await s.store.applyKeyed("edge", 2, 1);
      assert.ok(two.status === "applied");
      assert.equal(two.client, 6);
      assert.equal(await s.store.total(), 6);
    },
  );

  await t.step("a keyed gap or a conflicting repeat is refused and counts nothing", async () => {
    await using s = await open(8);
    await s.store.applyKeyed("edge", 1, 5);
    assert.deepEqual(await s.store.applyKeyed("edge", 3, 1), { status: "gap", expected: 2 });
    assert.deepEqual(await s.store.applyKeyed("edge", 1, 4), { status: "conflict", likes: 5 });
    assert.equal(await s.store.total(), 5);
  });

  await t.step("a full store says so and counts nothing; known clients still count", async () => {
    await using s = await open(2);
    if (s.store.maxClients > 2) return; // a store without a client limit (Redis): nothing to test
    await s.store.applyClassic("LikesServer1", 1);
    await s.store.applyKeyed("edge", 1, 1);
    assert.deepEqual(await s.store.applyClassic("LikesServer3", 1), { status: "full" });
    assert.deepEqual(await s.store.applyKeyed("late", 1, 1), { status: "full" });
    assert.equal((await s.store.applyClassic("LikesServer1", 1)).status, "applied");
    assert.equal(await s.store.total(), 3);
    assert.equal(s.store.maxClients, 2);
  });

  await t.step("topClients lists the largest counts first, at most limit", async () => {
    await using s = await open(8);
    await s.store.applyClassic("LikesServer1", 1);
    await s.store.applyClassic("LikesServer2", 9);
    await s.store.applyClassic("LikesServer3", 5);
    assert.deepEqual(Object.entries(await s.store.topClients(2)), [
      ["LikesServer2", 9],
      ["LikesServer3", 5],
    ]);
  });

  await t.step("every receipt is settled, and receipts only grow", async () => {
    await using s = await open(8);
    const receipts: number[] = [];
    for (let seq = 1; seq <= 5; seq++) {
      const result = await s.store.applyKeyed("edge", seq, 1);
      assert.ok(result.status === "applied");
      receipts.push(result.receipt);
    }
    const dup = await s.store.applyKeyed("edge", 5, 1);
    assert.ok(dup.status === "duplicate");
    assert.equal(dup.receipt, receipts.at(-1), "a duplicate waits for the original's record");
    for (let i = 1; i < receipts.length; i++) {
      assert.ok(
        receipts[i] === NO_RECEIPT || receipts[i]! > receipts[i - 1]!,
        `receipts grow: ${receipts}`,
      );
    }
    await Promise.all(receipts.map((r) => s.store.settled(r)));
    assert.equal(s.store.settled(NO_RECEIPT), undefined);
  });
}
