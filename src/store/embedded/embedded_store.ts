/**
 * The embedded store as one thread sees it: the shared likes table (attached to the buffer the
 * server created), and, when acknowledgements wait for the journal, a {@linkcode DurableWaiter}
 * that redeems receipts (journal indexes) once the journal writer has flushed them.
 *
 * @module
 */

import type { LikesStore, Receipt } from "../likes_store.ts";
import { DurableWaiter } from "./durability.ts";
import type { JournalRing } from "./journal_ring.ts";
import type { LikesTable } from "./likes_table.ts";

/** {@linkcode LikesStore} over a shared table and its journal. */
export class EmbeddedStore implements LikesStore {
  /** The shared table (it also hosts the server's counters). */
  readonly table: LikesTable;
  readonly #waiter: DurableWaiter | null;

  /**
   * Wraps `table`. With `waitFor`, a receipt is settled once the journal says its record is
   * durable; without it (no journal, or `--fsync never`) every receipt is settled at once.
   */
  constructor(table: LikesTable, waitFor: JournalRing | null = null) {
    this.table = table;
    this.#waiter = waitFor ? new DurableWaiter(waitFor) : null;
  }

  /** {@inheritDoc LikesStore.applyClassic} */
  applyClassic(name: string, likes: number): ReturnType<LikesStore["applyClassic"]> {
    return this.table.applyClassic(name, likes);
  }

  /** {@inheritDoc LikesStore.applyKeyed} */
  applyKeyed(name: string, seq: number, likes: number): ReturnType<LikesStore["applyKeyed"]> {
    return this.table.applyKeyed(name, seq, likes);
  }

  /** {@inheritDoc LikesStore.settled} */
  settled(receipt: Receipt): Promise<void> | undefined {
    return this.#waiter?.until(receipt);
  }

  /** {@inheritDoc LikesStore.total} */
  total(): number {
    return this.table.total();
  }

  /** {@inheritDoc LikesStore.countsOf} */
  countsOf(names: readonly string[]): Record<string, number> {
    return this.table.countsOf(names);
  }

  /** {@inheritDoc LikesStore.topClients} */
  topClients(limit: number): Record<string, number> {
    return this.table.topClients(limit);
  }

  /** {@inheritDoc LikesStore.clientCount} */
  clientCount(): number {
    return this.table.clientCount();
  }

  /** {@inheritDoc LikesStore.maxClients} */
  get maxClients(): number {
    return this.table.maxClients;
  }
}
