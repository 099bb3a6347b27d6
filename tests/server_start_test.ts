/**
 * Starting the server: port 0, `--help`, bad flags, and a port that another server holds.
 */

import assert from "node:assert/strict";
import { PROJECT, serverArgs, startServer } from "../src/launch/processes.ts";
import { runDeno, stats, tempDir } from "./_helpers.ts";

Deno.test("server.ts refuses a port another server holds, even with several Workers", async () => {
  await using dir = await tempDir();
  await using first = await startServer({ logDir: dir.path, workers: 2 });
  await using other = await tempDir();
  const second = await runDeno(
    serverArgs({ logDir: other.path, port: first.port, workers: 2 }),
    15_000,
  );
  assert.equal(second.code, 1);
  assert.match(
    second.stderr,
    new RegExp(`Cannot listen on 127\\.0\\.0\\.1:${first.port}: the address is already in use`),
  );
  assert.equal(second.stdout, "");
  // The first server still has every connection to itself.
  const results = await Promise.all(Array.from({ length: 20 }, () => stats(first.port)));
  assert.ok(results.every((s) => s.workers === 2));
});

Deno.test("server.ts --help prints every flag and exits 0; a bad flag exits 2 with the usage hint", async () => {
  const help = await runDeno(["run", `--config=${PROJECT.config}`, PROJECT.server, "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: deno task server \[flags\]/);
  for (
    const flag of ["--host", "--port", "--workers", "--log-dir", "--max-likes", "--idle-timeout"]
  ) {
    assert.ok(help.stdout.includes(flag), flag);
  }
  const bad = await runDeno(["run", `--config=${PROJECT.config}`, PROJECT.server, "--workers=0"]);
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /^error: --workers must be a whole number from 1 to 256: current value is "0"\nRun with --help for usage\.\n$/,
  );
});
