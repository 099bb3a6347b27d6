/**
 * The journal writer, on the server's main thread: takes records from the ring in order, appends
 * them to the current segment, flushes (group commit: one `fdatasync` for every record that
 * arrived meanwhile), and publishes how many are durable so the Workers can acknowledge. It keeps
 * its own copy of the counting state, updated from the records it writes, so a snapshot is exact
 * at a segment boundary. Every `snapshotEvery` records it starts a new segment, writes a snapshot
 * and deletes what the snapshots no longer need.
 *
 * @module
 */

import { type Logger } from "@logtape/logtape";
import { delay } from "../../base/delay.ts";
import { listDataFiles, segmentName, snapshotName, syncDir } from "./data_dir.ts";
import { encodeFlushMarker, KIND, RECORD_BYTES, RECORD_NAME_BYTES } from "./journal_record.ts";
import type { JournalRing } from "./journal_ring.ts";
import type { Recovered } from "./recovery.ts";
import { type ClientState, writeSnapshot } from "./snapshot.ts";
import { STORE_DEFAULTS } from "../store_defaults.ts";
import { describeError } from "../../base/describe_error.ts";

/** When an acknowledgement may be sent, relative to the journal. */
export const FSYNC_MODES = ["always", "interval", "never"] as const;
/**
 * `always`: an ACK waits for a flush that includes its record; the records that arrive while a
 * flush is in flight are flushed together by the next one (group commit, as Redis `appendfsync
 * always`). `interval`: acknowledged once written (to the page cache), flushed at least every
 * `fsyncIntervalMs` (as Redis `everysec`): a crash of the server loses nothing acknowledged, a crash
 * of the machine at most that window. `never`: acknowledged at once, written, never flushed
 * (benchmarks only).
 */
export type FsyncMode = typeof FSYNC_MODES[number];

/** `--fsync batch`, the mode's former name, means `always`. */
export const FSYNC_ALIASES: Readonly<Record<string, FsyncMode>> = { batch: "always" };

/** Options for {@linkcode JournalWriter.start}. */
export interface JournalWriterOptions {
  /** The data directory (locked by the caller). */
  readonly dir: string;
  /** @default {"always"} */
  readonly fsync?: FsyncMode;
  /** With `interval`: the longest time between flushes, in ms. @default {1000} */
  readonly fsyncIntervalMs?: number;
  /** Start a new segment and write a snapshot after this many records. @default {100000} */
  readonly snapshotEvery?: number;
  /** Where to report snapshots and failures. */
  readonly log: Logger;
  /** Called once if writing or flushing fails: nothing more can be acknowledged. */
  readonly onFatal?: (error: Error) => void;
  /** Told after each flush how long it took (ms) and how many records it made durable. */
  readonly onFlush?: (ms: number, records: number) => void;
}

/** One client in the writer's copy of the state, by table slot. */
interface Shadow extends ClientState {
  readonly name: string;
}

const MAX_BATCH = 4096;
/** With `--fsync never` no reply waits for the journal, so the writer gathers records this long. */
const NEVER_LINGER_MS = 5;
/** The longest the writer runs without giving the event loop a turn, in ms. */
const YIELD_EVERY_MS = 10;
/** How long a stopping writer waits for records that were reserved but not yet filled. */
const STOP_PATIENCE_MS = 2000;

/** Writes the journal; see the module documentation. */
export class JournalWriter {
  readonly #ring: JournalRing;
  readonly #dir: string;
  readonly #fsync: FsyncMode;
  readonly #fsyncIntervalMs: number;
  readonly #snapshotEvery: number;
  readonly #log: Logger;
  readonly #onFatal: (error: Error) => void;
  readonly #onFlush: ((ms: number, records: number) => void) | undefined;
  readonly #shadow: (Shadow | undefined)[];
  #total: number;
  #records: number;
  #segment: number;
  #file: Deno.FsFile;
  #inSegment = 0;
  #stopping = false;
  #stoppingSince = 0;
  #failed: Error | undefined;
  #done: Promise<void> = Promise.resolve();
  #flushes = 0;
  /** Flushes done in the current segment: the next batch's marker names the one after. */
  #flushesInSegment = 0;
  #written = 0;
  /** What the writer is doing, for the error message if it fails. */
  #doing = "starting";
  /** When the writer last let the event loop turn (see `#persist`). */
  #turnAt = performance.now();
  /** Records written since the last flush (`interval`), and when that flush was. */
  #unflushed = 0;
  #lastFlush = performance.now();

  private constructor(
    ring: JournalRing,
    options: JournalWriterOptions,
    shadow: (Shadow | undefined)[],
    recovered: Recovered,
    file: Deno.FsFile,
  ) {
    this.#ring = ring;
    this.#dir = options.dir;
    this.#fsync = options.fsync ?? "always";
    this.#fsyncIntervalMs = options.fsyncIntervalMs ?? STORE_DEFAULTS.fsyncIntervalMs;
    this.#snapshotEvery = options.snapshotEvery ?? STORE_DEFAULTS.snapshotEvery;
    this.#log = options.log;
    this.#onFatal = options.onFatal ?? (() => {});
    this.#onFlush = options.onFlush;
    this.#shadow = shadow;
    this.#total = recovered.total;
    this.#records = recovered.records;
    this.#segment = recovered.nextSegment;
    this.#file = file;
  }

