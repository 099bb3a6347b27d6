/**
 * The power-loss filesystem itself (tests/_power_cut.ts): what survives a cut is exactly what was
 * flushed — file data by fsync/fdatasync, names by a flush of their directory — a torn cut keeps
 * a prefix cut at a 512-byte boundary, and injected ENOSPC/EIO fail the calls until healed (a
 * failed flush loses its writes for good). If these did not hold, the durability tests run on it
 * would prove nothing. Skipped with the reason where FUSE cannot be mounted.
 */

import assert from "node:assert/strict";
import { nameIfSkipped } from "./_helpers.ts";
import { PowerCutFs, powerCutSkipReason } from "./_power_cut.ts";

const reason = await powerCutSkipReason();
if (reason) {
  Deno.stderr.writeSync(new TextEncoder().encode(`power_cut_fs_test skipped: ${reason}\n`));
}

async function syncDir(path: string): Promise<void> {
  using dir = await Deno.open(path, { read: true });
  await dir.sync();
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

Deno.test({
  name: nameIfSkipped(
    "the power-loss filesystem keeps across a cut only what was flushed",
    reason,
  ),
  ignore: reason !== null,
  async fn(t) {
    await using fs = await PowerCutFs.mount();
    const root = fs.mountPoint;

    await t.step("data: flushed bytes survive, the unflushed tail is dropped", async () => {
      const path = `${root}/data.log`;
      {
        using file = await Deno.open(path, { write: true, create: true, append: true });
        await syncDir(root);
        await file.write(bytes(1000, 1));
        await file.syncData();
        await file.write(bytes(700, 2));
        assert.equal((await Deno.stat(path)).size, 1700, "readers see the unflushed writes");
      }
      assert.match(await fs.cut(), /dropped=700 /);
      assert.deepEqual(await Deno.readFile(path), bytes(1000, 1));
    });

    await t.step("names: a file whose directory was not flushed vanishes", async () => {
      const kept = `${root}/kept`;
      const lost = `${root}/lost`;
      await Deno.writeFile(kept, bytes(10, 3));
      using keptFile = await Deno.open(kept, { write: true });
      await keptFile.syncData();
      await syncDir(root);
      await Deno.writeFile(lost, bytes(10, 4));
      using lostFile = await Deno.open(lost, { write: true });
      await lostFile.syncData(); // its data is on disk, its name is not
      await fs.cut();
      assert.deepEqual(await Deno.readFile(kept), bytes(10, 3));
      assert.equal(await exists(lost), false);
    });

    await t.step("names: a rename or a delete not flushed is undone", async () => {
      const a = `${root}/a`;
      await Deno.writeFile(a, bytes(5, 5));
      {
        using file = await Deno.open(a, { write: true });
        await file.syncData();
      }
      await syncDir(root);
      await Deno.rename(a, `${root}/b`);
      await Deno.remove(`${root}/kept`);
      await fs.cut();
      assert.deepEqual(await Deno.readFile(a), bytes(5, 5));
      assert.equal(await exists(`${root}/b`), false);
      assert.equal(await exists(`${root}/kept`), true);
      await Deno.rename(a, `${root}/b`);
      await syncDir(root);
      await fs.cut();
      assert.equal(await exists(a), false);
      assert.deepEqual(await Deno.readFile(`${root}/b`), bytes(5, 5));
    });

    await t.step(
      "names: a directory whose parent was not flushed vanishes with its files",
      async () => {
        const dir = `${root}/new-dir`;
        await Deno.mkdir(dir);
        await Deno.writeFile(`${dir}/f`, bytes(3, 6));
        using file = await Deno.open(`${dir}/f`, { write: true });
        await file.syncData();
        await syncDir(dir);
        await fs.cut();
        assert.equal(await exists(dir), false);
        await Deno.mkdir(dir);
        await syncDir(root);
        await fs.cut();
        assert.equal(await exists(dir), true);
      },
    );

    await t.step(
      "a torn cut keeps a prefix of the writes, cut at a 512-byte boundary",
      async () => {
        const sizes = new Set<number>();
        for (let seed = 1; seed <= 12; seed++) {
          const path = `${root}/torn-${seed}`;
          using file = await Deno.open(path, { write: true, create: true, append: true });
          await file.syncData();
          await syncDir(root);
          for (let i = 0; i < 10; i++) await file.write(bytes(300, 10 + i));
          await fs.tornCut(seed);
          const kept = await Deno.readFile(path);
          const whole = new Uint8Array(3000);
          for (let i = 0; i < 10; i++) whole.fill(10 + i, i * 300, (i + 1) * 300);
          assert.ok(kept.length === 3000 || kept.length % 512 === 0, `kept ${kept.length} bytes`);
          assert.deepEqual(kept, whole.subarray(0, kept.length), "a prefix, byte for byte");
          sizes.add(kept.length);
        }
        assert.ok(sizes.size >= 3, `torn cuts kept different prefixes: ${[...sizes]}`);
      },
    );

    await t.step("ENOSPC fails writes until healed", async () => {
      using file = await Deno.open(`${root}/full`, { write: true, create: true });
      await fs.failWrites("full");
      await assert.rejects(file.write(bytes(10, 1)), /No space left on device|os error 28/);
      await fs.heal();
      assert.equal(await file.write(bytes(10, 1)), 10);
    });

    await t.step(
      "EIO fails flushes until healed, and a failed flush's writes are lost",
      async () => {
        const path = `${root}/eio`;
        using file = await Deno.open(path, { write: true, create: true });
        await file.syncData();
        await syncDir(root);
        await file.write(bytes(100, 7));
        await fs.failFlushes("eio");
        await assert.rejects(file.syncData(), /Input\/output error|os error 5/);
        await fs.heal();
        await file.write(bytes(50, 8));
        await file.syncData(); // succeeds, but the 100 bytes before the failure never reach the disk
        assert.equal(
          (await Deno.readFile(path)).length,
          150,
          "readers still see them until the cut",
        );
        await fs.cut();
        const after = await Deno.readFile(path);
        assert.equal(after.length, 150);
        assert.deepEqual(after.subarray(0, 100), bytes(100, 0), "lost: the disk has a hole there");
        assert.deepEqual(after.subarray(100), bytes(50, 8));
      },
    );
  },
});
