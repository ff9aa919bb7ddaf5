/**
 * Claim receipts (the Proof-of-Sync mining spec's `ClaimReceipt`, docs/protocol.md §6.2): recorded
 * before producing, with the outcome added after; the last 100 kept.
 */

/** The mining spec's receipt, exactly its fields. */
export interface ClaimReceipt {
  winner_id: string;
  tip_hash: string;
  /** ms since the epoch */
  claimed_at: number;
  slot_idx: number;
}

/** What became of a claim. */
export type ClaimOutcome = "produced" | "failed";

/** A receipt with its outcome, for /api/mining/claims. */
export interface ClaimRecord extends ClaimReceipt {
  height: number;
  outcome: ClaimOutcome | null;
  block_hash: string | null;
  error: string | null;
}

/** Keeps the most recent receipts by height. */
export class ClaimReceipts {
  private readonly byHeight = new Map<number, ClaimRecord>();
  private changes = 0;

  /** Changes on every `record` and `settle`: readers cache what they derive from the claims by it. */
  get version(): number {
    return this.changes;
  }

  constructor(private readonly keep = 100) {}

  /** Records a claim before producing `height`. */
  record(height: number, receipt: ClaimReceipt): void {
    this.changes++;
    this.byHeight.delete(height);
    this.byHeight.set(height, { height, ...receipt, outcome: null, block_hash: null, error: null });
    while (this.byHeight.size > this.keep) this.byHeight.delete(this.byHeight.keys().next().value as number);
  }

  /** Adds the outcome to the claim for `height`. */
  settle(height: number, outcome: ClaimOutcome, detail: { block_hash?: string; error?: string } = {}): void {
    const r = this.byHeight.get(height);
    if (!r) return;
    this.changes++;
    r.outcome = outcome;
    r.block_hash = detail.block_hash ?? null;
    r.error = detail.error ?? null;
  }

  /** The last `n` claims, newest first, in the mining spec's `[[height, receipt], ...]` form. */
  recent(n = 10): [number, ClaimReceipt][] {
    return this.records(n).map((r) => [r.height, { winner_id: r.winner_id, tip_hash: r.tip_hash, claimed_at: r.claimed_at, slot_idx: r.slot_idx }]);
  }

  /** The last `n` claims with outcomes, newest first. */
  records(n = 100): ClaimRecord[] {
    return [...this.byHeight.values()].sort((a, b) => b.height - a.height).slice(0, n);
  }
}
