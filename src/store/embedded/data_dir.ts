/**
 * The server's data directory: created if missing, checked, and locked so that two servers never
 * write the same one. Errors say in one line what is wrong and what to do.
 *
 * Files inside: `LOCK` (holds the owner's pid while it runs), `journal-<segment>.log` and
 * `snapshot-<segment>.json`.
 *
 * @module
 */

import { dirname } from "node:path";

/** The data directory cannot be used; `message` says why. */
export class DataDirError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DataDirError";
  }
}

/** A data directory this process owns until it releases it. */
export interface DataDir extends Disposable {
  /** The directory. */
  readonly path: string;
  /** Releases the lock (also released by the OS if the process dies). */
  release(): void;
}

function denied(error: unknown): boolean {
  return error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied;
}

/**
 * Opens (creating if needed) and locks `path`.
 *
 * @throws {DataDirError} If it is not a directory, may not be read or written, or another running
 *   server holds it.
 */
export async function openDataDir(path: string): Promise<DataDir> {
  const grant = `--allow-read=${path} --allow-write=${path}`;
  const why = (error: unknown) =>
    denied(error) ? `no permission; run deno with ${grant}` : String(error);
  try {
    const info = await Deno.stat(path);
    if (!info.isDirectory) {
      throw new DataDirError(`Cannot use data directory ${path}: it is not a directory`);
    }
  } catch (error) {
    if (error instanceof DataDirError) throw error;
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new DataDirError(`Cannot use data directory ${path}: ${why(error)}`, { cause: error });
    }
    await makeDirDurably(path, why);
  }
  let lock: Deno.FsFile;
  try {
    lock = await Deno.open(`${path}/LOCK`, { read: true, write: true, create: true });
  } catch (error) {
    throw new DataDirError(`Cannot use data directory ${path}: ${why(error)}`, { cause: error });
  }
  if (!(await lock.tryLock(true))) {
    const owner = (await Deno.readTextFile(`${path}/LOCK`).catch(() => "")).trim();
    lock.close();
    throw new DataDirError(
      `Cannot use data directory ${path}: another server${
        owner ? ` (pid ${owner})` : ""
      } is using it`,
    );
  }
  await lock.truncate(0);
  await lock.write(new TextEncoder().encode(`${Deno.pid}\n`));
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    try {
      lock.unlockSync();
    } finally {
      lock.close();
    }
  };
  return { path, release, [Symbol.dispose]: release };
}

/**
 * Creates `path` and its missing parents, flushing the directory that holds each new one, so that
 * a power cut right after cannot take the new directory (and the journal in it) away.
 */
async function makeDirDurably(path: string, why: (error: unknown) => string): Promise<void> {
  const parent = dirname(path);
  try {
    await Deno.mkdir(path);
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return;
    if (!(error instanceof Deno.errors.NotFound) || parent === path) {
      throw new DataDirError(`Cannot create data directory ${path}: ${why(error)}`, {
        cause: error,
      });
    }
    await makeDirDurably(parent, why);
    return await makeDirDurably(path, why);
  }
  try {
    await syncDir(parent);
  } catch (error) {
    throw new DataDirError(
      `Cannot create data directory ${path} durably: flushing ${parent} failed: ${
        denied(error) ? `no permission; run deno with --allow-read=${parent}` : String(error)
      }`,
      { cause: error },
    );
  }
}

/** Flushes a directory's entries (new, renamed or deleted files) to disk. */
export async function syncDir(path: string): Promise<void> {
  using dir = await Deno.open(path, { read: true });
  await dir.sync();
}

/** The file name of journal segment `n`. */
export function segmentName(n: number): string {
  return `journal-${String(n).padStart(12, "0")}.log`;
}

/** The file name of the snapshot taken at the start of segment `n`. */
export function snapshotName(n: number): string {
  return `snapshot-${String(n).padStart(12, "0")}.json`;
}

/** The segments and snapshots in a data directory, each sorted by number. */
export async function listDataFiles(
  path: string,
): Promise<{ segments: number[]; snapshots: number[] }> {
  const segments: number[] = [];
  const snapshots: number[] = [];
  for await (const entry of Deno.readDir(path)) {
    const segment = /^journal-(\d{12})\.log$/.exec(entry.name);
    const snapshot = /^snapshot-(\d{12})\.json$/.exec(entry.name);
    if (segment) segments.push(Number(segment[1]));
    if (snapshot) snapshots.push(Number(snapshot[1]));
  }
  return { segments: segments.sort((a, b) => a - b), snapshots: snapshots.sort((a, b) => a - b) };
}
