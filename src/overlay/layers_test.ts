/**
 * The overlay's folders are its layers, and an import only goes down: cli/ may use everything
 * below it; client/ and node/ use domain/ and wire/ (not each other); domain/ uses wire/ only
 * for types it names in its own interfaces; wire/ uses no other folder of the overlay. Test
 * files may reach sideways (a node test asks through the client).
 */

import assert from "node:assert/strict";

const LAYERS: Readonly<Record<string, number>> = { wire: 0, domain: 1, node: 2, client: 2, cli: 3 };
const ROOT = new URL("./", import.meta.url);

/** Every overlay folder each non-test module of `folder` imports from. */
async function importedFolders(folder: string): Promise<Map<string, Set<string>>> {
  const found = new Map<string, Set<string>>();
  for await (const entry of Deno.readDir(new URL(`${folder}/`, ROOT))) {
    if (!entry.name.endsWith(".ts") || entry.name.endsWith("_test.ts")) continue;
    const text = await Deno.readTextFile(new URL(`${folder}/${entry.name}`, ROOT));
    const targets = new Set<string>();
    // Only real imports: a line that starts with import/export … from "…".
    for (const match of text.matchAll(/^(?:import|export)[^;]*?from\s+"(\.[^"]+)"/gms)) {
      const target = new URL(match[1]!, new URL(`${folder}/${entry.name}`, ROOT)).href;
      if (!target.startsWith(ROOT.href)) continue;
      const [first, ...rest] = target.slice(ROOT.href.length).split("/");
      if (rest.length > 0 && first! in LAYERS) targets.add(first!);
    }
    found.set(`${folder}/${entry.name}`, targets);
  }
  return found;
}

Deno.test("every overlay module sits in a layer folder, and imports only from its own layer or below", async () => {
  const loose: string[] = [];
  for await (const entry of Deno.readDir(ROOT)) {
    if (entry.isFile && entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) {
      loose.push(entry.name);
    }
  }
  assert.deepEqual(loose, [], "modules outside the layer folders");
  const upward: string[] = [];
  for (const folder of Object.keys(LAYERS)) {
    for (const [file, targets] of await importedFolders(folder)) {
      for (const target of targets) {
        if (target !== folder && LAYERS[target]! >= LAYERS[folder]!) {
          upward.push(`${file} imports ${target}/`);
        }
      }
    }
  }
  assert.deepEqual(upward, []);
});
