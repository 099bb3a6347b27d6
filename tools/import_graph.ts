/**
 * The import graph of the code and the rule it must keep (README "Code layout"): every module
 * sits in a wing; a wing imports only wings of a lower layer (never one beside it or above it);
 * the store is entered through its doors only; the likes wings are handed a recorder instead of
 * importing telemetry; no module imports itself back through others.
 * Test files may reach sideways (they are not modules of the product) and are left out.
 *
 * `deno run --allow-read=. tools/import_graph.ts` prints the wing-to-wing arrows with their
 * counts, then every broken rule; it exits 1 if there is one. `import_graph_test.ts` runs the
 * same check over the tree, so the rule stays true.
 *
 * @module
 */

/** Layer of each wing: a module may import from its own wing or from a wing of a lower layer. */
export const LAYERS: Readonly<Record<string, number>> = {
  // Tiny helpers with no imports of ours.
  base: 0,
  // Shared foundations: flags and signals, logging, telemetry instruments, the wire formats,
  // Workers that share a port.
  cli: 1,
  log: 1,
  telemetry: 1,
  protocol: 1,
  "overlay/wire": 1,
  threads: 1,
  // Where counts live, and the overlay's pure logic.
  store: 2,
  "overlay/domain": 2,
  // Services: the PrimaryLikesServer and one LikesServer.
  server: 3,
  edge: 3,
  // Services built on those: a node (its own PrimaryLikesServer), asking a node, the live page.
  "overlay/node": 4,
  "overlay/client": 4,
  view: 4,
  // Starting our programs and Redis as processes (for runners and tests).
  launch: 5,
  // Runners: processes, reports, views.
  demo: 6,
  parent: 6,
  bench: 6,
  "overlay/cli": 6,
  viewer: 6,
  // Entry points and the library API, at the project's root.
  entry: 7,
};

/**
 * The only modules of a wing that other wings may import (a wing not named here may be
 * imported anywhere). The store is opened through one door and seen through its interface; its
 * shared table may be read by its owner (a node reads its own rows from it, in Workers that
 * should not load the Redis client the door can load).
 */
export const DOORS: Readonly<Record<string, readonly string[]>> = {
  store: [
    "src/store/likes_store.ts",
    "src/store/open_store.ts",
    "src/store/embedded/likes_table.ts",
  ],
};

/**
 * Wings that import nothing of telemetry: whoever starts them hands them a recorder (the server
 * its `ServerRecorder`), so their code and tests run the same with telemetry on or off.
 */
export const HANDED_A_RECORDER: readonly string[] = ["store", "server", "edge"];

/** Module path (relative to the project, `/`-separated) → the modules it imports. */
export type ImportGraph = ReadonlyMap<string, ReadonlySet<string>>;

/** The wing a module belongs to, or `null` for a module outside every wing (a loose file). */
export function wingOf(path: string): string | null {
  const parts = path.split("/");
  if (parts.length === 1) return "entry";
  if (parts[0] !== "src" || parts.length === 2) return null;
  if (parts[1] === "overlay") return parts.length > 3 ? `overlay/${parts[2]}` : null;
  return parts[1]!;
}

const STATIC_IMPORT = /^(?:import|export)\s[^;]*?from\s+"(\.{1,2}\/[^"]+)"/gms;
const BARE_IMPORT = /^import\s+"(\.{1,2}\/[^"]+)"/gm;
const DYNAMIC_IMPORT = /\bimport\(\s*"(\.{1,2}\/[^"]+)"\s*\)/g;
/** A Worker module is imported too, by URL. */
const WORKER_URL = /new\s+URL\(\s*"(\.{1,2}\/[^"]+\.ts)",\s*import\.meta\.url\s*\)/g;

/**
 * The relative specifiers `text` imports (JSDoc examples, indented, are not imports); with
 * `loadedLater` false, only those loaded with the module (no `import()`, no Worker URL).
 */
export function specifiersOf(text: string, loadedLater = true): string[] {
  const found: string[] = [];
  const patterns = loadedLater
    ? [STATIC_IMPORT, BARE_IMPORT, DYNAMIC_IMPORT, WORKER_URL]
    : [STATIC_IMPORT, BARE_IMPORT];
  for (const pattern of patterns) {
    for (const match of text.matchAll(pattern)) found.push(match[1]!);
  }
  return found;
}

/** `specifier` seen from `from`, as a project path (`null` if it leaves the project). */
export function resolvePath(from: string, specifier: string): string | null {
  const parts = from.split("/").slice(0, -1);
  for (const part of specifier.split("/")) {
    if (part === "..") {
      if (parts.length === 0) return null;
      parts.pop();
    } else if (part !== ".") parts.push(part);
  }
  return parts.join("/");
}

