import assert from "node:assert/strict";
import { getConfig } from "@logtape/logtape";
import { LineClient } from "../protocol/line_client.ts";
import { serveLikes } from "./likes_service.ts";

Deno.test("serveLikes() leaves logging to its caller: without a log file nothing is configured or written", async () => {
  assert.equal(getConfig(), null, "nothing configured before");
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "likes-service-" });
  try {
    {
      await using server = await serveLikes({ workers: 2, dataDir: `${dir}/data` });
      using client = await LineClient.connect({ port: server.port });
      assert.equal(await client.request("LikesServer1 4"), "ACK");
      assert.match(await client.request("LikesServer1 99"), /^ERR /);
      assert.equal(server.table.total(), 4);
      assert.equal(getConfig(), null, "serveLikes() did not configure this thread's logging");
    }
    assert.equal(getConfig(), null);
    const files = [];
    for await (const entry of Deno.readDir(dir)) files.push(entry.name);
    assert.deepEqual(files, ["data"], "no log file appeared");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
