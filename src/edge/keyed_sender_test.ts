import assert from "node:assert/strict";
import { KeyedSender } from "./keyed_sender.ts";

/** A server on 127.0.0.1 that answers each line with the next of `replies`. */
function answering(replies: string[]) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    const conn = await listener.accept();
    const buffer = new Uint8Array(1024);
    for (const reply of replies) {
      if (await conn.read(buffer) === null) break;
      await conn.write(new TextEncoder().encode(`${reply}\n`));
    }
    conn.close();
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async [Symbol.asyncDispose]() {
      listener.close();
      await served;
    },
  };
}

Deno.test("KeyedSender: ERR store unknown is unanswered (maybe counted: resent), other ERRs are refusals", async () => {
  await using server = answering([
    "ERR store unknown: it may have been counted (resend only a keyed message)",
    "ERR store unavailable",
    "ACK seq=1 client=5 total=5",
  ]);
  using sender = new KeyedSender({
    servers: [{ host: "127.0.0.1", port: server.port }],
    connectTimeoutMs: 1000,
    replyTimeoutMs: 1000,
    protocol: "keyed",
    connection: "persistent",
    ack: "prefix",
  });
  const lost = await sender.exchange("LIKE k 1 5", 1);
  assert.equal(lost.kind, "unanswered");
  assert.deepEqual(await sender.exchange("LIKE k 1 5", 1), {
    kind: "rejected",
    reply: "ERR store unavailable",
  });
  assert.equal((await sender.exchange("LIKE k 1 5", 1)).kind, "acknowledged");
});
