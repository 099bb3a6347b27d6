import assert from "node:assert/strict";
import { connectFirst } from "./exchange.ts";

/** A port nothing listens on (it was free a moment ago). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

Deno.test("connectFirst() starts at the given server, goes round once, and names the one that took it", async () => {
  using up = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const live = { host: "127.0.0.1", port: (up.addr as Deno.NetAddr).port };
  const dead = { host: "127.0.0.1", port: closedPort() };
  const servers = [live, dead, dead];
  for (const from of [0, 1, 2]) {
    const { conn, index } = await connectFirst(servers, from, 1000);
    conn.close();
    (await up.accept()).close();
    assert.equal(index, 0, `from ${from}: past the dead ones, round to the first`);
  }
  await assert.rejects(
    connectFirst([dead, dead], 0, 1000),
    Deno.errors.ConnectionRefused,
    "none accepts: the last server's error",
  );
});
