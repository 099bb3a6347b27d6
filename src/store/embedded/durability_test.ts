import assert from "node:assert/strict";
import { DurableWaiter, JournalFailedError } from "./durability.ts";
import { JournalRing } from "./journal_ring.ts";

const record = (seq: number) => ({ kind: "keyed" as const, name: "c", seq, likes: 1 });

Deno.test("DurableWaiter resolves once the record is durable, and rejects every waiter when the journal fails", async () => {
  const ring = JournalRing.create({ capacity: 8 });
  const waiter = new DurableWaiter(ring);
  const first = ring.append(record(1), 0);
  const second = ring.append(record(2), 0);
  const durable = waiter.until(first);
  const never = waiter.until(second);
  ring.take(1);
  ring.publishDurable(first + 1);
  await durable;
  ring.fail();
  await assert.rejects(never!, JournalFailedError);
  await assert.rejects(waiter.until(ring.append(record(3), 0))!, JournalFailedError);
  assert.equal(waiter.until(first), undefined, "what was durable stays durable");
});

Deno.test("JournalRing: a full ring does not block an append once the journal failed", () => {
  const ring = JournalRing.create({ capacity: 2 });
  ring.append(record(1), 0);
  ring.append(record(2), 0);
  assert.equal(ring.tryAppend(record(3), 0), -1, "full");
  ring.fail();
  // Before the journal failed this would wait for room forever (the Worker hung at stop).
  assert.equal(ring.append(record(3), 0), 2, "reserved, never written");
  assert.equal(ring.tryAppend(record(4), 0), -1, "nothing more is taken");
  assert.equal(ring.isDurable(2), false);
});
