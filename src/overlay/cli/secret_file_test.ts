import assert from "node:assert/strict";
import { UsageError } from "../../cli/flags.ts";
import { tempDir } from "../../../tests/_helpers.ts";
import { createSecretFile, readSecretFile } from "./secret_file.ts";

Deno.test("createSecretFile makes a secret readable by its owner only, once; readSecretFile reads it", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/cluster.key`;
  assert.equal(await createSecretFile(path), true);
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  const text = await Deno.readTextFile(path);
  assert.equal(await createSecretFile(path), false, "an existing secret is kept");
  assert.equal(await Deno.readTextFile(path), text);
  assert.equal((await readSecretFile(path)).toText(), text.trim());
});

Deno.test("readSecretFile: a missing or short secret is a one-line UsageError naming the file", async () => {
  await using dir = await tempDir();
  const missing = `${dir.path}/none.key`;
  await assert.rejects(
    readSecretFile(missing),
    (e) =>
      e instanceof UsageError && e.message.startsWith(`${missing}: no such file`) &&
      !e.message.includes("\n"),
  );
  await Deno.writeTextFile(`${dir.path}/short.key`, "tiny\n");
  await assert.rejects(
    readSecretFile(`${dir.path}/short.key`),
    /short\.key: a cluster secret must be at least 32 characters: this one has 4/,
  );
});
