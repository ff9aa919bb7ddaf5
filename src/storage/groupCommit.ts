/**
 * Group commit for small durable writes (the mempool journal, docs/operations.md "Durability"):
 * one batch is written at a time; writes that arrive while it is on its way wait and go together
 * in the next batch, which is fsynced once for all of them when any of them asked for it. So a
 * burst of N acknowledged transfers costs about one fsync per disk round trip, not N, and each
 * caller's promise settles only once its own operations are written (and synced, if asked).
 * Operations keep their arrival order inside and across batches.
 */

/** One queued write. */
interface Pending<Op> {
  ops: readonly Op[];
  sync: boolean;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** Serializes and merges batch writes. */
export class GroupCommit<Op> {
  private queue: Pending<Op>[] = [];
  private running = false;
  private draining: Promise<void> = Promise.resolve();
  /** batches written so far (for metrics and tests) */
  batches = 0;

  /** @param writeBatch writes `ops` as one atomic batch, fsynced when `sync` */
  constructor(private readonly writeBatch: (ops: Op[], sync: boolean) => Promise<void>) {}

  /**
   * Queues `ops`; resolves once they are written (and on disk when `sync`).
   * @throws the batch's error, for every write merged into it
   */
  write(ops: readonly Op[], sync: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ ops, sync, resolve, reject });
      if (!this.running) this.draining = this.drain();
    });
  }

  /** Resolves when every queued write has settled. */
  idle(): Promise<void> {
    return this.draining;
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const group = this.queue;
        this.queue = [];
        try {
          await this.writeBatch(
            group.flatMap((p) => p.ops),
            group.some((p) => p.sync),
          );
          this.batches++;
          for (const p of group) p.resolve();
        } catch (e) {
          for (const p of group) p.reject(e);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
