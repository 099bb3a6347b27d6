import { storeContract } from "../store_contract.ts";
import { EmbeddedStore } from "./embedded_store.ts";
import { openDataDir } from "./data_dir.ts";
import { JournalRing } from "./journal_ring.ts";
import { JournalWriter } from "./journal_writer.ts";
import { LikesTable } from "./likes_table.ts";
import { recover } from "./recovery.ts";
import { getLogger } from "@logtape/logtape";

Deno.test("the embedded store in memory keeps the store contract", async (t) => {
  await storeContract(t, (maxClients) => {
    const table = LikesTable.create({ maxClients });
    return Promise.resolve({
      store: new EmbeddedStore(table),
      [Symbol.asyncDispose]: () => Promise.resolve(),
    });
  });
});

for (const fsync of ["always", "interval", "never"] as const) {
  Deno.test(`the embedded store with a journal (--fsync ${fsync}) keeps the store contract`, async (t) => {
    await storeContract(t, async (maxClients) => {
      const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "likes-store-" });
      const lock = await openDataDir(dir);
      const recovered = await recover(dir);
      const ring = JournalRing.create({ capacity: 64 });
      const table = LikesTable.create({ maxClients, journal: ring });
      const writer = await JournalWriter.start(ring, recovered, new Map(), {
        dir,
        fsync,
        fsyncIntervalMs: 20,
        log: getLogger(["likes", "test"]),
      });
      return {
        store: new EmbeddedStore(table, fsync === "never" ? null : ring),
        async [Symbol.asyncDispose]() {
          await writer.stop();
          lock[Symbol.dispose]();
          await Deno.remove(dir, { recursive: true });
        },
      };
    });
  });
}
