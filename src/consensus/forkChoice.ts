/**
 * Fork choice (docs/protocol.md §7, consensus): greatest total weight, then the lower height, then
 * the lower tip block_hash. Never first-seen, so every node converges whatever the arrival order.
 */
import { workOf } from "./hashing.ts";

/** A candidate tip: its cumulative weight from genesis, height and block_hash. */
export interface ForkChoiceTip {
  totalWeight: bigint;
  height: number;
  hash: string;
}

/** Consensus kinds of a chain spec. */
export type ConsensusKind = "proof-of-sync" | "pow";

/**
 * Weight of one block: slot 0 = 2, a backup slot or a PoW fallback = 1; on `pow` chains, its work
 * (16^difficulty). Genesis weighs 0.
 */
export function blockWeight(slot: number | null, difficulty: number, height: number, consensus: ConsensusKind): bigint {
  if (height === 0) return 0n;
  if (consensus === "pow") return workOf(difficulty);
  return slot === 0 ? 2n : 1n;
}

/** Negative when `a` is the better tip, positive when `b` is, 0 when they are the same block. */
export function compareTips(a: ForkChoiceTip, b: ForkChoiceTip): number {
  if (a.totalWeight !== b.totalWeight) return a.totalWeight > b.totalWeight ? -1 : 1;
  if (a.height !== b.height) return a.height < b.height ? -1 : 1;
  if (a.hash === b.hash) return 0;
  return a.hash < b.hash ? -1 : 1;
}
