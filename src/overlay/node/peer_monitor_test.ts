/**
 * The heartbeats over real sockets: a neighbour that keeps its connection but stops answering (as
 * a half-open peer) is marked down within the stated time, published for the other threads and
 * reported; when it answers again a probe brings it back up.
 */

import assert from "node:assert/strict";
import { FrameConn, PeerLink } from "../wire/frame_conn.ts";
import { PeerHealth } from "../domain/peer_health.ts";
import { PeerTable } from "../domain/peer_table.ts";
import { PeerMonitor } from "./peer_monitor.ts";
import { TEST_SECRET } from "../../../tests/_overlay.ts";
import { until } from "../../../tests/_helpers.ts";

/** A neighbour "B" that answers `ping` with `pong` while `answering` is true, else stays mute. */
function fakeNeighbour() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<FrameConn>();
  const state = { answering: true };
  const accepting = (async () => {
    for await (const tcp of listener) {
      const conn = new FrameConn(tcp);
      conns.add(conn);
      (async () => {
        await conn.accept(TEST_SECRET, "B", 1000);
        for await (const value of conn.values()) {
          const { type, rid } = value as { type: string; rid: number };
          if (type === "ping" && state.answering) await conn.send({ type: "pong", rid });
        }
      })().catch(() => {}).finally(() => {
        conn.close();
        conns.delete(conn);
      });
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    state,
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const conn of conns) conn.close();
      await accepting.catch(() => {});
    },
  };
}

Deno.test("a neighbour that stops answering on an open connection is marked down, then up when it answers", async () => {
  await using neighbour = fakeNeighbour();
  const table = PeerTable.create(["B"]);
  const events: string[] = [];
  const health = new PeerHealth({
    peers: ["B"],
    heartbeatMs: 50,
    downAfterMs: 300,
    maxProbeMs: 100,
    now: Date.now(),
  });
  const link = new PeerLink({ hostname: "127.0.0.1", port: neighbour.port, secret: TEST_SECRET });
  using _monitor = (() => {
    const monitor = new PeerMonitor({
      links: new Map([["B", link]]),
      health,
      table,
      onDown: (id, reason) => events.push(`down ${id}: ${reason}`),
      onUp: (id) => events.push(`up ${id}`),
    });
    monitor.start();
    return monitor;
  })();
  await until("B is heard", () => Promise.resolve(table.read("B")?.lastHeard !== null));
  assert.equal(table.read("B")?.state, "up");

  neighbour.state.answering = false;
  const mutedAt = Date.now();
  await until("B is marked down", () => Promise.resolve(table.read("B")?.state === "down"), 3000);
  const silentMs = Date.now() - table.read("B")!.lastHeard!;
  assert.ok(silentMs >= 300, `down after ${silentMs} ms of silence, not before`);
  assert.ok(Date.now() - mutedAt < 1500, "and soon after");
  assert.deepEqual(events, ["down B: marked down: silent for more than 300 ms"]);
  assert.equal(table.read("B")!.downs, 1);

  neighbour.state.answering = true;
  await until("B is up again", () => Promise.resolve(table.read("B")?.state === "up"), 3000);
  assert.deepEqual(events.at(-1), "up B");
});
