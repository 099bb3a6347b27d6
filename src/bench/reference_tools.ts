/**
 * The C reference tools the benchmark compares against — `likesload` (a load generator) and
 * `idealsrv` (the machine's limit for the protocol) — built from their sources in
 * `src/bench/reference/` (copied from the team's `shared/tools`) into the project's own, ignored
 * `.tools/` folder the first time the benchmark needs them, and again whenever a source is newer
 * than its binary. Nothing is run from a shared, world-writable place such as `/tmp`.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** The folder the tools are built into (`.tools/` in the project; the bench task may run them). */
export const TOOLS_DIR = here("../../.tools");

/** The tools, by name: where each one's source is and where its binary goes. */
export const REFERENCE_TOOLS = {
  likesload: { source: here("./reference/likesload.c"), binary: `${TOOLS_DIR}/likesload` },
  idealsrv: { source: here("./reference/idealsrv.c"), binary: `${TOOLS_DIR}/idealsrv` },
} as const;

/** The gcc arguments that build one tool (pure, so it is tested). */
export function buildArgs(tool: keyof typeof REFERENCE_TOOLS): string[] {
  const { source, binary } = REFERENCE_TOOLS[tool];
  return ["-O2", "-Wall", "-o", binary, source, ...(tool === "likesload" ? ["-lpthread"] : [])];
}

async function modified(path: string): Promise<number | null> {
  try {
    return (await Deno.stat(path)).mtime?.getTime() ?? 0;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** Where the built tools are, or why they are not available. */
export type ReferenceTools =
  | { readonly ok: true; readonly likesload: string; readonly idealsrv: string }
  | { readonly ok: false; readonly reason: string };

/**
 * Builds whichever tool is missing or older than its source (with `gcc`), and returns their paths.
 * Never throws: without gcc, or when a build fails, it says why.
 */
export async function ensureReferenceTools(): Promise<ReferenceTools> {
  try {
    await Deno.mkdir(TOOLS_DIR, { recursive: true });
    for (const tool of ["likesload", "idealsrv"] as const) {
      const { source, binary } = REFERENCE_TOOLS[tool];
      const built = await modified(binary);
      if (built !== null && built >= (await modified(source) ?? 0)) continue;
      const { code, stderr } = await new Deno.Command("gcc", {
        args: buildArgs(tool),
        stdout: "null",
        stderr: "piped",
      }).output();
      if (code !== 0) {
        return {
          ok: false,
          reason: `gcc could not build ${tool}: ${new TextDecoder().decode(stderr).trim()}`,
        };
      }
    }
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "gcc not found"
      : error instanceof Error
      ? error.message
      : String(error);
    return { ok: false, reason };
  }
  return {
    ok: true,
    likesload: REFERENCE_TOOLS.likesload.binary,
    idealsrv: REFERENCE_TOOLS.idealsrv.binary,
  };
}
