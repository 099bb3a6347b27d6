import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { buildArgs, REFERENCE_TOOLS, TOOLS_DIR } from "./reference_tools.ts";

Deno.test("the reference tools are built from the project's sources into its own .tools/ folder", async () => {
  const project = fileURLToPath(new URL("../../", import.meta.url));
  assert.equal(TOOLS_DIR, `${project}.tools`);
  for (const [name, tool] of Object.entries(REFERENCE_TOOLS)) {
    assert.ok(tool.binary.startsWith(`${project}.tools/`), `${name} is run from .tools/, not /tmp`);
    assert.ok((await Deno.stat(tool.source)).isFile, `${name}'s source is in the project`);
  }
  assert.deepEqual(buildArgs("idealsrv"), [
    "-O2",
    "-Wall",
    "-o",
    REFERENCE_TOOLS.idealsrv.binary,
    REFERENCE_TOOLS.idealsrv.source,
  ]);
  assert.equal(buildArgs("likesload").at(-1), "-lpthread");
  assert.match(await Deno.readTextFile(`${project}.gitignore`), /^\.tools\/$/m, "ignored by git");
});