  /**
   * Opens a new segment after the recovered ones, writes a snapshot of the recovered state (so
   * the next start replays nothing from before), prunes old files, and starts writing.
   *
   * @param slots Table slot of each recovered client, by name.
   */
  static async start(
    ring: JournalRing,
    recovered: Recovered,
    slots: ReadonlyMap<string, number>,
    options: JournalWriterOptions,
  ): Promise<JournalWriter> {
    const shadow: (Shadow | undefined)[] = [];
    for (const [name, state] of recovered.clients) {
      const slot = slots.get(name);
      if (slot !== undefined) shadow[slot] = { name, ...state };
    }
    const file = await JournalWriter.#openSegment(options.dir, recovered.nextSegment);
    const writer = new JournalWriter(ring, options, shadow, recovered, file);
    await writer.#snapshot();
    writer.#done = writer.#run();
    return writer;
  }

  static async #openSegment(dir: string, n: number): Promise<Deno.FsFile> {
    const file = await Deno.open(`${dir}/${segmentName(n)}`, {
      write: true,
      create: true,
      append: true,
    });
    await syncDir(dir);
    return file;
  }

  /** The fsync mode. */
  get fsync(): FsyncMode {
    return this.#fsync;
  }

  /** Records written and flushes done since start, and the current segment. */
  stats(): { records: number; flushes: number; segment: number } {
    return { records: this.#written, flushes: this.#flushes, segment: this.#segment };
  }

  /**
   * Writes what is left in the ring, flushes it, takes a final snapshot (so the next start is
   * instant) and closes. Call it after the Workers stopped appending.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#stoppingSince = Date.now();
    await this.#done;
    try {
      if (!this.#failed) await this.#rotate();
    } finally {
      this.#file.close();
    }
  }

  async #run(): Promise<void> {
    try {
      while (true) {
        if (this.#fsync === "never") await delay(NEVER_LINGER_MS); // nothing waits: batch more
        else await this.#ring.waitForRecords(this.#stopping ? 5 : this.#idleWaitMs());
        const batch = this.#ring.take(MAX_BATCH, 1); // room for the flush marker
        if (this.#fsync === "interval") await this.#flushIfDue(batch.count);
        if (batch.count === 0) {
          if (this.#stopping && this.#ring.appended() <= batch.first) return;
          if (this.#stopping && Date.now() - this.#stoppingSince > STOP_PATIENCE_MS) {
            // A Worker reserved records and was terminated before it filled them.
            this.#log.warn(
              `${
                this.#ring.appended() - batch.first
              } reserved journal record(s) never arrived; stopping without them`,
            );
            return;
          }
          continue;
        }
        this.#applyToShadow(batch.bytes, batch.count);
        await this.#persist(batch.first, batch.count, batch.bytes);
        this.#records += batch.count;
        this.#written += batch.count;
        this.#inSegment += batch.count;
        if (this.#inSegment >= this.#snapshotEvery) await this.#rotate();
      }
    } catch (error) {
      // Fail-stop: a write or flush that failed may have lost what it covered, and retrying a
      // failed flush proves nothing (Linux may have dropped the pages). Nothing more is
      // acknowledged; the replies that wait are told, and the owner stops the server.
      this.#ring.fail();
      const cause = describeError(error, "message");
      this.#failed = new Error(
        `the journal failed, nothing more can be acknowledged: ${this.#doing}: ${cause}`,
        { cause: error },
      );
      this.#log.error(this.#failed.message);
      this.#onFatal(this.#failed);
    }
  }

  async #persist(first: number, count: number, bytes: Uint8Array): Promise<void> {
    this.#doing = `writing ${segmentName(this.#segment)}`;
    // The batch ends with a marker naming the flush that covers it (see journal_record.ts).
    const marker = { flush: this.#flushesInSegment + 1, records: count };
    const at = count * RECORD_BYTES;
    encodeFlushMarker(bytes, new DataView(bytes.buffer), at, marker, Date.now());
    this.#write(bytes);
    this.#doing = `flushing ${segmentName(this.#segment)}`;
    if (this.#fsync === "always") {
      // Mostly synchronously, on this thread: it has nothing else to do meanwhile (new records
      // gather in the ring), and that saves the hop to Deno's blocking pool and back, about
      // 40 µs a flush here (BENCHMARKS.md). But under steady load the loop would then pass only
      // through microtasks, so at least every YIELD_EVERY_MS one flush goes the asynchronous way,
      // which lets timers, signals and Worker messages run meanwhile.
      const flushStart = performance.now();
      if (flushStart - this.#turnAt < YIELD_EVERY_MS) {
        this.#file.syncDataSync();
      } else {
        await this.#file.syncData();
        this.#turnAt = performance.now();
      }
      this.#flushes++;
      this.#flushesInSegment++;
      this.#onFlush?.(performance.now() - flushStart, count);
      this.#ring.publishDurable(first + count);
    } else {
      if (this.#fsync === "interval") this.#unflushed += count;
      this.#ring.publishDurable(first + count);
      // `interval`: written and acknowledged now, so a turn of the event loop delays no ACK
      // (`never` gets its turns from its linger).
      if (this.#fsync === "interval" && performance.now() - this.#turnAt >= YIELD_EVERY_MS) {
        await delay(0);
        this.#turnAt = performance.now();
      }
    }
  }

  /** How long to wait for records: with `interval`, no longer than the next flush is due. */
  #idleWaitMs(): number {
    if (this.#fsync !== "interval" || this.#unflushed === 0) return 50;
    const due = this.#fsyncIntervalMs - (performance.now() - this.#lastFlush);
    return Math.max(1, Math.min(50, Math.ceil(due)));
  }

  /** `interval`: flushes what was written once the interval is up (before writing `coming`). */
  async #flushIfDue(coming: number): Promise<void> {
    const now = performance.now();
    if (this.#unflushed === 0) {
      if (coming === 0) this.#lastFlush = now; // idle: the window starts with the next record
      return;
    }
    if (now - this.#lastFlush < this.#fsyncIntervalMs) return;
    this.#doing = `flushing ${segmentName(this.#segment)}`;
    await this.#file.syncData();
    this.#flushes++;
    this.#flushesInSegment++;
    this.#lastFlush = performance.now();
    this.#onFlush?.(this.#lastFlush - now, this.#unflushed);
    this.#unflushed = 0;
  }

  /**
   * Appends to the page cache synchronously: a few microseconds, cheaper than a hop to Deno's
   * blocking thread pool and back (the flush, which can take a millisecond, stays asynchronous).
   */
  #write(bytes: Uint8Array): void {
    for (let written = 0; written < bytes.length;) {
      written += this.#file.writeSync(bytes.subarray(written));
    }
  }

  #applyToShadow(bytes: Uint8Array, count: number): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < count; i++) {
      const at = i * RECORD_BYTES;
      const slot = view.getUint32(at + 12, true);
      const likes = view.getUint32(at + 8, true);
      const kind = view.getUint8(at + 4);
      if (kind === KIND.expire) {
        // The client's slot is free again; its likes stay in the total.
        this.#shadow[slot] = undefined;
        continue;
      }
      const time = view.getFloat64(at + 88, true);
      let client = this.#shadow[slot];
      if (!client) {
        const length = Math.min(view.getUint8(at + 5), RECORD_NAME_BYTES);
        const name = String.fromCharCode(...bytes.subarray(at + 24, at + 24 + length));
        client = { name, count: 0, lastSeq: 0, lastLikes: 0, lastSeen: time };
        this.#shadow[slot] = client;
      }
      if (kind === KIND.keyed) {
        client.lastSeq = view.getFloat64(at + 16, true);
        client.lastLikes = likes;
      }
      client.count += likes;
      if (time > client.lastSeen) client.lastSeen = time;
      this.#total += likes;
    }
  }

  /** Starts the next segment and snapshots the state at its start; prunes old files. */
  async #rotate(): Promise<void> {
    // The segment is flushed before the next one exists (in every mode), so that only the
    // newest segment can ever end in an unflushed tail: damage in an older one is corruption.
    this.#doing = `flushing ${segmentName(this.#segment)} before the next segment`;
    await this.#file.syncData();
    this.#unflushed = 0;
    this.#lastFlush = performance.now();
    const next = this.#segment + 1;
    this.#doing = `creating ${segmentName(next)}`;
    const file = await JournalWriter.#openSegment(this.#dir, next);
    this.#file.close();
    this.#file = file;
    this.#segment = next;
    this.#inSegment = 0;
    this.#flushesInSegment = 0;
    await this.#snapshot();
  }

  async #snapshot(): Promise<void> {
    const clients = new Map<string, ClientState>();
    for (const client of this.#shadow) {
      if (client) {
        clients.set(client.name, {
          count: client.count,
          lastSeq: client.lastSeq,
          lastLikes: client.lastLikes,
          lastSeen: client.lastSeen,
        });
      }
    }
    this.#doing = `writing ${snapshotName(this.#segment)} (the older snapshots stay)`;
    const name = await writeSnapshot(this.#dir, {
      segment: this.#segment,
      total: this.#total,
      records: this.#records,
      clients,
    });
    await this.#prune();
    this.#log.debug(
      `snapshot ${name}: ${clients.size} client(s), total ${this.#total}, ${this.#records} record(s) so far`,
    );
  }

  /** Keeps the two newest snapshots and the segments from the older of them on. */
  async #prune(): Promise<void> {
    this.#doing = "removing old snapshots and segments";
    const { segments, snapshots } = await listDataFiles(this.#dir);
    const kept = snapshots.slice(-2);
    const oldest = kept[0] ?? 0;
    for (const n of snapshots) {
      if (!kept.includes(n)) await Deno.remove(`${this.#dir}/${snapshotName(n)}`);
    }
    for (const n of segments) {
      if (n < oldest) await Deno.remove(`${this.#dir}/${segmentName(n)}`);
    }
  }
}
