import assert from "node:assert/strict";
import fc from "fast-check";
import { PendingLikes } from "./pending_likes.ts";

Deno.test("PendingLikes splits a backlog into messages of at most maxPerMessage", () => {
  const state = new PendingLikes({ maxPerMessage: 42 });
  state.add(40);
  state.add(40);
  state.add(40);
  const sent: number[] = [];
  for (let m = state.next(); m; m = state.next()) {
    sent.push(m.likes);
    assert.ok(state.acknowledge(m.seq));
  }
  assert.deepEqual(sent, [42, 42, 36]);
  assert.equal(state.acknowledged, 120);
  assert.equal(state.settled, true);
});

Deno.test("PendingLikes reports a zero batch once, and ignores stray ACKs", () => {
  const state = new PendingLikes();
  assert.equal(state.next(), null);
  state.add(0);
  assert.equal(state.settled, false);
  assert.deepEqual(state.next(), { seq: 1, likes: 0 });
  assert.equal(state.acknowledge(7), false);
  assert.equal(state.acknowledge(1), true);
  assert.equal(state.next(), null);
  assert.equal(state.settled, true);
});

Deno.test("PendingLikes rejects bad counts", () => {
  assert.throws(() => new PendingLikes({ maxPerMessage: 0 }), RangeError);
  assert.throws(() => new PendingLikes().add(-1), RangeError);
  assert.throws(() => new PendingLikes().add(1.5), RangeError);
});

Deno.test("property: with failures and retries, acknowledged catches up with generated exactly", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(fc.nat({ max: 42 }).map((n) => ({ add: n })), fc.boolean().map((ok) => ({ ok }))),
        {
          maxLength: 100,
        },
      ),
      (steps) => {
        const state = new PendingLikes({ maxPerMessage: 42 });
        const counted = new Map<number, number>();
        let lastSeq = 0;
        for (const step of steps) {
          if ("add" in step) {
            state.add(step.add);
            continue;
          }
          const m = state.next();
          if (!m) continue;
          assert.ok(m.likes <= 42);
          assert.ok(m.seq === lastSeq || m.seq === lastSeq + 1, "seqs have no gaps");
          lastSeq = m.seq;
          if (!counted.has(m.seq)) counted.set(m.seq, m.likes); // the server counts each seq once
          if (step.ok) state.acknowledge(m.seq);
          assert.equal(state.acknowledged + state.unacknowledged, state.generated);
        }
        for (let m = state.next(); m; m = state.next()) {
          if (!counted.has(m.seq)) counted.set(m.seq, m.likes);
          state.acknowledge(m.seq);
        }
        const total = [...counted.values()].reduce((a, b) => a + b, 0);
        assert.equal(state.acknowledged, state.generated);
        assert.equal(total, state.generated);
        assert.equal(state.settled, true);
      },
    ),
  );
});

Deno.test("PendingLikes.giveUp() sets a message's likes apart as sent without an answer, never resent", () => {
  const state = new PendingLikes({ maxPerMessage: 10 });
  state.add(15);
  assert.deepEqual(state.next(), { seq: 1, likes: 10 });
  assert.equal(state.giveUp(2), false, "only the message in flight");
  assert.equal(state.giveUp(1), true);
  assert.deepEqual(
    [state.acknowledged, state.unanswered, state.unacknowledged, state.generated],
    [0, 10, 5, 15],
  );
  assert.deepEqual(state.next(), { seq: 2, likes: 5 }, "the rest goes in a new message");
  state.acknowledge(2);
  assert.equal(state.settled, true);
  assert.equal(state.acknowledged + state.unanswered, state.generated);
});