/**
 * Broken rules in `graph`: an import into a wing beside or above, past a door, of telemetry by a
 * wing handed a recorder, or from a loose file.
 */
export function layerViolations(graph: ImportGraph): string[] {
  const broken: string[] = [];
  for (const [from, targets] of graph) {
    const wing = wingOf(from);
    if (wing === null) {
      broken.push(`${from} is in no wing`);
      continue;
    }
    for (const to of targets) {
      const target = wingOf(to);
      if (target === wing) continue;
      // An entry point may start another entry point (a Worker, a child process): not an import.
      if (target === "entry" && !to.endsWith("mod.ts")) continue;
      if (target === null) {
        broken.push(`${from} imports ${to}, which is in no wing`);
      } else if (!(target in LAYERS) || !(wing in LAYERS)) {
        broken.push(
          `${from} imports ${to}: wing ${!(wing in LAYERS) ? wing : target} has no layer`,
        );
      } else if (LAYERS[target]! >= LAYERS[wing]!) {
        broken.push(
          `${from} (${wing}, layer ${LAYERS[wing]}) imports ${to} (${target}, layer ${
            LAYERS[target]
          })`,
        );
      } else if (wing !== "entry" && DOORS[target] && !DOORS[target].includes(to)) {
        broken.push(`${from} imports ${to}, past the doors of ${target}/ (${DOORS[target]})`);
      } else if (target === "telemetry" && HANDED_A_RECORDER.includes(wing)) {
        broken.push(
          `${from} imports ${to}: ${wing}/ is handed a recorder, it imports no telemetry`,
        );
      }
    }
  }
  return broken.sort();
}

/** Every import cycle in `graph`, each as the modules on it (Tarjan's strongly connected components). */
export function importCycles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  let next = 0;
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    for (const to of graph.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node)!, index.get(to)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || graph.get(node)?.has(node)) cycles.push(component.sort());
    }
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return cycles;
}

/** Every module `from` imports, directly or through others (itself not included unless on a cycle). */
export function reachableFrom(graph: ImportGraph, from: string): Set<string> {
  const seen = new Set<string>();
  const next = [...(graph.get(from) ?? [])];
  while (next.length > 0) {
    const module = next.pop()!;
    if (seen.has(module)) continue;
    seen.add(module);
    next.push(...(graph.get(module) ?? []));
  }
  return seen;
}

/** Wing → wing arrows with how many imports each stands for. */
export function wingArrows(graph: ImportGraph): Map<string, number> {
  const arrows = new Map<string, number>();
  for (const [from, targets] of graph) {
    for (const to of targets) {
      const a = wingOf(from) ?? `(loose) ${from}`;
      const b = wingOf(to) ?? `(loose) ${to}`;
      if (a !== b) arrows.set(`${a} -> ${b}`, (arrows.get(`${a} -> ${b}`) ?? 0) + 1);
    }
  }
  return new Map([...arrows].sort(([a], [b]) => a.localeCompare(b)));
}

/** The modules under `root` (the project's `.ts` files at the root and in `src/`, no tests). */
export async function readImportGraph(
  root: URL,
  loadedLater = true,
): Promise<Map<string, Set<string>>> {
  const modules: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(new URL(dir || ".", root))) {
      const path = dir + entry.name;
      if (entry.isDirectory && (dir !== "" || entry.name === "src")) await walk(`${path}/`);
      else if (entry.isFile && path.endsWith(".ts") && !path.endsWith("_test.ts")) {
        modules.push(path);
      }
    }
  };
  await walk("");
  const graph = new Map<string, Set<string>>();
  for (const module of modules.sort()) {
    const text = await Deno.readTextFile(new URL(module, root));
    const targets = new Set<string>();
    for (const specifier of specifiersOf(text, loadedLater)) {
      const path = resolvePath(module, specifier);
      if (path !== null && path.endsWith(".ts")) targets.add(path);
    }
    graph.set(module, targets);
  }
  return graph;
}

if (import.meta.main) {
  const graph = await readImportGraph(new URL("../", import.meta.url));
  const out = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(`${line}\n`));
  out(`${graph.size} modules; wing -> wing (imports):`);
  for (const [arrow, count] of wingArrows(graph)) out(`  ${arrow} (${count})`);
  const broken = layerViolations(graph);
  const cycles = importCycles(graph);
  for (const line of broken) out(`broken: ${line}`);
  for (const cycle of cycles) out(`cycle: ${cycle.join(" <-> ")}`);
  out(`${broken.length} broken rule(s), ${cycles.length} cycle(s)`);
  Deno.exit(broken.length + cycles.length > 0 ? 1 : 0);
}
