import assert from "node:assert/strict";
import { type FoundTools, OPTIONAL_TOOLS, parseFound, testArgs } from "./run_tests.ts";

/**
 * `findTools(path)` in a process granted `sh`, as the launcher is (the tests themselves may not
 * run a shell).
 */
async function findTools(path: string): Promise<FoundTools> {
  const launcher = new URL("./run_tests.ts", import.meta.url).href;
  const output = await new Deno.Command("deno", {
    args: [
      "eval",
      `import { findTools } from "${launcher}";
       Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(await findTools(${
        JSON.stringify(path)
      }))));`,
    ],
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return JSON.parse(new TextDecoder().decode(output.stdout));
}

Deno.test("findTools() finds a tool wherever PATH has it, first match first, and leaves out what is not there", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "likes-run-tests-" });
  try {
    // A redis-cli in a folder of its own, before the system's on PATH (as /usr/local/bin would be).
    await Deno.writeTextFile(`${dir}/redis-cli`, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    const found = await findTools(`${dir}:/usr/bin:/bin`);
    assert.equal(found["redis-cli"], `${dir}/redis-cli`);
    const none = await findTools(dir);
    assert.deepEqual(
      Object.keys(none),
      ["redis-cli"],
      "a PATH without the others finds none of them",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("testArgs() grants deno and exactly the tools found, by path; passes the rest on", () => {
  assert.deepEqual(testArgs({}, ["tests/parent_test.ts"]), [
    "test",
    "--doc",
    "--no-prompt",
    "--allow-env=REDIS_DEBUG_MAINTENANCE,LIKES_TOOLS",
    "--allow-net=127.0.0.1",
    "--allow-read=.,/tmp",
    "--allow-write=/tmp",
    "--allow-run=deno",
    "tests/parent_test.ts",
  ]);
  const all = Object.fromEntries(OPTIONAL_TOOLS.map((name) => [name, `/opt/bin/${name}`]));
  const run = testArgs(all, []).find((a) => a.startsWith("--allow-run="))!;
  assert.deepEqual(run.split("=")[1]!.split(","), [
    "deno",
    ...OPTIONAL_TOOLS.map((n) => `/opt/bin/${n}`),
  ]);
});

Deno.test("parseFound() keeps absolute paths of known tools only", () => {
  assert.deepEqual(parseFound("python3=/usr/bin/python3\nchromium=\nls=/bin/ls\nip=ip\n"), {
    python3: "/usr/bin/python3",
  });
});

Deno.test("the tests find each tool where the launcher found it (LIKES_TOOLS), and skip one it did not find", async () => {
  const helper = new URL("../tests/_tools.ts", import.meta.url).href;
  const output = await new Deno.Command("deno", {
    args: [
      "eval",
      "--allow-env=LIKES_TOOLS",
      `import { toolMissing, toolPath } from "${helper}";
       console.log(JSON.stringify([toolPath("script"), toolPath("chromium"), toolMissing("chromium")]));`,
    ],
    env: { LIKES_TOOLS: JSON.stringify({ script: "/usr/local/bin/script" }) },
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  assert.deepEqual(JSON.parse(new TextDecoder().decode(output.stdout)), [
    "/usr/local/bin/script",
    null,
    "chromium not found on PATH",
  ]);
});
