/**
 * The README's "run it" command, shortened: `deno task demo` converges and stops the server.
 */

import assert from "node:assert/strict";
import { runnerArgs } from "../src/launch/processes.ts";
import { redisMissing } from "../src/launch/redis_process.ts";
import { nameIfSkipped, readLines, runDeno, tempDir } from "./_helpers.ts";

Deno.test("demo.ts runs a server and a parent, prints a converged table and stops cleanly", async () => {
  await using dir = await tempDir();
  const output = await runDeno(
    runnerArgs("demo", dir.path, [
      "--children=3",
      "--stagger=0.1",
      "--duration=1.5",
      "--min-interval=0.05",
      "--max-interval=0.2",
    ]),
    60_000,
  );
  const { stdout, stderr } = output;
  assert.equal(output.code, 0, stderr);
  assert.match(stdout, /^verdict: CONVERGED: all 3 LikesServers exited 0/m);
  assert.match(stderr, /demo: PrimaryLikesServer pid \d+ listening on 127\.0\.0\.1:\d+/);
  assert.match(stderr, /demo: server stopped \(exit 0\)/);
  assert.match(stderr, /^view at http:\/\/127\.0\.0\.1:\d+\/$/m, "the demo serves the live view");
  const primary = await readLines(`${dir.path}/PrimaryLikesLog`);
  assert.ok(
    primary.some((l) => / stopped: total \d+ likes from 3 client\(s\)/.test(l)),
    "the server stopped cleanly",
  );
  assert.match(
    primary.at(-1)!,
    / journal: \d+ record\(s\) written with \d+ flush\(es\) \(always\)/,
  );
});

Deno.test({
  name: nameIfSkipped(
    "deno task demo --store redis: the demo starts a Redis, the server counts in it, and it converges",
    redisMissing(),
  ),
  ignore: redisMissing() !== null,
  async fn() {
    await using dir = await tempDir();
    const output = await runDeno(
      runnerArgs("demo", dir.path, [
        "--store=redis",
        "--children=3",
        "--stagger=0.1",
        "--duration=1.5",
        "--min-interval=0.05",
        "--max-interval=0.2",
        "--no-view",
      ]),
      60_000,
    );
    assert.equal(output.code, 0, output.stderr);
    assert.match(output.stdout, /^verdict: CONVERGED: all 3 LikesServers exited 0/m);
    assert.match(
      output.stderr,
      /demo: redis-server pid \d+ on 127\.0\.0\.1:\d+ \(appendfsync always/,
    );
    assert.ok(
      (await Deno.stat(`${dir.path}/redis/appendonlydir`)).isDirectory,
      "Redis's own files",
    );
  },
});

Deno.test("a first run fetches only the npm packages the programs import, not the tests' (playwright-core, fast-check)", async () => {
  await using dir = await tempDir();
  const denoDir = `${dir.path}/deno-dir`; // an empty cache, as on a fresh machine
  const output = await runDeno(
    runnerArgs("demo", dir.path, [
      "--children=1",
      "--stagger=0",
      "--duration=0.3",
      "--min-interval=0.05",
      "--max-interval=0.1",
      "--no-view",
    ]),
    120_000,
    { DENO_DIR: denoDir },
  );
  assert.equal(output.code, 0, output.stderr);
  const fetched: string[] = [];
  for await (const entry of Deno.readDir(`${denoDir}/npm/registry.npmjs.org`)) {
    fetched.push(entry.name);
  }
  assert.ok(fetched.includes("@logtape"), `the programs' own packages: ${fetched}`);
  for (const testOnly of ["playwright-core", "fast-check"]) {
    assert.ok(!fetched.includes(testOnly), `${testOnly} was fetched: ${fetched}`);
  }
});
